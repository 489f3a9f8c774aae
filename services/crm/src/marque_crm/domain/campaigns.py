"""Marketing campaigns (营销活动): who may be messaged, and what they receive. Pure Python.

A campaign sends one message template to the customers of a segment, on one channel (SMS or
WeChat), now or at `scheduled_at`. Each customer the segment matches gets one recipient row with
its outcome, decided in this order:

1. `no_consent` — the customer has not granted marketing consent for the campaign's channel, or
   has withdrawn it (PIPL: no consent, no marketing message);
2. `no_address` — nothing to send to on that channel (no WeChat id for a WeChat campaign);
3. `frequency_capped` — the customer already received `max_messages` marketing messages, from
   any campaign, in the last `per_days` days;
4. otherwise the message is sent, and the recipient ends `sent` or `failed` (the provider's
   answer, with its error).

A campaign never messages one customer twice: a recipient is claimed once (the database keeps one
row per campaign and customer), and a resend only picks up customers the segment gained since,
customers excluded before who may now be reached (consent given since, cap window passed), and
sends the provider could not take for the moment (5xx, no answer). A message the provider
refused (a bad number) is not tried again, and `sent` is final.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from marque_kit.errors import Conflict, InvalidInput

CHANNELS = ("sms", "wechat")
PLACEHOLDERS = ("name",)
MAX_TEMPLATE = 500

# Campaign lifecycle: draft (no date) or scheduled → sending → sent; a sent campaign may be sent
# again (resend), which only reaches those not reached yet.
STATUSES = ("draft", "scheduled", "sending", "sent")
SENDABLE = ("draft", "scheduled", "sent")

# A recipient's outcome.
SENDING, SENT, FAILED, EXCLUDED = "sending", "sent", "failed", "excluded"
RECIPIENT_STATUSES = (SENDING, SENT, FAILED, EXCLUDED)
NO_CONSENT, NO_ADDRESS, FREQUENCY_CAPPED = "no_consent", "no_address", "frequency_capped"
EXCLUSION_REASONS = (NO_CONSENT, NO_ADDRESS, FREQUENCY_CAPPED)


@dataclass(frozen=True)
class FrequencyCap:
    """At most `max_messages` marketing messages per customer in any `per_days` days, counted
    across all campaigns."""

    max_messages: int = 2
    per_days: int = 7

    def __post_init__(self) -> None:
        if not 1 <= self.max_messages <= 100 or not 1 <= self.per_days <= 365:
            raise InvalidInput(
                "A frequency cap allows 1-100 messages per 1-365 days "
                f"({self.max_messages} per {self.per_days} given).",
                errors=[{"field": "frequency_cap", "rule": "range"}],
            )

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(days=self.per_days)

    def allows(self, recent_sends: int) -> bool:
        return recent_sends < self.max_messages


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(
            f"Campaign channel {channel!r} is not one of {', '.join(CHANNELS)}.",
            errors=[{"field": "channel", "rule": "enum"}],
        )
    return channel


def check_template(template: str) -> str:
    """1-500 characters; `{name}` is the only placeholder (write `{{` for a literal brace)."""
    text = (template or "").strip()
    if not text or len(text) > MAX_TEMPLATE:
        raise InvalidInput(
            f"A message template is 1 to {MAX_TEMPLATE} characters.",
            errors=[{"field": "template", "rule": "length"}],
        )
    try:
        parts = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text)]
    except ValueError as exc:
        raise InvalidInput(
            f"The template's braces do not pair up ({exc}); use {{name}} for the customer's "
            "name and {{ or }} for a literal brace.",
            errors=[{"field": "template", "rule": "braces"}],
        ) from exc
    fields = [(f, spec, conv) for f, spec, conv in parts if f is not None]
    unknown = sorted({f for f, _, _ in fields if f not in PLACEHOLDERS})
    if unknown or any(spec or conv for _, spec, conv in fields):
        raise InvalidInput(
            "The template may only use the placeholder {name}"
            + (f"; it has {', '.join('{' + u + '}' for u in unknown)}." if unknown else "."),
            errors=[{"field": "template", "rule": "placeholders", "unknown": unknown}],
        )
    return text


def render(template: str, *, name: str) -> str:
    """The message one customer receives."""
    return template.format(name=name)


@dataclass(frozen=True)
class Candidate:
    """A customer the segment matched, with what the decision needs."""

    customer_id: str
    name: str
    consented: bool
    address: str  # the mobile (SMS) or WeChat id; "" when none
    recent_sends: int  # marketing messages received inside the cap window


@dataclass(frozen=True)
class Decision:
    customer_id: str
    send: bool
    reason: str = ""  # why excluded; "" when sent


def decide(candidate: Candidate, cap: FrequencyCap) -> Decision:
    """Send to this customer, or exclude them with the first reason that applies."""
    if not candidate.consented:
        return Decision(candidate.customer_id, False, NO_CONSENT)
    if not candidate.address.strip():
        return Decision(candidate.customer_id, False, NO_ADDRESS)
    if not cap.allows(candidate.recent_sends):
        return Decision(candidate.customer_id, False, FREQUENCY_CAPPED)
    return Decision(candidate.customer_id, True)


# A send that stopped beating for this long (the process died) no longer blocks a new one.
STALE_SENDING = timedelta(minutes=15)


def check_can_send(status: str, last_beat: datetime | None, now: datetime) -> None:
    """A draft, scheduled or sent campaign may be sent; a running send blocks another (409),
    unless it stalled: then the new send takes over (those it left in flight stay `sending`
    and are never messaged again: delivery unknown beats a double message)."""
    if status in SENDABLE:
        return
    if status == "sending" and (last_beat is None or now - last_beat > STALE_SENDING):
        return
    if status == "sending":
        raise Conflict("This campaign is being sent right now; wait for that send to finish.")
    raise Conflict(f"A {status} campaign cannot be sent.")


def summarise(statuses: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Counts per outcome, and exclusions per reason, from (status, reason) pairs."""
    by_status: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    for status, reason in statuses:
        by_status[status] += 1
        if status == EXCLUDED:
            by_reason[reason] += 1
    return {
        **{s: by_status.get(s, 0) for s in RECIPIENT_STATUSES},
        "excluded_by_reason": {r: by_reason.get(r, 0) for r in EXCLUSION_REASONS},
    }
