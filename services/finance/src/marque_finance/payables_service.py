"""Payables (应付): OEM vehicle and parts payables booked on arrival, manual supplier invoices,
payments (partial allowed), the supplier ledger and AP ageing.

The two arrival hooks are called by the inventory consumer inside its inbox transaction, after it
has posted the receipt entry itself; they add the payable (once per source event) and, for a
store that finances its stock, open the floor-plan loan whose drawdown pays the OEM.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.finance.v1 import events_pb2 as fev
from marque_finance import books, floorplan_service
from marque_finance.domain import payables as ap
from marque_finance.domain.ageing import Ageing, age
from marque_finance.domain.posting_rules import money_out as rules
from marque_finance.events import SOURCE, money, outgoing, timestamp
from marque_finance.models import Payable, PayablePayment
from marque_finance.unit_of_work import Finance
from marque_kit.auth import Principal
from marque_kit.db import OutgoingEvent, write_outbox
from marque_kit.errors import AlreadyExists, InvalidInput, NotFound

PAYMENT_MADE = "finance.payment.made"


def payment_made_event(
    *,
    payment_id: str,
    payable_id: str,
    store_id: str,
    supplier: str,
    amount_fen: int,
    outstanding_fen: int,
    paid_on: date,
    seq: int = 0,
    at: datetime | None = None,
) -> OutgoingEvent:
    """PaymentMade (finance.payment.made), subject = the payable; seq = the payable's version."""
    return outgoing(
        fev.PaymentMade(
            occurred_at=timestamp(at),
            payment_id=payment_id,
            payable_id=payable_id,
            store_id=store_id,
            supplier=supplier,
            amount=money(amount_fen),
            outstanding=money(outstanding_fen),
            paid_on=paid_on.isoformat(),
        ),
        PAYMENT_MADE,
        subject=payable_id,
        store_id=store_id,
        seq=seq,
    )


# --- arrivals (called by the inventory consumer) --------------------------------------------


async def _insert_payable(session: AsyncSession, values: dict[str, object]) -> Payable | None:
    """Insert once per source_event_id; None when this event booked its payable before."""
    inserted = await session.execute(
        pg_insert(Payable)
        .values(**values)
        .on_conflict_do_nothing(constraint="payables_source_event")
        .returning(col(Payable.id))
    )
    if inserted.first() is None:
        return None
    return await session.get(Payable, values["id"])


async def oem_vehicle_received(
    session: AsyncSession,
    finance: Finance,
    *,
    store_id: str,
    vin: str,
    brand: str,
    model_code: str,
    net_fen: int,
    vat_fen: int,
    received_on: date,
    source_event_id: str,
) -> None:
    """The OEM's invoice for an arrived vehicle becomes a payable (the receipt entry is already
    posted by the inventory rule); a floor-planned store's lender pays it the same day."""
    supplier = ap.oem_supplier(brand)
    vin = vin.strip().upper()
    payable = await _insert_payable(
        session,
        {
            "id": str(uuid.uuid4()),
            "store_id": store_id,
            "kind": ap.PayableKind.OEM_VEHICLE.value,
            "account": ap.ACCOUNT_OF[ap.PayableKind.OEM_VEHICLE],
            "supplier": supplier,
            "reference": vin,
            "description": f"OEM invoice for {model_code} {vin} (整车采购)",
            "vin": vin,
            "model_code": model_code,
            "issued_on": received_on,
            "due_on": ap.due_date(received_on, finance.settings.payable_terms_days),
            "net_fen": net_fen,
            "vat_fen": vat_fen,
            "gross_fen": net_fen + vat_fen,
            "source_event_id": source_event_id,
        },
    )
    if payable is None:
        return
    financed = await floorplan_service.open_loan(
        session,
        store_id=store_id,
        vin=vin,
        brand=brand,
        model_code=model_code,
        payable_id=payable.id,
        oem=supplier,
        principal_fen=payable.gross_fen,
        drawn_on=received_on,
    )
    if financed is None:
        return
    loan, lender = financed
    await _record_payment(
        session,
        payable,
        amount_fen=payable.gross_fen,
        paid_on=received_on,
        method=ap.PaymentMethod.FLOOR_PLAN,
        bank_reference="",
        lender_id=lender.id,
        entry_id=loan.drawdown_entry_id,
        actor="system",
    )


async def supplier_parts_received(
    session: AsyncSession,
    finance: Finance,
    *,
    store_id: str,
    reference: str,
    part_number: str,
    quantity: int,
    net_fen: int,
    vat_fen: int,
    received_on: date,
    source_event_id: str,
) -> None:
    """A parts delivery becomes a payable to the parts supplier (reference = delivery note)."""
    await _insert_payable(
        session,
        {
            "id": str(uuid.uuid4()),
            "store_id": store_id,
            "kind": ap.PayableKind.SUPPLIER_PARTS.value,
            "account": ap.ACCOUNT_OF[ap.PayableKind.SUPPLIER_PARTS],
            "supplier": ap.PARTS_SUPPLIER,
            "reference": reference.strip()[:60] or part_number,
            "description": f"{quantity} x {part_number} (配件入库)",
            "part_number": part_number,
            "quantity": quantity,
            "issued_on": received_on,
            "due_on": ap.due_date(received_on, finance.settings.payable_terms_days),
            "net_fen": net_fen,
            "vat_fen": vat_fen,
            "gross_fen": net_fen + vat_fen,
            "source_event_id": source_event_id,
        },
    )


# --- manual supplier invoices ---------------------------------------------------------------


async def create_supplier_invoice(
    session: AsyncSession,
    finance: Finance,
    principal: Principal,
    *,
    store_id: str,
    supplier: str,
    reference: str,
    net_fen: int,
    vat_fen: int | None,
    account: str,
    issued_on: date,
    due_on: date | None,
    description: str = "",
) -> Payable:
    """Book a supplier's invoice: Dr the account it buys + input VAT / Cr 2202.02."""
    principal.require_store(store_id, what=f"Store {store_id}")
    invoice = ap.supplier_invoice(
        supplier=supplier,
        reference=reference,
        net_fen=net_fen,
        vat_fen=vat_fen,
        account=account,
        issued_on=issued_on,
        due_on=due_on,
        terms_days=finance.settings.payable_terms_days,
        description=description,
    )
    payable_id = str(uuid.uuid4())
    # The same supplier's invoice number is booked once per store.
    key = f"supplier-invoice:{store_id}:{invoice.supplier.upper()}:{invoice.reference.upper()}"
    payable = await _insert_payable(
        session,
        {
            "id": payable_id,
            "store_id": store_id,
            "kind": ap.PayableKind.SUPPLIER_INVOICE.value,
            "account": ap.ACCOUNT_OF[ap.PayableKind.SUPPLIER_INVOICE],
            "supplier": invoice.supplier,
            "reference": invoice.reference,
            "description": invoice.description,
            "expense_account": invoice.account,
            "issued_on": invoice.issued_on,
            "due_on": invoice.due_on,
            "net_fen": invoice.net_fen,
            "vat_fen": invoice.vat_fen,
            "gross_fen": invoice.gross_fen,
            "source_event_id": key,
            "created_by": principal.subject,
        },
    )
    if payable is None:
        raise AlreadyExists(
            f"Invoice {invoice.reference} from {invoice.supplier} is already booked in store "
            f"{store_id}.",
            errors=[{"field": "reference", "rule": "unique_per_supplier"}],
        )
    posted = await books.post(
        session,
        rules.supplier_invoice(
            store_id=store_id,
            payable_id=payable.id,
            supplier=invoice.supplier,
            reference=invoice.reference,
            account=invoice.account,
            net_fen=invoice.net_fen,
            vat_fen=invoice.vat_fen,
            issued_on=invoice.issued_on,
            description=invoice.description,
            created_by=principal.subject,
        ),
    )
    payable.entry_id = posted.id if posted else ""
    await session.flush()
    await session.refresh(payable)
    return payable


# --- payments -------------------------------------------------------------------------------


async def get_payable(
    session: AsyncSession, principal: Principal, payable_id: str, *, lock: bool = False
) -> Payable:
    payable = await session.get(Payable, payable_id, with_for_update=lock)
    if payable is None or not principal.sees_store(payable.store_id):
        raise NotFound(f"Payable {payable_id} was not found in your stores.")
    return payable


async def payments_of(session: AsyncSession, payable_id: str) -> list[PayablePayment]:
    rows = await session.execute(
        select(PayablePayment)
        .where(col(PayablePayment.payable_id) == payable_id)
        .order_by(col(PayablePayment.paid_on), col(PayablePayment.created_at))
    )
    return list(rows.scalars().all())


async def _record_payment(
    session: AsyncSession,
    payable: Payable,
    *,
    amount_fen: int,
    paid_on: date,
    method: ap.PaymentMethod,
    bank_reference: str,
    lender_id: str,
    entry_id: str,
    actor: str,
    payment_id: str | None = None,
) -> PayablePayment:
    payment = PayablePayment(
        id=payment_id or str(uuid.uuid4()),
        payable_id=payable.id,
        store_id=payable.store_id,
        supplier=payable.supplier,
        amount_fen=amount_fen,
        paid_on=paid_on,
        method=method.value,
        bank_reference=bank_reference,
        lender_id=lender_id,
        entry_id=entry_id,
        created_by=actor,
    )
    session.add(payment)
    payable.paid_fen += amount_fen
    payable.status = ap.status_of(payable.gross_fen, payable.paid_fen).value
    payable.version += 1
    await session.flush()
    await write_outbox(
        session,
        [
            payment_made_event(
                payment_id=payment.id,
                payable_id=payable.id,
                store_id=payable.store_id,
                supplier=payable.supplier,
                amount_fen=amount_fen,
                outstanding_fen=payable.gross_fen - payable.paid_fen,
                paid_on=paid_on,
                seq=payable.version,
            )
        ],
        source=SOURCE,
    )
    return payment


async def pay(
    session: AsyncSession,
    finance: Finance,
    principal: Principal,
    payable_id: str,
    *,
    amount_fen: int,
    paid_on: date | None,
    bank_reference: str,
) -> tuple[Payable, PayablePayment]:
    """Pay (part of) a payable from the bank: Dr 2202.0x / Cr 1002, memo = bank reference."""
    payable = await get_payable(session, principal, payable_id, lock=True)
    amount = ap.check_payment(
        reference=payable.reference,
        supplier=payable.supplier,
        outstanding_fen=payable.gross_fen - payable.paid_fen,
        amount_fen=amount_fen,
    )
    day = ap.check_paid_on(
        paid_on or finance.today(), issued_on=payable.issued_on, today=finance.today()
    )
    ref = ap.check_bank_reference(bank_reference)
    payment_id = str(uuid.uuid4())
    posted = await books.post(
        session,
        rules.payable_payment(
            store_id=payable.store_id,
            payment_id=payment_id,
            payable_account=payable.account,
            supplier=payable.supplier,
            reference=payable.reference,
            amount_fen=amount,
            paid_on=day,
            bank_reference=ref,
            vin=payable.vin,
            model_code=payable.model_code,
            created_by=principal.subject,
        ),
    )
    payment = await _record_payment(
        session,
        payable,
        amount_fen=amount,
        paid_on=day,
        method=ap.PaymentMethod.BANK,
        bank_reference=ref,
        lender_id="",
        entry_id=posted.id if posted else "",
        actor=principal.subject,
        payment_id=payment_id,
    )
    await session.refresh(payable)
    return payable, payment


# --- supplier ledger and ageing -------------------------------------------------------------


def visible_stores(principal: Principal, store_id: str | None) -> tuple[str, ...] | None:
    """The stores a report covers: the one asked for (if the caller sees it), else all of the
    caller's stores (None = every store, for HQ)."""
    if store_id:
        principal.require_store(store_id, what=f"Store {store_id}")
        return (store_id,)
    return principal.store_filter()


@dataclass(frozen=True)
class SupplierLedger:
    supplier: str
    stores: tuple[str, ...] | None
    from_date: date | None
    to_date: date
    opening_fen: int
    rows: list[ap.LedgerRow]

    @property
    def closing_fen(self) -> int:
        return self.rows[-1].balance_fen if self.rows else self.opening_fen


async def supplier_ledger(
    session: AsyncSession,
    principal: Principal,
    supplier: str,
    *,
    store_id: str | None,
    from_date: date | None,
    to_date: date,
) -> SupplierLedger:
    """What the store(s) owe one supplier: opening balance, invoices and payments, balance."""
    if from_date and from_date > to_date:
        raise InvalidInput(
            f"from_date {from_date.isoformat()} is after to_date {to_date.isoformat()}.",
            errors=[{"field": "from_date", "rule": "order"}],
        )
    stores = visible_stores(principal, store_id)
    params: dict[str, object] = {"supplier": supplier, "to": to_date}
    store_clause = ""
    if stores is not None:
        store_clause = " AND store_id = ANY(:stores)"
        params["stores"] = list(stores)
    opening = 0
    if from_date:
        params["from"] = from_date
        result = await session.execute(
            text(
                "SELECT COALESCE((SELECT SUM(gross_fen) FROM payables WHERE supplier = :supplier "
                "AND issued_on < :from" + store_clause + "), 0) - COALESCE((SELECT "
                "SUM(amount_fen) FROM payable_payments WHERE supplier = :supplier "
                "AND paid_on < :from" + store_clause + "), 0)"
            ),
            params,
        )
        opening = int(result.scalar_one())
    since = " AND issued_on >= :from" if from_date else ""
    invoices = await session.execute(
        text(
            "SELECT id, store_id, issued_on, reference, description, gross_fen FROM payables "
            "WHERE supplier = :supplier AND issued_on <= :to"
            + since
            + store_clause
            + " ORDER BY issued_on, created_at, id"
        ),
        params,
    )
    movements = [
        ap.Movement(
            on=r.issued_on,
            kind="invoice",
            document_id=r.id,
            payable_id=r.id,
            store_id=r.store_id,
            reference=r.reference,
            description=r.description,
            credit_fen=r.gross_fen,
        )
        for r in invoices
    ]
    paid_since = " AND pp.paid_on >= :from" if from_date else ""
    payments = await session.execute(
        text(
            "SELECT pp.id, pp.payable_id, pp.store_id, pp.paid_on, pp.amount_fen, pp.method, "
            "pp.bank_reference, p.reference FROM payable_payments pp "
            "JOIN payables p ON p.id = pp.payable_id "
            "WHERE pp.supplier = :supplier AND pp.paid_on <= :to"
            + paid_since
            + store_clause.replace("store_id", "pp.store_id")
            + " ORDER BY pp.paid_on, pp.created_at, pp.id"
        ),
        params,
    )
    for r in payments:
        how = "floor-plan lender" if r.method == ap.PaymentMethod.FLOOR_PLAN else r.bank_reference
        movements.append(
            ap.Movement(
                on=r.paid_on,
                kind="payment",
                document_id=r.id,
                payable_id=r.payable_id,
                store_id=r.store_id,
                reference=r.reference,
                description=f"Payment ({how})",
                debit_fen=r.amount_fen,
            )
        )
    rows = ap.running_balance(opening, movements)
    return SupplierLedger(supplier, stores, from_date, to_date, opening, rows)


async def open_payables(
    session: AsyncSession, stores: tuple[str, ...] | None, as_of: date
) -> list[ap.OpenPayable]:
    """Payables booked by `as_of` and what was still owed on them that day."""
    params: dict[str, object] = {"d": as_of}
    store_clause = ""
    if stores is not None:
        store_clause = " AND p.store_id = ANY(:stores)"
        params["stores"] = list(stores)
    rows = await session.execute(
        text(
            "SELECT p.id, p.store_id, p.supplier, p.reference, p.due_on, "
            "p.gross_fen - COALESCE(SUM(pp.amount_fen) FILTER (WHERE pp.paid_on <= :d), 0) "
            "AS outstanding FROM payables p "
            "LEFT JOIN payable_payments pp ON pp.payable_id = p.id "
            "WHERE p.issued_on <= :d" + store_clause + " AND (p.status <> 'paid' OR EXISTS "
            "(SELECT 1 FROM payable_payments later WHERE later.payable_id = p.id "
            "AND later.paid_on > :d)) "
            "GROUP BY p.id ORDER BY p.supplier, p.due_on, p.id"
        ),
        params,
    )
    return [
        ap.OpenPayable(
            payable_id=r.id,
            store_id=r.store_id,
            party=r.supplier,
            reference=r.reference,
            due_on=r.due_on,
            outstanding_fen=int(r.outstanding),
        )
        for r in rows
        if r.outstanding
    ]


async def ap_ageing(
    session: AsyncSession, principal: Principal, *, store_id: str | None, as_of: date
) -> Ageing:
    """AP ageing (应付账龄) per supplier as of a day, same buckets as AR."""
    return age(await open_payables(session, visible_stores(principal, store_id), as_of), as_of)
