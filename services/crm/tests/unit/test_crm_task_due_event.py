"""TaskDue (crm.task.due) against its golden fixture (DESIGN.md §4).

Producer side: what `tasks_service.task_due_event` + `wrap` emit today has the fixture's envelope
keys, the same `data` shape, type, subject and routing key. Consumer side (the notifier): the
fixture parses into TaskDue. The fixture is written by this module from the reference task below,
with fixed ids and times; after an intended change regenerate it and review the diff:

    .venv/bin/python services/crm/tests/unit/test_crm_task_due_event.py
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

from marque.crm.v1 import events_pb2
from marque_crm.models import Task
from marque_crm.notify.consumer import TASK_DUE_TYPE
from marque_crm.tasks_service import ROUTING_KEY_DUE, task_due_event
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.db import OutgoingEvent
from marque_kit.envelope import Envelope, wrap

ROOT = Path(__file__).resolve().parents[4]
FIXTURE = ROOT / "tests" / "contract" / "fixtures" / "marque.crm.v1.TaskDue.json"
EVENTS_PROTO = ROOT / "protos" / "marque" / "crm" / "v1" / "events.proto"
SOURCE = "marque/crm"
ID_NAMESPACE = uuid.UUID("3c7e2a91-5b4d-4e8f-a612-9d0b7c3e1f25")
FIXED_TIME = datetime(2026, 3, 3, 2, 0, 4, 250000, tzinfo=UTC)
CORRELATION = "2d9e4f6a8b0c4d1e9f3a5b7c9d1e3f50"
TRACEPARENT = "00-7a1c3e5f7b9d1f3a5c7e9b1d3f5a7c9e-1b3d5f7a9c2e4f6b-01"


def _id(name: str, variant: int) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{name}-{variant}"))


def reference_event(variant: int = 0) -> OutgoingEvent:
    """Shanghai: an H lead's follow-up due at 10:00 (02:00 UTC) for consultant sh.wang.
    Variant 1 (a birthday call in Guangzhou, no lead) has other values of the same shape."""
    store = ("SH01", "GZ01")[variant]
    task = Task(
        id=_id("task", variant),
        store_id=store,
        customer_id=_id("customer", variant),
        lead_id=_id("lead", variant),
        assignee=("sh.wang", "gz.chen")[variant],
        kind=("grade_interval", "birthday")[variant],
        title=("按意向级别跟进 Follow up (H lead)", "生日关怀 Birthday call (tomorrow)")[variant],
        due_at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
        status="open",
        dedupe_key=f"lead:{_id('lead', variant)}:grade_interval",
        version=(1, 3)[variant],
    )
    return task_due_event(task, datetime(2026, 3, 3, 2, 0, 4, tzinfo=UTC))


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


def render(envelope: Envelope) -> str:
    return json.dumps(envelope.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate() -> str:
    with request_context():
        envelope = produce(
            reference_event(0), event_id=str(uuid.uuid5(ID_NAMESPACE, "TaskDue")), time=FIXED_TIME
        )
    return render(envelope)


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def routing_key_in_proto() -> str:
    found = re.findall(
        r"//\s*Routing key:\s*([\w.]+)[^\n]*\n\s*message\s+TaskDue\b",
        EVENTS_PROTO.read_text("utf-8"),
    )
    assert len(found) == 1, "events.proto names TaskDue's routing key once"
    return str(found[0])


def test_producer_emits_the_fixture_shape() -> None:
    out = reference_event(variant=1)
    with request_context(
        correlation="77aa", traceparent="00-" + "ab" * 16 + "-" + "12" * 8 + "-01"
    ):
        envelope = produce(out)
    assert FIXTURE.exists(), "no golden fixture for TaskDue; regenerate it"
    fixture = json.loads(FIXTURE.read_text("utf-8"))
    emitted = envelope.to_dict()
    assert sorted(emitted) == sorted(fixture)
    assert shape(emitted["data"]) == shape(fixture["data"])
    assert emitted["type"] == fixture["type"] == TASK_DUE_TYPE
    assert emitted["source"] == fixture["source"] == SOURCE
    assert emitted["subject"] == out.message.task_id  # type: ignore[attr-defined]
    assert emitted["marquestore"] == "GZ01"
    assert emitted["marqueseq"] == 3
    assert out.routing_key == ROUTING_KEY_DUE == routing_key_in_proto()


def test_the_fixture_is_what_the_producer_emits_for_the_reference_task() -> None:
    assert FIXTURE.read_text("utf-8") == generate(), "TaskDue fixture is stale; regenerate it"


def test_the_notifier_parses_the_fixture() -> None:
    envelope = Envelope.from_json(FIXTURE.read_bytes())
    message = envelope.parse(events_pb2.TaskDue)
    assert envelope.subject == message.task_id
    assert envelope.store == message.store_id == "SH01"
    assert message.assignee == "sh.wang"
    assert message.kind == "grade_interval"
    assert message.due_at.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    data = json.loads(FIXTURE.read_text("utf-8"))["data"]
    assert data["dueAt"] == "2026-03-03T02:00:00Z"
    assert data["title"].startswith("按意向级别跟进")


if __name__ == "__main__":
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(generate(), encoding="utf-8")
    print(f"wrote {FIXTURE.relative_to(ROOT)}")
