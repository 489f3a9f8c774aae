from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class BusinessLine(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUSINESS_LINE_UNSPECIFIED: _ClassVar[BusinessLine]
    BUSINESS_LINE_NEW_VEHICLES: _ClassVar[BusinessLine]
    BUSINESS_LINE_USED_VEHICLES: _ClassVar[BusinessLine]
    BUSINESS_LINE_PARTS: _ClassVar[BusinessLine]
    BUSINESS_LINE_SERVICE_LABOR: _ClassVar[BusinessLine]
    BUSINESS_LINE_ACCESSORIES: _ClassVar[BusinessLine]
    BUSINESS_LINE_INSURANCE_COMMISSION: _ClassVar[BusinessLine]
    BUSINESS_LINE_LOAN_COMMISSION: _ClassVar[BusinessLine]

class PaymentMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_METHOD_UNSPECIFIED: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_CASH: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_BANK_TRANSFER: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_POS_CARD: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_WECHAT_PAY: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_ALIPAY: _ClassVar[PaymentMethod]
    PAYMENT_METHOD_LOAN_DISBURSEMENT: _ClassVar[PaymentMethod]

class ReceiptReference(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECEIPT_REFERENCE_UNSPECIFIED: _ClassVar[ReceiptReference]
    RECEIPT_REFERENCE_SALES_ORDER: _ClassVar[ReceiptReference]
    RECEIPT_REFERENCE_REPAIR_ORDER: _ClassVar[ReceiptReference]
    RECEIPT_REFERENCE_DEPOSIT: _ClassVar[ReceiptReference]
BUSINESS_LINE_UNSPECIFIED: BusinessLine
BUSINESS_LINE_NEW_VEHICLES: BusinessLine
BUSINESS_LINE_USED_VEHICLES: BusinessLine
BUSINESS_LINE_PARTS: BusinessLine
BUSINESS_LINE_SERVICE_LABOR: BusinessLine
BUSINESS_LINE_ACCESSORIES: BusinessLine
BUSINESS_LINE_INSURANCE_COMMISSION: BusinessLine
BUSINESS_LINE_LOAN_COMMISSION: BusinessLine
PAYMENT_METHOD_UNSPECIFIED: PaymentMethod
PAYMENT_METHOD_CASH: PaymentMethod
PAYMENT_METHOD_BANK_TRANSFER: PaymentMethod
PAYMENT_METHOD_POS_CARD: PaymentMethod
PAYMENT_METHOD_WECHAT_PAY: PaymentMethod
PAYMENT_METHOD_ALIPAY: PaymentMethod
PAYMENT_METHOD_LOAN_DISBURSEMENT: PaymentMethod
RECEIPT_REFERENCE_UNSPECIFIED: ReceiptReference
RECEIPT_REFERENCE_SALES_ORDER: ReceiptReference
RECEIPT_REFERENCE_REPAIR_ORDER: ReceiptReference
RECEIPT_REFERENCE_DEPOSIT: ReceiptReference
