"""gRPC FinanceService: proto <-> domain mapping lives only here; the kit maps domain errors to
status codes (NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION, ...) in its interceptor."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from marque.common.v1 import common_pb2
from marque.finance.v1 import finance_pb2 as fpb
from marque.finance.v1 import finance_service_pb2 as svc_pb
from marque.finance.v1 import finance_service_pb2_grpc
from marque_finance import books
from marque_finance import receivables_service as svc
from marque_finance.domain.ledger import parse_period
from marque_finance.events import CURRENCY, money
from marque_finance.models import Account, AccountTemplate
from marque_finance.unit_of_work import Finance
from marque_kit.auth import ALL_STORES
from marque_kit.errors import Forbidden, InvalidInput, NotFound
from marque_kit.http.fields import EARLIEST_DAY, LATEST_DAY
from marque_kit.rpc import current_principal

BALANCE_READ = "finance.accounts:read"


def _required(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(f"{field} is required.", errors=[{"field": field, "rule": "required"}])
    return value.strip()


def _enum_name(enum: Any, value: int, prefix: str, field: str) -> str:
    """`PAYMENT_METHOD_WECHAT_PAY` -> `wechat_pay` (UNSPECIFIED reads as "unspecified", which
    the domain refuses). Proto3 enums are open: a number this build has no name for (a newer
    caller's value, a bug) is refused here, naming the field and the values it knows."""
    if value not in enum.values():
        known = ", ".join(name for name in enum.keys() if not name.endswith("_UNSPECIFIED"))  # noqa: SIM118
        raise InvalidInput(
            f"{field} {value} is not a {enum.DESCRIPTOR.name} this service knows; "
            f"use one of: {known}.",
            errors=[{"field": field, "rule": "one_of", "allowed": known}],
        )
    return str(enum.Name(value)).removeprefix(prefix).lower()


def _method(value: int) -> str:
    return _enum_name(fpb.PaymentMethod, value, "PAYMENT_METHOD_", "method")


def _reference_type(value: int) -> str:
    return _enum_name(fpb.ReceiptReference, value, "RECEIPT_REFERENCE_", "reference_type")


def _amount(message: common_pb2.Money) -> int:
    if message.currency_code not in ("", CURRENCY):
        raise InvalidInput(
            f"amount is in {message.currency_code}; receipts are taken in {CURRENCY} only.",
            errors=[{"field": "amount.currency_code", "rule": "currency"}],
        )
    return int(message.amount_fen)


def _date(value: str, field: str) -> date | None:
    """A business date written YYYY-MM-DD, within the days the HTTP API takes (1900..2999):
    Python and PostgreSQL hold 0001-01-01 and 9999-12-31, but the books' periods, due dates
    and reports cannot compute with them."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{field} {value!r} is not a date written YYYY-MM-DD.",
            errors=[{"field": field, "rule": "format"}],
        ) from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidInput(
            f"{field} must be a day between {EARLIEST_DAY.isoformat()} and "
            f"{LATEST_DAY.isoformat()}; got {day.isoformat()}.",
            errors=[{"field": field, "rule": "date_out_of_range"}],
        )
    return day


def _invoice(doc: svc.InvoiceDoc) -> svc_pb.Invoice:
    i = doc.invoice
    return svc_pb.Invoice(
        invoice_id=i.id,
        store_id=i.store_id,
        customer_id=i.customer_id,
        customer_name=i.customer_name,
        reference_type=svc.reference_enum(i.reference_type),
        reference=i.reference,
        lines=[
            svc_pb.InvoiceLine(
                description=line.description,
                business_line="BUSINESS_LINE_" + line.business_line.upper(),
                model_code=line.model_code,
                amount=money(line.gross_fen),
                net=money(line.net_fen),
                vat=money(line.vat_fen),
            )
            for line in doc.lines
        ],
        total=money(i.total_fen),
        vat=money(i.vat_fen),
        paid=money(i.paid_fen),
        credited=money(i.credited_fen),
        outstanding=money(svc.outstanding(i)),
        issued_on=i.issued_on.isoformat(),
        due_on=i.due_on.isoformat(),
        status=i.status,
    )


def _receipt(doc: svc.ReceiptDoc) -> svc_pb.Receipt:
    r = doc.receipt
    return svc_pb.Receipt(
        receipt_id=r.id,
        store_id=r.store_id,
        customer_id=r.customer_id,
        reference_type=svc.reference_enum(r.reference_type),
        reference=r.reference,
        method=svc.method_enum(r.method),
        amount=money(r.amount_fen),
        refunded=money(r.refunded_fen),
        received_on=r.received_on.isoformat(),
        bank_reference=r.bank_reference,
    )


class FinanceRpc(finance_service_pb2_grpc.FinanceServiceServicer):
    def __init__(self, finance: Finance) -> None:
        self.finance = finance

    async def GetBalance(
        self, request: svc_pb.GetBalanceRequest, context: Any
    ) -> svc_pb.GetBalanceResponse:
        principal = current_principal()
        principal.require(BALANCE_READ)
        store = _required(request.store_id, "store_id")
        code = _required(request.account_code, "account_code")
        period = parse_period(request.period.strip()) if request.period.strip() else None
        if store == ALL_STORES:
            if not principal.is_hq:
                raise Forbidden(
                    'Only HQ may read the group\'s balance (store_id "*"); name one of your stores.'
                )
            stores: tuple[str, ...] | None = None
        else:
            principal.require_store(store, what=f"Store {store}")
            stores = (store,)
        async with self.finance.db.session() as session:
            name = await self._account_name(session, store, code)
            balance = await books.balance(session, code, store_ids=stores, up_to_period=period)
        return svc_pb.GetBalanceResponse(
            store_id=store, account_code=code, account_name=name, debit_balance=money(balance)
        )

    @staticmethod
    async def _account_name(session: Any, store: str, code: str) -> str:
        """The store's own name for the account, else the group template's; unknown: NOT_FOUND."""
        if store != ALL_STORES:
            own = await session.execute(
                select(col(Account.name)).where(
                    col(Account.store_id) == store, col(Account.code) == code
                )
            )
            name = own.scalar_one_or_none()
            if name is not None:
                return str(name)
        template = await session.get(AccountTemplate, code)
        if template is None:
            raise NotFound(f"Account {code} is not in the chart of accounts.")
        return str(template.name)

    async def GetInvoice(
        self, request: svc_pb.GetInvoiceRequest, context: Any
    ) -> svc_pb.GetInvoiceResponse:
        principal = current_principal()
        invoice_id = _required(request.invoice_id, "invoice_id")
        async with self.finance.db.session() as session:
            doc = await svc.load_invoice(session, principal, invoice_id)
        return svc_pb.GetInvoiceResponse(invoice=_invoice(doc))

    async def RecordReceipt(
        self, request: svc_pb.RecordReceiptRequest, context: Any
    ) -> svc_pb.RecordReceiptResponse:
        principal = current_principal()
        request_id = _required(request.request_id, "request_id")
        uow = self.finance.uow()
        async with uow:
            doc = await svc.record_receipt(
                uow,
                self.finance,
                principal,
                svc.RecordReceipt(
                    store_id=request.store_id,
                    customer_id=request.customer_id,
                    reference_type=_reference_type(request.reference_type),
                    reference=request.reference,
                    method=_method(request.method),
                    amount=_amount(request.amount),
                    received_on=_date(request.received_on, "received_on"),
                    payer_name=request.payer_name,
                    bank_reference=request.bank_reference,
                    request_id=request_id,
                ),
            )
            await uow.commit()
        return svc_pb.RecordReceiptResponse(receipt=_receipt(doc))
