"""Payables (应付) and floor-plan financing (库存融资): OEM vehicle and supplier payables, their
payments, lenders, each store's lender, one loan per financed vehicle, and monthly accruals.

Amounts are fen (BIGINT). Every business row carries store_id; lenders are group reference data
(HQ configures them), so they carry none. A payable's `paid_fen` is the running sum of its
payments, kept in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from marque_finance.models.common import created, fen, ts


class Payable(SQLModel, table=True):
    __tablename__ = "payables"
    __table_args__ = (
        # Each receipt event / document action books its payable once.
        UniqueConstraint("source_event_id", name="payables_source_event"),
        Index("payables_store_supplier", "store_id", "supplier"),
        Index("payables_store_status", "store_id", "status"),
        Index("payables_created", "created_at", "id"),
        Index("payables_store_reference", "store_id", "reference"),
        CheckConstraint("paid_fen >= 0 AND paid_fen <= gross_fen", name="payables_paid_range"),
        CheckConstraint("gross_fen = net_fen + vat_fen", name="payables_gross_is_net_plus_vat"),
    )
    id: str = Field(primary_key=True, max_length=40)
    store_id: str = Field(max_length=20)
    # oem_vehicle, supplier_parts, supplier_invoice
    kind: str = Field(max_length=20)
    # 2202.01 (OEM) or 2202.02 (suppliers)
    account: str = Field(max_length=10)
    # "OEM:BYD", "SUPPLIER:PARTS", or the supplier's name
    supplier: str = Field(max_length=80)
    # VIN (OEM), delivery note (parts) or the supplier's invoice number
    reference: str = Field(max_length=60)
    description: str = Field(default="", max_length=200)
    vin: str = Field(default="", max_length=17)
    model_code: str = Field(default="", max_length=40)
    part_number: str = Field(default="", max_length=40)
    quantity: int = 0
    # For manual invoices: the expense or stock account debited.
    expense_account: str = Field(default="", max_length=10)
    issued_on: date
    due_on: date
    net_fen: int = fen()
    vat_fen: int = fen()
    gross_fen: int = fen()
    paid_fen: int = fen()
    # open, partially_paid, paid
    status: str = Field(default="open", max_length=16)
    # The inventory event id (arrivals) or `supplier-invoice:<store>:<SUPPLIER>:<NUMBER>`.
    source_event_id: str = Field(max_length=240)
    # The invoice's own posting (manual invoices; arrivals are posted by the inventory rule).
    entry_id: str = Field(default="", max_length=40)
    created_by: str = "system"
    created_at: datetime | None = created()
    version: int = 1


class PayablePayment(SQLModel, table=True):
    __tablename__ = "payable_payments"
    __table_args__ = (
        Index("payable_payments_store_paid", "store_id", "paid_on"),
        Index("payable_payments_created", "created_at", "id"),
        CheckConstraint("amount_fen > 0", name="payable_payments_positive"),
    )
    id: str = Field(primary_key=True, max_length=40)
    payable_id: str = Field(foreign_key="payables.id", max_length=40, index=True)
    store_id: str = Field(max_length=20)
    supplier: str = Field(max_length=80)
    amount_fen: int = fen()
    paid_on: date
    # bank (the store paid) or floor_plan (the lender paid the OEM)
    method: str = Field(default="bank", max_length=12)
    bank_reference: str = Field(default="", max_length=80)
    lender_id: str = Field(default="", max_length=40)
    entry_id: str = Field(default="", max_length=40)
    created_by: str = "system"
    created_at: datetime | None = created()


class Lender(SQLModel, table=True):
    """A floor-plan lender (the OEM's captive finance company or a bank); group-wide."""

    __tablename__ = "floorplan_lenders"
    __table_args__ = (
        CheckConstraint("annual_rate_bp > 0", name="floorplan_lenders_rate"),
        CheckConstraint("day_count IN (360, 365)", name="floorplan_lenders_basis"),
        Index("floorplan_lenders_created", "created_at", "id"),
    )
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=80, unique=True)
    # Basis points a year: 435 = 4.35%.
    annual_rate_bp: int
    day_count: int = 360
    active: bool = True
    created_by: str = ""
    created_at: datetime | None = created()
    updated_at: datetime | None = ts()
    version: int = 1


class StoreFloorplan(SQLModel, table=True):
    """Which lender finances a store's OEM vehicles from now on (none: the store pays the OEM)."""

    __tablename__ = "floorplan_stores"
    store_id: str = Field(primary_key=True, max_length=20)
    lender_id: str | None = Field(default=None, foreign_key="floorplan_lenders.id", max_length=40)
    updated_by: str = ""
    updated_at: datetime | None = created()
    version: int = 1


class FloorplanLoan(SQLModel, table=True):
    """One financed vehicle: principal = the gross OEM payable, drawn the day it arrives."""

    __tablename__ = "floorplan_loans"
    __table_args__ = (
        UniqueConstraint("payable_id", name="floorplan_loans_payable"),
        # A VIN has at most one open loan.
        Index(
            "floorplan_loans_open_vin",
            "vin",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        Index("floorplan_loans_store_status", "store_id", "status"),
        Index("floorplan_loans_store_drawn", "store_id", "drawn_on", "id"),
        CheckConstraint("principal_fen > 0", name="floorplan_loans_principal"),
    )
    id: str = Field(primary_key=True, max_length=40)
    store_id: str = Field(max_length=20)
    vin: str = Field(max_length=17)
    brand: str = Field(default="", max_length=40)
    model_code: str = Field(default="", max_length=40)
    lender_id: str = Field(foreign_key="floorplan_lenders.id", max_length=40)
    payable_id: str = Field(foreign_key="payables.id", max_length=40)
    principal_fen: int = fen()
    # The lender's terms on the day of drawdown; a later rate change applies to new loans.
    annual_rate_bp: int
    day_count: int
    drawn_on: date
    paid_off_on: date | None = None
    # open, paid_off
    status: str = Field(default="open", max_length=10)
    # The last month ("YYYY-MM") whose interest is accrued; "" = none yet.
    accrued_through: str = Field(default="", max_length=7)
    # Interest given back because the payoff was recorded after its month was accrued.
    interest_adjustment_fen: int = fen()
    drawdown_entry_id: str = Field(default="", max_length=40)
    payoff_entry_id: str = Field(default="", max_length=40)
    payoff_bank_reference: str = Field(default="", max_length=80)
    paid_off_by: str = ""
    created_at: datetime | None = created()
    version: int = 1


class FloorplanAccrual(SQLModel, table=True):
    """One posted month of a store's floor-plan interest (sequence 2+ = a catch-up for loans
    booked after the month had been accrued)."""

    __tablename__ = "floorplan_accruals"
    __table_args__ = (
        UniqueConstraint("store_id", "month", "sequence", name="floorplan_accruals_store_month"),
        Index("floorplan_accruals_created", "created_at", "id"),
    )
    id: str = Field(primary_key=True, max_length=40)
    store_id: str = Field(max_length=20)
    month: str = Field(max_length=7)
    sequence: int = 1
    total_fen: int = fen()
    loans: int = 0
    # "" when every loan's interest rounded to 0 fen (nothing to post).
    entry_id: str = Field(default="", max_length=40)
    entry_number: str = Field(default="", max_length=40)
    created_by: str = "system"
    created_at: datetime | None = created()


class FloorplanAccrualLine(SQLModel, table=True):
    __tablename__ = "floorplan_accrual_lines"
    __table_args__ = (
        # A loan's month is accrued once.
        UniqueConstraint("loan_id", "month", name="floorplan_accrual_lines_loan_month"),
    )
    accrual_id: str = Field(foreign_key="floorplan_accruals.id", primary_key=True, max_length=40)
    loan_id: str = Field(foreign_key="floorplan_loans.id", primary_key=True, max_length=40)
    store_id: str = Field(max_length=20)
    month: str = Field(max_length=7)
    vin: str = Field(max_length=17)
    days: int
    interest_fen: int = fen()
