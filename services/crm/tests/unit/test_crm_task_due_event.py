"""TaskDue (crm.task.due) against its golden fixture (DESIGN.md §4).

Producer side: what `tasks_service.task_due_event` + `wrap` emit today has the fixture's envelope
keys, the same `data` shape, type, subject and routing key. Consumer side (the notifier): the
fixture parses into TaskDue. The fixture is written by this module from the reference task below,
with fixed ids and times (`marque_kit.testing.golden`); after an intended change regenerate it
and review the diff:

    .venv/bin/python services/crm/tests/unit/test_crm_task_due_event.py
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from marque.crm.v1 import events_pb2
from marque_crm.models import Task
from marque_crm.notify.consumer import TASK_DUE_TYPE
from marque_crm.tasks_service import ROUTING_KEY_DUE, task_due_event
from marque_kit.db import OutgoingEvent
from marque_kit.testing.golden import Golden

GOLDEN = Golden(
    events_pb2,
    __file__,
    id_namespace=uuid.UUID("3c7e2a91-5b4d-4e8f-a612-9d0b7c3e1f25"),
    fixed_time=datetime(2026, 3, 3, 2, 0, 4, 250000, tzinfo=UTC),
    correlation="2d9e4f6a8b0c4d1e9f3a5b7c9d1e3f50",
    traceparent="00-7a1c3e5f7b9d1f3a5c7e9b1d3f5a7c9e-1b3d5f7a9c2e4f6b-01",
)


def reference_event(variant: int = 0) -> OutgoingEvent:
    """Shanghai: an H lead's follow-up due at 10:00 (02:00 UTC) for consultant sh.wang.
    Variant 1 (a birthday call in Guangzhou, no lead) has other values of the same shape."""
    store = ("SH01", "GZ01")[variant]
    task = Task(
        id=GOLDEN.id("task", variant),
        store_id=store,
        customer_id=GOLDEN.id("customer", variant),
        lead_id=GOLDEN.id("lead", variant),
        assignee=("sh.wang", "gz.chen")[variant],
        kind=("grade_interval", "birthday")[variant],
        title=("按意向级别跟进 Follow up (H lead)", "生日关怀 Birthday call (tomorrow)")[variant],
        due_at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
        status="open",
        dedupe_key=f"lead:{GOLDEN.id('lead', variant)}:grade_interval",
        version=(1, 3)[variant],
    )
    return task_due_event(task, datetime(2026, 3, 3, 2, 0, 4, tzinfo=UTC))


def test_producer_emits_the_fixture_shape() -> None:
    out = reference_event(variant=1)
    emitted = GOLDEN.check_producer(out)
    assert emitted["type"] == TASK_DUE_TYPE
    assert emitted["subject"] == out.message.task_id  # type: ignore[attr-defined]
    assert emitted["marquestore"] == "GZ01"
    assert emitted["marqueseq"] == 3
    assert out.routing_key == ROUTING_KEY_DUE


def test_the_fixture_is_what_the_producer_emits_for_the_reference_task() -> None:
    GOLDEN.check_up_to_date([reference_event(0)])


def test_the_notifier_parses_the_fixture() -> None:
    envelope, message = GOLDEN.parse("TaskDue")
    assert envelope.subject == message.task_id
    assert envelope.store == message.store_id == "SH01"
    assert message.assignee == "sh.wang"
    assert message.kind == "grade_interval"
    assert message.due_at.ToDatetime(tzinfo=UTC) == datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    data = GOLDEN.data("TaskDue")
    assert data["dueAt"] == "2026-03-03T02:00:00Z"
    assert data["title"].startswith("按意向级别跟进")


if __name__ == "__main__":
    GOLDEN.write([reference_event(0)])
