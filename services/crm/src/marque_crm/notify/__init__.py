"""The notifier: SMS and WeChat messages through providers behind one interface.

- `OutboundMessage` / `DeliveryResult` / `Provider`: what every provider takes and answers
  (`marque_crm.notify.providers`: `HttpSmsProvider`, `HttpWeChatProvider`, `provider_for`).
- `marque_crm.notify.consumer`: the `notifier` consumer, turning TaskDue into a reminder to the
  consultant and recording a `Notification` row.
- `marque_crm.notify.sink`: a real local provider that records what it receives (dev and tests):
  `python -m marque_crm.notify.sink --port 8199`.
"""

from marque_crm.notify.providers import (
    CHANNELS,
    DeliveryResult,
    HttpSmsProvider,
    HttpWeChatProvider,
    OutboundMessage,
    Provider,
    mask_recipient,
    provider_for,
)

__all__ = [
    "CHANNELS",
    "DeliveryResult",
    "HttpSmsProvider",
    "HttpWeChatProvider",
    "OutboundMessage",
    "Provider",
    "mask_recipient",
    "provider_for",
]
