"""The gateway's configuration: MARQUE_GATEWAY_* plus the shared MARQUE_* variables.

`MARQUE_REDIS_URL` is shared by every gateway replica (rate limits, idempotency locks).
Upstreams are JSON maps, e.g. `MARQUE_GATEWAY_UPSTREAMS='{"inventory": "http://inventory:8000"}'`.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from marque_kit.settings import ServiceSettings

DEV_JWT_SECRET = "dev-gateway-jwt-secret-change-me-0123456789"
DEV_WEBHOOK_KEY = "dev-gateway-webhook-key-change-me-0123456789"


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MARQUE_GATEWAY_", extra="ignore")

    service: str = "gateway"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/marque_gateway"
    http_port: int = 8080
    grpc_port: int = 0  # the gateway serves no gRPC; it is a client of every service

    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", validation_alias=AliasChoices("MARQUE_REDIS_URL")
    )
    # Prefix of every Redis key, so that test runs (and groups sharing a Redis) never collide.
    redis_prefix: str = "marque:gw:"

    # Staff tokens (RFC 8725: HS256 pinned, iss/aud/typ checked).
    jwt_secret: str = DEV_JWT_SECRET
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    # Lock-out: this many failed logins in a row lock the account for lockout_minutes.
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    # argon2id, sized for a 2-core box (OWASP's 19 MiB, t=2, p=1 minimum).
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19_456
    argon2_parallelism: int = 1
    password_min_length: int = 10
    # Lifetime of the internal principal the gateway signs for each forwarded request.
    principal_ttl_seconds: int = 60

    # Where each service answers: HTTP for routing, gRPC for composition.
    upstreams: dict[str, str] = {
        "crm": "http://127.0.0.1:8101",
        "inventory": "http://127.0.0.1:8102",
        "finance": "http://127.0.0.1:8105",
    }
    grpc_upstreams: dict[str, str] = {
        "crm": "127.0.0.1:9101",
        "inventory": "127.0.0.1:9102",
        "finance": "127.0.0.1:9105",
    }
    upstream_connect_timeout_seconds: float = 2.0
    upstream_timeout_seconds: float = 30.0
    compose_deadline_seconds: float = 2.0

    # Protection.
    max_body_bytes: int = 10 * 1024 * 1024
    cors_origins: list[str] = ["http://127.0.0.1:5173", "http://localhost:5173"]
    user_rate_limit_per_minute: int = 600
    # Sign-in attempts per client IP and minute (password guessing across many usernames).
    login_rate_limit_per_minute: int = 30
    default_key_rate_limit_per_minute: int = 120
    idempotency_lock_seconds: int = 60
    # Partner keys: after a rotation the old key keeps working this long (0: it stops at once).
    rotation_grace_hours: float = 24.0
    # Peers whose X-Forwarded-For is believed (load balancers); empty: the TCP peer is the client.
    trusted_proxies: list[str] = []

    # Partner webhooks.
    # Encrypts webhook signing secrets, and stored answers that carried a one-time secret, at rest.
    webhook_key: str = DEV_WEBHOOK_KEY
    # Producers whose events partners may receive. Not finance (yet): ledger postings and expense
    # claims are no partner's business, and a subscription is not checked against the key's read
    # scopes (docs/decisions/0022-finance-behind-the-gateway.md). Not crm (yet): a portal would
    # receive every lead of its stores, its competitors' included, and the customers' events
    # (docs/decisions/0024-crm-behind-the-gateway.md).
    webhook_sources: list[str] = ["inventory"]
    webhook_max_attempts: int = 8
    webhook_backoff_base_seconds: float = 10.0
    webhook_backoff_max_seconds: float = 3600.0
    webhook_timeout_seconds: float = 10.0
    webhook_poll_seconds: float = 1.0
    webhook_concurrency: int = 16
    webhook_delivery_retention_days: float = 30
    # A new delivery waits this long, so that events of one subject arriving together (consumed
    # concurrently) are all recorded before the first goes out: they then go out in seq order.
    webhook_settle_seconds: float = 0.5

    @model_validator(mode="after")
    def _refuse_dev_gateway_secrets(self) -> GatewaySettings:
        if self.env == "production":
            for name, value, dev in (
                ("MARQUE_GATEWAY_JWT_SECRET", self.jwt_secret, DEV_JWT_SECRET),
                ("MARQUE_GATEWAY_WEBHOOK_KEY", self.webhook_key, DEV_WEBHOOK_KEY),
            ):
                if value == dev or len(value) < 32:
                    raise ValueError(f"{name} must be set to a real secret (32+ characters)")
        return self
