from marque.common.v1 import common_pb2 as _common_pb2
from marque.finance.v1 import finance_pb2 as _finance_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetBalanceRequest(_message.Message):
    __slots__ = ("store_id", "account_code", "period")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_CODE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    account_code: str
    period: str
    def __init__(self, store_id: _Optional[str] = ..., account_code: _Optional[str] = ..., period: _Optional[str] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("store_id", "account_code", "account_name", "debit_balance")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_CODE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_NAME_FIELD_NUMBER: _ClassVar[int]
    DEBIT_BALANCE_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    account_code: str
    account_name: str
    debit_balance: _common_pb2.Money
    def __init__(self, store_id: _Optional[str] = ..., account_code: _Optional[str] = ..., account_name: _Optional[str] = ..., debit_balance: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class GetInvoiceRequest(_message.Message):
    __slots__ = ("invoice_id",)
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    def __init__(self, invoice_id: _Optional[str] = ...) -> None: ...

class InvoiceLine(_message.Message):
    __slots__ = ("description", "business_line", "model_code", "amount", "net", "vat")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_LINE_FIELD_NUMBER: _ClassVar[int]
    MODEL_CODE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    NET_FIELD_NUMBER: _ClassVar[int]
    VAT_FIELD_NUMBER: _ClassVar[int]
    description: str
    business_line: _finance_pb2.BusinessLine
    model_code: str
    amount: _common_pb2.Money
    net: _common_pb2.Money
    vat: _common_pb2.Money
    def __init__(self, description: _Optional[str] = ..., business_line: _Optional[_Union[_finance_pb2.BusinessLine, str]] = ..., model_code: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., net: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., vat: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class Invoice(_message.Message):
    __slots__ = ("invoice_id", "store_id", "customer_id", "customer_name", "reference_type", "reference", "lines", "total", "vat", "paid", "outstanding", "issued_on", "due_on", "status", "credited")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_NAME_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    VAT_FIELD_NUMBER: _ClassVar[int]
    PAID_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    ISSUED_ON_FIELD_NUMBER: _ClassVar[int]
    DUE_ON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREDITED_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    store_id: str
    customer_id: str
    customer_name: str
    reference_type: _finance_pb2.ReceiptReference
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[InvoiceLine]
    total: _common_pb2.Money
    vat: _common_pb2.Money
    paid: _common_pb2.Money
    outstanding: _common_pb2.Money
    issued_on: str
    due_on: str
    status: str
    credited: _common_pb2.Money
    def __init__(self, invoice_id: _Optional[str] = ..., store_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., customer_name: _Optional[str] = ..., reference_type: _Optional[_Union[_finance_pb2.ReceiptReference, str]] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[InvoiceLine, _Mapping]]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., vat: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., paid: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., outstanding: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., issued_on: _Optional[str] = ..., due_on: _Optional[str] = ..., status: _Optional[str] = ..., credited: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class GetInvoiceResponse(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class RecordReceiptRequest(_message.Message):
    __slots__ = ("request_id", "store_id", "customer_id", "reference_type", "reference", "method", "amount", "received_on", "payer_name", "bank_reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_ON_FIELD_NUMBER: _ClassVar[int]
    PAYER_NAME_FIELD_NUMBER: _ClassVar[int]
    BANK_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    store_id: str
    customer_id: str
    reference_type: _finance_pb2.ReceiptReference
    reference: str
    method: _finance_pb2.PaymentMethod
    amount: _common_pb2.Money
    received_on: str
    payer_name: str
    bank_reference: str
    def __init__(self, request_id: _Optional[str] = ..., store_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., reference_type: _Optional[_Union[_finance_pb2.ReceiptReference, str]] = ..., reference: _Optional[str] = ..., method: _Optional[_Union[_finance_pb2.PaymentMethod, str]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., received_on: _Optional[str] = ..., payer_name: _Optional[str] = ..., bank_reference: _Optional[str] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("receipt_id", "store_id", "customer_id", "reference_type", "reference", "method", "amount", "refunded", "received_on", "bank_reference")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_ON_FIELD_NUMBER: _ClassVar[int]
    BANK_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    store_id: str
    customer_id: str
    reference_type: _finance_pb2.ReceiptReference
    reference: str
    method: _finance_pb2.PaymentMethod
    amount: _common_pb2.Money
    refunded: _common_pb2.Money
    received_on: str
    bank_reference: str
    def __init__(self, receipt_id: _Optional[str] = ..., store_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., reference_type: _Optional[_Union[_finance_pb2.ReceiptReference, str]] = ..., reference: _Optional[str] = ..., method: _Optional[_Union[_finance_pb2.PaymentMethod, str]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., refunded: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., received_on: _Optional[str] = ..., bank_reference: _Optional[str] = ...) -> None: ...

class RecordReceiptResponse(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: Receipt
    def __init__(self, receipt: _Optional[_Union[Receipt, _Mapping]] = ...) -> None: ...
