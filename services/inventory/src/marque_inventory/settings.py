"""Inventory's configuration: MARQUE_INVENTORY_* plus the shared MARQUE_* variables."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from marque_kit.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MARQUE_INVENTORY_", extra="ignore")

    service: str = "inventory"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/marque_inventory"
    http_port: int = 8102
    grpc_port: int = 9102
    # 库龄 buckets in days; a vehicle crossing each one raises one alert.
    age_buckets: list[int] = [30, 60, 90]
    # How often expired reservations are released and stock age is checked.
    expiry_sweep_seconds: float = 5.0
    ageing_sweep_seconds: float = 3600.0
    default_reservation_hours: int = 72
