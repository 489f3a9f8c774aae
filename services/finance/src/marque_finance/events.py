"""Which finance facts become which proto events, under which routing key (DESIGN.md §4).

Finance's events are built straight from the rows that were just written, so each helper here
takes plain values and returns an `OutgoingEvent` for the outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from marque.common.v1 import common_pb2
from marque_kit.db import OutgoingEvent

SOURCE = "marque/finance"
CURRENCY = "CNY"


def money(fen: int) -> common_pb2.Money:
    return common_pb2.Money(amount_fen=fen, currency_code=CURRENCY)


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
