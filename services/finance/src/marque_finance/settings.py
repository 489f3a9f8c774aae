"""Finance's configuration: MARQUE_FINANCE_* plus the shared MARQUE_* variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from marque_kit.settings import ServiceSettings


class FinanceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MARQUE_FINANCE_", extra="ignore")

    service: str = "finance"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/marque_finance"
    http_port: int = 8105
    grpc_port: int = 9105
    # Stores' business dates (periods, ageing) are taken in this zone.
    timezone: str = "Asia/Shanghai"
    # Expense claims above this amount (fen) need HQ finance's approval after the store manager's.
    expense_hq_threshold_fen: int = 500_000
    # Days a customer invoice is due after issue when the caller names no due date.
    invoice_terms_days: int = 30
    # Bank reconciliation: how many days apart a statement line and a receipt/payment may be.
    reconciliation_window_days: int = 3
    # How often the floor-plan job looks for finished months to accrue.
    floorplan_sweep_seconds: float = 3600.0
    # Days an OEM or parts payable is due after the goods arrive (manual invoices name their own).
    payable_terms_days: int = 30
