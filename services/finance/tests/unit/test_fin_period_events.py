"""Period events (PeriodClosed, PeriodReopened) against their golden fixtures (DESIGN.md §4).

Producer side: what `periods_service.period_closed` / `period_reopened` + `wrap` emit has the
fixture's envelope keys, `data` shape, type and routing key. Consumer side: each fixture parses
into its proto class. The fixtures are written by this module with fixed ids and times; after an
intended change regenerate them and review the diff:

    .venv/bin/python services/finance/tests/unit/test_fin_period_events.py
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from marque.finance.v1 import events_pb2
from marque_finance.periods_service import period_closed, period_reopened
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import OutgoingEvent
from marque_kit.envelope import Envelope, wrap

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "contract" / "fixtures"
EVENTS_PROTO = ROOT / "protos" / "marque" / "finance" / "v1" / "events.proto"
SOURCE = "marque/finance"
TYPE_PREFIX = "marque.finance.v1."
ID_NAMESPACE = uuid.UUID("5d0e8f4a-2b71-4c3e-8a9d-71f0c2b6e4a3")
FIXED_TIME = datetime(2026, 11, 2, 1, 45, 12, 500000, tzinfo=UTC)
CORRELATION = "a1c3e5f7092b4d6f8a0c2e4f6a8b0d2e"
TRACEPARENT = "00-2f4e6a8c0b1d3f5e7a9c1b3d5f7e9a0c-3e5d7c9b1a0f2e4d-01"
ALL_TYPES = ("PeriodClosed", "PeriodReopened")


def reference_events(variant: int = 0) -> list[OutgoingEvent]:
    """October closed by the store's finance, then reopened by HQ finance with a reason."""
    store = ("SH01", "HZ01")[variant]
    at = datetime(2026, 11, 2, 1, 45, tzinfo=UTC)
    city = store[:2].lower()
    return [
        period_closed(store, "2026-10", f"user:demo-{city}-finance", seq=2 + variant, at=at),
        period_reopened(
            store,
            "2026-10",
            "user:demo-hq-finance",
            "主机厂十月返利红字发票迟到, 需补记 (OEM rebate credit note arrived late)",
            seq=3 + variant,
            at=at,
        ),
    ]


@contextmanager
def request_context(
    correlation: str = CORRELATION, traceparent: str = TRACEPARENT
) -> Iterator[None]:
    tokens = (correlation_id_var.set(correlation), traceparent_var.set(traceparent))
    try:
        yield
    finally:
        correlation_id_var.reset(tokens[0])
        traceparent_var.reset(tokens[1])


def produce(
    out: OutgoingEvent, *, event_id: str | None = None, time: datetime | None = None
) -> Envelope:
    """The producer's path (as `marque_kit.db.write_outbox` takes it)."""
    return wrap(
        out.message,
        source=SOURCE,
        subject=out.subject,
        store=out.store_id,
        seq=out.seq,
        event_id=event_id,
        time=time,
    )


def fixture_path(event_type: str) -> Path:
    return FIXTURES / f"{event_type}.json"


def render(envelope: Envelope) -> str:
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate() -> dict[Path, str]:
    files: dict[Path, str] = {}
    with request_context():
        for out in reference_events(0):
            name = out.message.DESCRIPTOR.name
            envelope = produce(out, event_id=str(uuid.uuid5(ID_NAMESPACE, name)), time=FIXED_TIME)
            files[fixture_path(envelope.type)] = render(envelope)
    return files


def routing_keys_in_proto() -> dict[str, str]:
    found = re.findall(
        r"//\s*Routing key:\s*([\w.]+)[^\n]*\n\s*message\s+(\w+)",
        EVENTS_PROTO.read_text("utf-8"),
    )
    return {message: key for key, message in found}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


PRODUCED = reference_events(variant=1)


@pytest.mark.parametrize("out", PRODUCED, ids=lambda o: o.message.DESCRIPTOR.name)
def test_producer_emits_the_fixture_shape(out: OutgoingEvent) -> None:
    with request_context(
        correlation="99bb", traceparent="00-" + "cd" * 16 + "-" + "34" * 8 + "-01"
    ):
        envelope = produce(out)
    path = fixture_path(envelope.type)
    assert path.exists(), f"no golden fixture for {envelope.type}; regenerate them"
    fixture = json.loads(path.read_text("utf-8"))
    emitted = envelope.to_dict()
    assert sorted(emitted) == sorted(fixture)
    assert shape(emitted["data"]) == shape(fixture["data"])
    assert emitted["type"] == fixture["type"] == TYPE_PREFIX + out.message.DESCRIPTOR.name
    assert emitted["source"] == fixture["source"] == SOURCE
    assert emitted["subject"] == "HZ01/2026-10" and emitted["marquestore"] == "HZ01"
    assert routing_keys_in_proto()[out.message.DESCRIPTOR.name] == out.routing_key


def test_fixtures_are_what_the_producer_emits_for_the_reference_events() -> None:
    for path, text in generate().items():
        assert path.read_text("utf-8") == text, f"{path.name} is stale; regenerate the fixtures"


@pytest.mark.parametrize("name", ALL_TYPES)
def test_consumer_parses_the_fixture(name: str) -> None:
    envelope = Envelope.from_json(fixture_path(TYPE_PREFIX + name).read_bytes())
    message = envelope.parse(getattr(events_pb2, name))
    assert envelope.source == SOURCE and envelope.store == message.store_id == "SH01"
    assert envelope.subject == f"{message.store_id}/{message.period}" == "SH01/2026-10"
    assert message.actor.startswith("user:")
    assert message.occurred_at.ToDatetime().year == 2026
    if name == "PeriodReopened":
        assert message.reason and envelope.seq == 3


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for file, text in generate().items():
        file.write_text(text, encoding="utf-8")
        print(f"wrote {file.relative_to(ROOT)}")
