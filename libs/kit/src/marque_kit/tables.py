"""Platform tables that live in every service's own database: outbox, inbox, idempotency keys.

A service's first migration creates them with `marque_kit.migrations.create_platform_tables`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

platform_metadata = MetaData()

# Shaped after eShop's IntegrationEventLogEntry: id, type, content, state, times sent, transaction.
outbox = Table(
    "outbox",
    platform_metadata,
    Column("position", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("routing_key", String(200), nullable=False),
    Column("aggregate_id", String(100), nullable=False),
    Column("store_id", String(40), nullable=False, server_default=""),
    Column("seq", BigInteger, nullable=False, server_default="0"),
    Column("envelope", JSONB, nullable=False),
    Column("txid", BigInteger, nullable=False, server_default=func.txid_current()),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
)

inbox = Table(
    "inbox",
    platform_metadata,
    Column("consumer", String(120), primary_key=True),
    Column("event_id", String(100), primary_key=True),
    Column("event_type", String(200), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

idempotency_keys = Table(
    "idempotency_keys",
    platform_metadata,
    Column("principal", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("method", String(10), nullable=False),
    Column("path", String(500), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),
    Column("response_body", JSONB),
    Column("response_headers", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

OUTBOX_CHANNEL = "marque_outbox"
