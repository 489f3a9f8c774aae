"""The deliverer: a background job (worker role) that POSTs due deliveries to partners.

Each round claims up to the free concurrency slots of due deliveries with
`FOR UPDATE SKIP LOCKED` (several replicas share the table) and leases them: the claim pushes
`next_attempt_at` past the send timeout, so a replica that dies mid-send leaves the delivery to be
tried again once the lease runs out. A delivery is due only when no earlier delivery of the same
subscription and subject (lower seq, or same seq and older) is still pending: events of one
subject reach the partner in order, even across retries; a slow or broken partner holds back only
its own subjects.

Sending happens here only, never in a request: a partner server that is down or slow costs a
lease and an attempt row, nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import func, text

from marque_gateway.domain.webhooks import (
    SIGNATURE_HEADER,
    AttemptOutcome,
    DeliveryStatus,
    after_attempt,
    describe_failure,
    signature_header,
)
from marque_gateway.gateway import Gateway
from marque_gateway.models import WebhookAttempt, WebhookDelivery
from marque_gateway.webhooks.secrets import decrypt_secret

log = logging.getLogger("marque.gateway.webhooks")

CONTENT_TYPE = "application/cloudevents+json"
USER_AGENT = "Marque-Webhooks/1.0"
LEASE_MARGIN_SECONDS = 30.0

deliveries = WebhookDelivery.__table__  # type: ignore[attr-defined]
attempts = WebhookAttempt.__table__  # type: ignore[attr-defined]

CLAIM = text(
    """
    WITH due AS (
        SELECT d.id
        FROM webhook_deliveries d
        JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.active
        WHERE d.status = 'pending'
          AND d.next_attempt_at <= now()
          AND (d.subject = '' OR NOT EXISTS (
                SELECT 1 FROM webhook_deliveries e
                WHERE e.subscription_id = d.subscription_id
                  AND e.subject = d.subject
                  AND e.status = 'pending'
                  AND (e.seq, e.created_at, e.id) < (d.seq, d.created_at, d.id)))
        ORDER BY d.next_attempt_at
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries w
    SET attempts = w.attempts + 1,
        next_attempt_at = now() + make_interval(secs => CAST(:lease AS double precision))
    FROM due, webhook_subscriptions s
    WHERE w.id = due.id AND s.id = w.subscription_id
    RETURNING w.id, w.event_id, w.envelope, w.attempts, s.url, s.secret_encrypted
    """
)


@dataclass(frozen=True)
class Claimed:
    id: str
    event_id: str
    envelope: dict[str, Any]
    attempt: int  # this attempt's number, 1 for the first
    url: str
    secret_encrypted: bytes


class Deliverer:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.settings = gateway.settings
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        s = self.settings
        limits = httpx.Limits(
            max_connections=s.webhook_concurrency, max_keepalive_connections=s.webhook_concurrency
        )
        timeout = httpx.Timeout(s.webhook_timeout_seconds)
        async with httpx.AsyncClient(
            timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
        ) as client:
            try:
                while True:
                    self._wake.clear()
                    await self._round(client)
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), s.webhook_poll_seconds)
            finally:
                for task in self._inflight:
                    task.cancel()
                await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _round(self, client: httpx.AsyncClient) -> None:
        free = self.settings.webhook_concurrency - len(self._inflight)
        if free <= 0:
            return
        try:
            claimed = await self.claim(free)
        except Exception:
            log.warning("could not claim webhook deliveries; trying again", exc_info=True)
            return
        for job in claimed:
            task = asyncio.create_task(self._deliver(client, job), name=f"webhook-{job.id}")
            self._inflight.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        # A free slot, and perhaps the next delivery of the same subject is due now.
        self._wake.set()

    async def claim(self, limit: int) -> list[Claimed]:
        lease = self.settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        async with self.gateway.db.session() as session, session.begin():
            rows = (await session.execute(CLAIM, {"limit": limit, "lease": lease})).all()
        return [
            Claimed(
                id=row.id,
                event_id=row.event_id,
                envelope=orjson.loads(row.envelope)
                if isinstance(row.envelope, str | bytes)
                else row.envelope,
                attempt=row.attempts,
                url=row.url,
                secret_encrypted=bytes(row.secret_encrypted),
            )
            for row in rows
        ]

    async def _deliver(self, client: httpx.AsyncClient, job: Claimed) -> None:
        started = time.monotonic()
        status_code, error = await self.send(client, job)
        duration_ms = int((time.monotonic() - started) * 1000)
        s = self.settings
        outcome = after_attempt(
            attempts_made=job.attempt,
            status_code=status_code,
            max_attempts=s.webhook_max_attempts,
            base=s.webhook_backoff_base_seconds,
            cap=s.webhook_backoff_max_seconds,
            jitter=random.random(),
        )
        try:
            await self.record(job, status_code, error, duration_ms, outcome)
        except Exception:
            # The lease runs out and the delivery is tried again; the receiver dedups on
            # Webhook-Id.
            log.warning("could not record a webhook attempt", exc_info=True)
            return
        if outcome.status != DeliveryStatus.SUCCEEDED:
            log.info(
                "webhook delivery attempt failed",
                extra={
                    "delivery_id": job.id,
                    "attempt": job.attempt,
                    "status": outcome.status.value,
                    "reason": describe_failure(status_code, error),
                },
            )

    async def send(self, client: httpx.AsyncClient, job: Claimed) -> tuple[int | None, str | None]:
        """POST the event; (status code, None) when the receiver answered, else (None, why)."""
        timeout = self.settings.webhook_timeout_seconds
        try:
            secret = decrypt_secret(job.secret_encrypted, self.settings.webhook_key)
        except RuntimeError as exc:
            return None, str(exc)
        body = orjson.dumps(job.envelope)
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature_header(secret, body, int(time.time())),
            "Webhook-Id": job.event_id,
            "Marque-Delivery": job.id,
            "Marque-Attempt": str(job.attempt),
        }
        try:
            async with asyncio.timeout(timeout):
                async with client.stream("POST", job.url, content=body, headers=headers) as resp:
                    return resp.status_code, None
        except (TimeoutError, httpx.TimeoutException):
            return None, f"no answer within {timeout:g} seconds"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__

    async def record(
        self,
        job: Claimed,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        outcome: AttemptOutcome,
    ) -> None:
        values: dict[str, Any] = {
            "status": outcome.status.value,
            "last_status_code": status_code,
            "last_error": None
            if outcome.status == DeliveryStatus.SUCCEEDED
            else describe_failure(status_code, error)[:2000],
        }
        if outcome.status == DeliveryStatus.SUCCEEDED:
            values["delivered_at"] = func.now()
            values["next_attempt_at"] = None
        elif outcome.status == DeliveryStatus.FAILED:
            values["next_attempt_at"] = None
        else:
            values["next_attempt_at"] = func.now() + timedelta(
                seconds=outcome.retry_in_seconds or 0.0
            )
        async with self.gateway.db.session() as session, session.begin():
            await session.execute(
                attempts.insert().values(
                    delivery_id=job.id,
                    status_code=status_code,
                    error=error[:2000] if error else None,
                    duration_ms=duration_ms,
                )
            )
            # Only if nobody resent it meanwhile (a resend starts the count again).
            await session.execute(
                deliveries.update()
                .where(
                    deliveries.c.id == job.id,
                    deliveries.c.status == DeliveryStatus.PENDING.value,
                    deliveries.c.attempts == job.attempt,
                )
                .values(**values)
            )


def wake_deliverer(gateway: Gateway) -> None:
    """After committing a delivery that is due now (a test ping, a resend)."""
    deliverer = gateway.extras.get("webhook_deliverer")
    if isinstance(deliverer, Deliverer):
        deliverer.wake()
