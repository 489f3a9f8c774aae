"""The notifier: CRM's own consumer `notifier.from.crm`, bound to `crm.task.due`.

Each TaskDue becomes a WeChat Work (企业微信) message to the consultant the task is assigned to:
`to` is their Marque subject (`audience="staff"`), because CRM keeps no staff mobiles; the group's
WeChat Work user ids are the subjects. Reminding a member of staff needs no marketing consent.
(Messages to customers go through campaigns, which check `customer_consents` first.)

Per event, in the consumer's inbox transaction:
- the task is read again: done, cancelled, snoozed since (its due time moved) or gone → nothing
  is sent (the reminder is stale);
- sent (2xx) → a `Notification` row `sent` with the provider's id;
- refused (4xx) → a `Notification` row `failed` with the reason; the worker goes on;
- provider down (5xx, timeout) → `DeliveryFailed` is raised, the transaction rolls back and the
  kit retries the event with growing delays (then parks it in `notifier.from.crm.parked`).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncSession

from marque.crm.v1 import events_pb2 as cev
from marque_crm.models import Customer, Notification, Task
from marque_crm.notify.providers import (
    DeliveryResult,
    OutboundMessage,
    Provider,
    mask_recipient,
    provider_for,
)
from marque_crm.unit_of_work import Crm
from marque_kit.broker import Broker
from marque_kit.consumer import Consumer
from marque_kit.envelope import Envelope, MalformedEvent

log = logging.getLogger("marque.crm.notifier")

CONSUMER = "notifier"
PRODUCER = "crm"
BINDINGS = ("crm.task.due",)
TASK_DUE_TYPE = "marque.crm.v1.TaskDue"
TASK_DUE_TEMPLATE = "crm_task_due"


class DeliveryFailed(Exception):
    """The provider could not take the message now (5xx, timeout); the kit retries the event."""


async def record_notification(
    session: AsyncSession,
    crm: Crm,
    message: OutboundMessage,
    result: DeliveryResult,
    *,
    store_id: str,
    task_id: str | None = None,
    campaign_id: str | None = None,
) -> Notification:
    """Keep what became of one message (sent or failed), in the caller's transaction."""
    row = Notification(
        id=str(uuid.uuid4()),
        store_id=store_id,
        task_id=task_id,
        campaign_id=campaign_id,
        ref=message.ref[:200],
        channel=message.channel,
        to_masked=mask_recipient(message)[:120],
        status="sent" if result.ok else "failed",
        provider_id=result.provider_id,
        error=result.error[:500],
        at=crm.now(),
    )
    session.add(row)
    await session.flush()
    return row


def reminder_text(crm: Crm, task: Task, customer: Customer | None) -> str:
    due = crm.local(task.due_at).strftime("%m-%d %H:%M")
    who = f"{customer.name}（{customer.mobile_masked}）" if customer else task.customer_id
    return f"【跟进提醒】{task.title}：客户 {who}，{due} 到期。Task {task.id}"


async def handle_task_due(
    session: AsyncSession, crm: Crm, envelope: Envelope, provider: Provider
) -> Notification | None:
    event = envelope.parse(cev.TaskDue)
    if not event.task_id:
        raise MalformedEvent("TaskDue without a task_id cannot be delivered.")
    task = await session.get(Task, event.task_id)
    if task is None or task.status != "open" or not task.assignee:
        log.info("task no longer open or unassigned; no reminder", extra={"task": event.task_id})
        return None
    if task.notified_at is None or task.due_at != event.due_at.ToDatetime(tzinfo=UTC):
        log.info("task was snoozed since it fell due; no reminder", extra={"task": task.id})
        return None
    customer = await session.get(Customer, task.customer_id)
    message = OutboundMessage(
        channel="wechat",
        to=task.assignee,
        text=reminder_text(crm, task, customer),
        template=TASK_DUE_TEMPLATE,
        ref=f"task:{task.id}",
        audience="staff",
    )
    result = await provider.send(message)
    if not result.ok and result.retryable:
        raise DeliveryFailed(result.error)
    if not result.ok:
        log.warning(
            "the provider refused a task reminder",
            extra={"task": task.id, "error": result.error[:200]},
        )
    return await record_notification(
        session, crm, message, result, store_id=task.store_id, task_id=task.id
    )


def notifier(crm: Crm, broker: Broker) -> Consumer:
    """The `notifier` consumer of CRM's own TaskDue events (add it with runtime.add_consumer)."""

    async def on_task_due(session: AsyncSession, envelope: Envelope) -> None:
        await handle_task_due(session, crm, envelope, provider_for(crm, "wechat"))

    return Consumer(
        crm.db,
        broker,
        service="crm",
        consumer=CONSUMER,
        producer=PRODUCER,
        handlers={TASK_DUE_TYPE: on_task_due},
        bindings=BINDINGS,
    )
