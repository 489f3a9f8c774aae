"""CRM's configuration: MARQUE_CRM_* plus the shared MARQUE_* (MARQUE_PII_KEY seals PII)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from marque_kit.settings import ServiceSettings


class CrmSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MARQUE_CRM_", extra="ignore")

    service: str = "crm"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/marque_crm"
    http_port: int = 8101
    grpc_port: int = 9101
    # Stores' business hours and dates are taken in this zone.
    timezone: str = "Asia/Shanghai"
    # How often the SLA and due-task sweeps run.
    sla_sweep_seconds: float = 30.0
    task_sweep_seconds: float = 30.0
    # Background import jobs (decision 0030): how often an idle worker looks for queued jobs, and
    # after how long without a heartbeat a running job is taken to have lost its worker.
    import_job_poll_seconds: float = 5.0
    import_job_stale_minutes: float = 10.0
    # The SMS / WeChat provider the notifier posts to (dev and tests: a local recording server).
    notify_url: str = "http://127.0.0.1:8199"
    notify_timeout_seconds: float = 5.0
