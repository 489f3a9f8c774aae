"""Configuration from the environment (DESIGN.md §10).

Each service subclasses `ServiceSettings` with `env_prefix="MARQUE_<SVC>_"`; the shared knobs
(`MARQUE_ENV`, `MARQUE_AMQP_URL`, `MARQUE_INTERNAL_SECRET`, ...) carry no service prefix.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_INTERNAL_SECRET = "dev-internal-secret-change-me-0123456789"
DEV_PII_KEY = "dev-pii-key-change-me"


def _shared(name: str) -> AliasChoices:
    return AliasChoices(f"MARQUE_{name.upper()}")


class ServiceSettings(BaseSettings):
    # populate_by_name also reads each field's own name under the prefix: without one, bare ENV,
    # AMQP_URL or INTERNAL_SECRET from the shell would be taken.
    model_config = SettingsConfigDict(env_prefix="MARQUE_", extra="ignore", populate_by_name=True)

    service: str = "marque"
    role: Literal["all", "api", "worker"] = "all"
    env: Literal["development", "test", "production"] = Field(
        "development", validation_alias=_shared("env")
    )
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/marque"
    db_pool_size: int = 10
    amqp_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/", validation_alias=_shared("amqp_url")
    )
    # Prefix for every exchange and queue name, so that test runs never share broker names.
    amqp_namespace: str = Field("", validation_alias=_shared("amqp_namespace"))
    internal_secret: str = Field(DEV_INTERNAL_SECRET, validation_alias=_shared("internal_secret"))
    pii_key: str = Field(DEV_PII_KEY, validation_alias=_shared("pii_key"))
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 50051
    log_level: str = Field("INFO", validation_alias=_shared("log_level"))
    relay_batch_size: int = 500
    relay_poll_seconds: float = 1.0
    consumer_prefetch: int = 64
    # Delays (seconds) between handler retries; past the last one a message is parked.
    retry_delays: list[float] = Field(default_factory=lambda: [1.0, 5.0, 30.0])
    # Redeliveries (consumer crashes before ack) tolerated before the broker itself parks a message.
    delivery_limit: int = 20
    grpc_deadline_seconds: float = 5.0
    timezone: str = "Asia/Shanghai"
    # Retention of the platform tables (marque_kit.housekeeping).
    sent_outbox_retention_days: float = 7
    inbox_retention_days: float = 30
    idempotency_key_retention_days: float = 7

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> ServiceSettings:
        if self.env == "production":
            bad = [
                name
                for name, value, dev in (
                    ("MARQUE_INTERNAL_SECRET", self.internal_secret, DEV_INTERNAL_SECRET),
                    ("MARQUE_PII_KEY", self.pii_key, DEV_PII_KEY),
                )
                if value == dev or len(value) < 32
            ]
            if bad:
                raise ValueError(
                    f"{', '.join(bad)} must be set to a real secret (32+ characters) in production"
                )
            if "guest:guest@" in self.amqp_url:
                raise ValueError("MARQUE_AMQP_URL uses the development guest account in production")
        return self

    def exchange_name(self, producer: str) -> str:
        return f"{self.amqp_namespace}marque.{producer}"
