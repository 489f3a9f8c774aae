import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marque.common.v1 import common_pb2 as _common_pb2
from marque.finance.v1 import finance_pb2 as _finance_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreditReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDIT_REASON_UNSPECIFIED: _ClassVar[CreditReason]
    CREDIT_REASON_PRICE_ADJUSTMENT: _ClassVar[CreditReason]
    CREDIT_REASON_SALE_CANCELLED: _ClassVar[CreditReason]
    CREDIT_REASON_GOODS_RETURNED: _ClassVar[CreditReason]
    CREDIT_REASON_WRONG_DETAILS: _ClassVar[CreditReason]
CREDIT_REASON_UNSPECIFIED: CreditReason
CREDIT_REASON_PRICE_ADJUSTMENT: CreditReason
CREDIT_REASON_SALE_CANCELLED: CreditReason
CREDIT_REASON_GOODS_RETURNED: CreditReason
CREDIT_REASON_WRONG_DETAILS: CreditReason

class PaymentReceived(_message.Message):
    __slots__ = ("occurred_at", "receipt_id", "store_id", "customer_id", "reference_type", "reference", "method", "amount", "received_on", "total_received_for_reference")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_ON_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RECEIVED_FOR_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    receipt_id: str
    store_id: str
    customer_id: str
    reference_type: _finance_pb2.ReceiptReference
    reference: str
    method: _finance_pb2.PaymentMethod
    amount: _common_pb2.Money
    received_on: str
    total_received_for_reference: _common_pb2.Money
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receipt_id: _Optional[str] = ..., store_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., reference_type: _Optional[_Union[_finance_pb2.ReceiptReference, str]] = ..., reference: _Optional[str] = ..., method: _Optional[_Union[_finance_pb2.PaymentMethod, str]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., received_on: _Optional[str] = ..., total_received_for_reference: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class PaymentRefunded(_message.Message):
    __slots__ = ("occurred_at", "refund_id", "receipt_id", "store_id", "customer_id", "reference_type", "reference", "amount", "reason", "refunded_on", "total_received_for_reference")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_ON_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RECEIVED_FOR_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    refund_id: str
    receipt_id: str
    store_id: str
    customer_id: str
    reference_type: _finance_pb2.ReceiptReference
    reference: str
    amount: _common_pb2.Money
    reason: str
    refunded_on: str
    total_received_for_reference: _common_pb2.Money
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., refund_id: _Optional[str] = ..., receipt_id: _Optional[str] = ..., store_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., reference_type: _Optional[_Union[_finance_pb2.ReceiptReference, str]] = ..., reference: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reason: _Optional[str] = ..., refunded_on: _Optional[str] = ..., total_received_for_reference: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class InvoiceIssued(_message.Message):
    __slots__ = ("occurred_at", "invoice_id", "store_id", "customer_id", "reference_type", "reference", "total", "vat", "issued_on", "due_on")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    VAT_FIELD_NUMBER: _ClassVar[int]
    ISSUED_ON_FIELD_NUMBER: _ClassVar[int]
    DUE_ON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    invoice_id: str
    store_id: str
    customer_id: str
    reference_type: _finance_pb2.ReceiptReference
    reference: str
    total: _common_pb2.Money
    vat: _common_pb2.Money
    issued_on: str
    due_on: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., invoice_id: _Optional[str] = ..., store_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., reference_type: _Optional[_Union[_finance_pb2.ReceiptReference, str]] = ..., reference: _Optional[str] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., vat: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., issued_on: _Optional[str] = ..., due_on: _Optional[str] = ...) -> None: ...

class InvoiceCredited(_message.Message):
    __slots__ = ("occurred_at", "credit_note_id", "invoice_id", "store_id", "customer_id", "reference_type", "reference", "total", "vat", "reason", "credited_on", "released_to_advances", "outstanding", "total_credited")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_NOTE_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    VAT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREDITED_ON_FIELD_NUMBER: _ClassVar[int]
    RELEASED_TO_ADVANCES_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CREDITED_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    credit_note_id: str
    invoice_id: str
    store_id: str
    customer_id: str
    reference_type: _finance_pb2.ReceiptReference
    reference: str
    total: _common_pb2.Money
    vat: _common_pb2.Money
    reason: CreditReason
    credited_on: str
    released_to_advances: _common_pb2.Money
    outstanding: _common_pb2.Money
    total_credited: _common_pb2.Money
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credit_note_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., store_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., reference_type: _Optional[_Union[_finance_pb2.ReceiptReference, str]] = ..., reference: _Optional[str] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., vat: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reason: _Optional[_Union[CreditReason, str]] = ..., credited_on: _Optional[str] = ..., released_to_advances: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., outstanding: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., total_credited: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class PaymentMade(_message.Message):
    __slots__ = ("occurred_at", "payment_id", "payable_id", "store_id", "supplier", "amount", "outstanding", "paid_on")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYABLE_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    SUPPLIER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    PAID_ON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    payment_id: str
    payable_id: str
    store_id: str
    supplier: str
    amount: _common_pb2.Money
    outstanding: _common_pb2.Money
    paid_on: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payment_id: _Optional[str] = ..., payable_id: _Optional[str] = ..., store_id: _Optional[str] = ..., supplier: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., outstanding: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., paid_on: _Optional[str] = ...) -> None: ...

class JournalEntryPosted(_message.Message):
    __slots__ = ("occurred_at", "entry_id", "store_id", "period", "entry_date", "source_type", "source_id", "total", "reverses_entry_id")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ENTRY_DATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    REVERSES_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    entry_id: str
    store_id: str
    period: str
    entry_date: str
    source_type: str
    source_id: str
    total: _common_pb2.Money
    reverses_entry_id: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., entry_id: _Optional[str] = ..., store_id: _Optional[str] = ..., period: _Optional[str] = ..., entry_date: _Optional[str] = ..., source_type: _Optional[str] = ..., source_id: _Optional[str] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reverses_entry_id: _Optional[str] = ...) -> None: ...

class PeriodClosed(_message.Message):
    __slots__ = ("occurred_at", "store_id", "period", "actor")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    store_id: str
    period: str
    actor: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_id: _Optional[str] = ..., period: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class PeriodReopened(_message.Message):
    __slots__ = ("occurred_at", "store_id", "period", "actor", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    store_id: str
    period: str
    actor: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store_id: _Optional[str] = ..., period: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ExpenseClaimSnapshot(_message.Message):
    __slots__ = ("claim_id", "store_id", "claimant", "category", "amount", "status", "pending_steps", "version")
    CLAIM_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CLAIMANT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PENDING_STEPS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    claim_id: str
    store_id: str
    claimant: str
    category: str
    amount: _common_pb2.Money
    status: str
    pending_steps: _containers.RepeatedScalarFieldContainer[str]
    version: int
    def __init__(self, claim_id: _Optional[str] = ..., store_id: _Optional[str] = ..., claimant: _Optional[str] = ..., category: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., status: _Optional[str] = ..., pending_steps: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ...) -> None: ...

class ExpenseClaimSubmitted(_message.Message):
    __slots__ = ("occurred_at", "claim")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    claim: ExpenseClaimSnapshot
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., claim: _Optional[_Union[ExpenseClaimSnapshot, _Mapping]] = ...) -> None: ...

class ExpenseClaimApproved(_message.Message):
    __slots__ = ("occurred_at", "claim", "actor", "step")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    claim: ExpenseClaimSnapshot
    actor: str
    step: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., claim: _Optional[_Union[ExpenseClaimSnapshot, _Mapping]] = ..., actor: _Optional[str] = ..., step: _Optional[str] = ...) -> None: ...

class ExpenseClaimRejected(_message.Message):
    __slots__ = ("occurred_at", "claim", "actor", "reason")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    claim: ExpenseClaimSnapshot
    actor: str
    reason: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., claim: _Optional[_Union[ExpenseClaimSnapshot, _Mapping]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ExpenseClaimPaid(_message.Message):
    __slots__ = ("occurred_at", "claim", "actor", "paid_on")
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    PAID_ON_FIELD_NUMBER: _ClassVar[int]
    occurred_at: _timestamp_pb2.Timestamp
    claim: ExpenseClaimSnapshot
    actor: str
    paid_on: str
    def __init__(self, occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., claim: _Optional[_Union[ExpenseClaimSnapshot, _Mapping]] = ..., actor: _Optional[str] = ..., paid_on: _Optional[str] = ...) -> None: ...
