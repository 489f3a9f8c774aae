"""SMS and WeChat providers behind one interface.

    class Provider(Protocol):
        async def send(self, message: OutboundMessage) -> DeliveryResult

A provider answers for one message:
- `ok=True` with the provider's message id: it was accepted (HTTP 2xx);
- `ok=False, retryable=False`: refused for good (HTTP 4xx: a bad number, an unknown openid, a
  template not approved) - record it failed, do not try again;
- `ok=False, retryable=True`: the provider is down or slow (HTTP 5xx, a timeout, no connection) -
  try again later (the notifier raises, so the kit's retry queues do).

`HttpSmsProvider` and `HttpWeChatProvider` POST the message as JSON to `settings.notify_url` +
`/sms` or `/wechat`: the gateway of whichever SMS / WeChat vendor the group contracts (in dev and
tests, the recording sink of `marque_crm.notify.sink`). The JSON body is
`{"channel", "to", "text", "template", "ref", "audience"}`; the answer's `id` is the provider id.

Recipients: an SMS goes to an E.164 mobile. A WeChat message goes to a customer's openid
(`audience="customer"`, 公众号 template message) or to a member of staff by their Marque subject
(`audience="staff"`, 企业微信 / WeChat Work, whose user ids the group keeps equal to the subjects:
CRM holds no staff mobiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import httpx

from marque_crm.domain.contact import mask_mobile
from marque_crm.unit_of_work import Crm
from marque_kit.errors import InvalidInput

Channel = Literal["sms", "wechat"]
Audience = Literal["customer", "staff"]
CHANNELS: tuple[Channel, ...] = ("sms", "wechat")


@dataclass(frozen=True)
class OutboundMessage:
    channel: Channel
    # An E.164 mobile (sms), a WeChat openid (wechat, customer) or a staff subject (wechat, staff).
    to: str
    text: str
    # The vendor's approved template, when the channel needs one (SMS in China does).
    template: str = ""
    # What the message is about, echoed back in records: `task:<id>`, `campaign:<id>:<customer>`.
    ref: str = ""
    audience: Audience = "customer"


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    provider_id: str = ""
    error: str = ""
    # Only for a failure: worth trying again later (5xx, timeout, no connection).
    retryable: bool = False


class Provider(Protocol):
    async def send(self, message: OutboundMessage) -> DeliveryResult: ...


def mask_recipient(message: OutboundMessage) -> str:
    """How the recipient is shown in records: masked mobile or openid; a staff subject as is."""
    if message.audience == "staff":
        return message.to
    if message.channel == "sms":
        return mask_mobile(message.to)
    to = message.to
    return f"{to[:4]}****{to[-4:]}" if len(to) > 10 else "****"


class HttpProvider:
    """POSTs the message as JSON to `<base_url>/<path>`; see the module docstring for outcomes."""

    path = ""

    def __init__(
        self, base_url: str, *, timeout: float = 5.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.url = base_url.rstrip("/") + "/" + self.path
        self.timeout = timeout
        self.client = client

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        body = {
            "channel": message.channel,
            "to": message.to,
            "text": message.text,
            "template": message.template,
            "ref": message.ref,
            "audience": message.audience,
        }
        try:
            if self.client is not None:
                response = await self.client.post(self.url, json=body, timeout=self.timeout)
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.post(self.url, json=body)
        except httpx.TimeoutException:
            return DeliveryResult(
                ok=False, error=f"{self.url} did not answer in {self.timeout}s", retryable=True
            )
        except httpx.TransportError as exc:
            return DeliveryResult(
                ok=False, error=f"could not reach {self.url}: {exc!r}"[:500], retryable=True
            )
        detail = response.text[:300]
        if response.is_success:
            return DeliveryResult(ok=True, provider_id=_provider_id(response))
        if 400 <= response.status_code < 500:
            return DeliveryResult(ok=False, error=f"refused ({response.status_code}): {detail}")
        return DeliveryResult(
            ok=False, error=f"provider error ({response.status_code}): {detail}", retryable=True
        )


def _provider_id(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    if isinstance(data, dict):
        return str(data.get("id") or data.get("message_id") or "")[:120]
    return ""


class HttpSmsProvider(HttpProvider):
    path = "sms"


class HttpWeChatProvider(HttpProvider):
    path = "wechat"


def provider_for(crm: Crm, channel: str) -> Provider:
    """The provider for `sms` or `wechat`, configured by `notify_url` and its timeout."""
    settings = crm.settings
    if channel == "sms":
        return HttpSmsProvider(settings.notify_url, timeout=settings.notify_timeout_seconds)
    if channel == "wechat":
        return HttpWeChatProvider(settings.notify_url, timeout=settings.notify_timeout_seconds)
    raise InvalidInput(
        f"Channel {channel!r} is not sms or wechat.",
        errors=[{"field": "channel", "rule": "enum"}],
    )
