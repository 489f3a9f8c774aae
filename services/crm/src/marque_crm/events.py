"""Helpers that turn CRM facts into outbox events (DESIGN.md §4): routing key, subject, store."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from marque_kit.db import OutgoingEvent


def timestamp(at: datetime | None = None) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at or datetime.now(UTC))
    return stamp


def outgoing(
    message: Message, routing_key: str, subject: str, store_id: str, seq: int = 0
) -> OutgoingEvent:
    return OutgoingEvent(
        message=message, routing_key=routing_key, subject=subject, store_id=store_id, seq=seq
    )
