"""What every part of the gateway shares at run time: settings, database, Redis, HTTP clients.

One `Gateway` per app, built in `main.create_app` and kept on `app.state.gateway`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from marque_gateway.settings import GatewaySettings
from marque_kit.db import Database


@dataclass
class Gateway:
    settings: GatewaySettings
    db: Database
    # redis.asyncio.Redis; created in main, may be unreachable (the rate limiter degrades).
    redis: Any
    # Filled at startup by the parts that need them (proxy: httpx.AsyncClient per upstream, ...).
    extras: dict[str, Any] = field(default_factory=dict)


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway
