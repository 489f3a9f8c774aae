"""Per-request context that logs, events and outgoing calls carry along."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
principal_var: ContextVar[str | None] = ContextVar("principal", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)
# The raw signed principal as received, so outgoing gRPC calls can forward it unchanged.
principal_token_var: ContextVar[str | None] = ContextVar("principal_token", default=None)
