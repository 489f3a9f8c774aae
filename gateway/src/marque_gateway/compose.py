"""Composed views (`/api/v1/group/...`): named sections fetched concurrently, each within a
deadline, answered together even when a service is down.

A view lists its `Section`s; `compose` runs them all at once (asyncio.gather) and answers

    {<section>: <its data, or null>, ..., "partial": bool,
     "unavailable": [{"section", "service", "reason"}]}

A section whose service is down, too slow, or failing is null and listed under `unavailable`;
the view still answers 200, never a 5xx. A section the caller may not see (it lacks the section's
permission) is null and listed too, with the reason. A NotFound from any section (e.g. an unknown
store) is the answer of the whole view: 404.

gRPC channels to the services (`grpc_channel`) are shared, opened with the app (`open_channels`)
and closed with it; every call carries the signed principal and a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from marque_gateway.gateway import Gateway
from marque_kit.auth import Principal
from marque_kit.errors import DomainError, Forbidden, NotFound, Unavailable
from marque_kit.rpc import client_channel

log = logging.getLogger("marque.gateway.compose")

CHANNELS_KEY = "grpc_channels"


@dataclass(frozen=True)
class Section:
    """One part of a composed view: its name, the service answering it, how to load it, and the
    permission the caller needs to see it (None: the view's own permission is enough)."""

    name: str
    service: str
    load: Callable[[], Awaitable[Any]]
    permission: str | None = None


@dataclass(frozen=True)
class Composed:
    sections: dict[str, Any]
    unavailable: list[dict[str, str]]

    @property
    def partial(self) -> bool:
        return bool(self.unavailable)

    def body(self, **identity: Any) -> dict[str, Any]:
        """The view's answer: identity fields first (e.g. store_id), then the sections."""
        return {
            **identity,
            **self.sections,
            "partial": self.partial,
            "unavailable": self.unavailable,
        }


async def _run(section: Section, principal: Principal, deadline_seconds: float) -> Any:
    if section.permission is not None and not principal.can(section.permission):
        raise Forbidden(f"Your role does not allow '{section.permission}'.")
    async with asyncio.timeout(deadline_seconds):
        return await section.load()


def _reason(section: Section, outcome: BaseException, deadline_seconds: float) -> str:
    if isinstance(outcome, TimeoutError):
        return f"{section.service} did not answer within {deadline_seconds:g} s."
    if isinstance(outcome, Unavailable):
        return f"{section.service} is not answering; try again shortly."
    if isinstance(outcome, Forbidden):
        return outcome.detail
    if isinstance(outcome, DomainError):
        return f"{section.service}: {outcome.detail}"
    return f"{section.service} failed on this request; it has been logged."


async def compose(
    sections: Sequence[Section], *, principal: Principal, deadline_seconds: float
) -> Composed:
    """Run every section concurrently, each within `deadline_seconds`."""
    outcomes = await asyncio.gather(
        *(_run(s, principal, deadline_seconds) for s in sections), return_exceptions=True
    )
    data: dict[str, Any] = {}
    unavailable: list[dict[str, str]] = []
    for section, outcome in zip(sections, outcomes, strict=True):
        if isinstance(outcome, NotFound):
            raise outcome
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, DomainError | TimeoutError):
                log.error(
                    "composed section failed",
                    exc_info=outcome,
                    extra={"section": section.name, "upstream": section.service},
                )
            else:
                log.warning(
                    "composed section unavailable",
                    extra={
                        "section": section.name,
                        "upstream": section.service,
                        "error": type(outcome).__name__,
                    },
                )
            data[section.name] = None
            unavailable.append(
                {
                    "section": section.name,
                    "service": section.service,
                    "reason": _reason(section, outcome, deadline_seconds),
                }
            )
        else:
            data[section.name] = outcome
    return Composed(sections=data, unavailable=unavailable)


# --- shared gRPC channels -------------------------------------------------------------------------


def grpc_channels(gateway: Gateway) -> dict[str, grpc.aio.Channel]:
    channels: dict[str, grpc.aio.Channel] | None = gateway.extras.get(CHANNELS_KEY)
    if channels is None:
        channels = {}
        gateway.extras[CHANNELS_KEY] = channels
    return channels


def grpc_channel(gateway: Gateway, service: str) -> grpc.aio.Channel:
    """The shared channel to a service's gRPC port (opened at startup, or now)."""
    channels = grpc_channels(gateway)
    channel = channels.get(service)
    if channel is None:
        target = gateway.settings.grpc_upstreams.get(service)
        if target is None:
            raise Unavailable(f"The gateway knows no gRPC address for {service}.")
        channel = channels[service] = client_channel(
            target,
            settings=gateway.settings,
            deadline_seconds=gateway.settings.compose_deadline_seconds,
        )
    return channel


@contextlib.asynccontextmanager
async def open_channels(gateway: Gateway) -> AsyncIterator[None]:
    """App lifespan part: one channel per service with a gRPC address, closed when the app stops."""
    for service in gateway.settings.grpc_upstreams:
        grpc_channel(gateway, service)
    try:
        yield
    finally:
        channels = grpc_channels(gateway)
        for channel in channels.values():
            with contextlib.suppress(Exception):
                await channel.close(None)
        channels.clear()
