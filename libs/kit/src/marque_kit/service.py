"""How a service plugs into the `marque` CLI: a `ServiceSpec` published as an entry point.

Each service's pyproject declares, under `[project.entry-points."marque.services"]`,
`<name> = "marque_<name>.main:spec"`, so the kit finds services without importing them by name.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from marque_kit.settings import ServiceSettings

ROLES = ("all", "api", "worker")


@dataclass(frozen=True)
class Companion:
    """A local stand-in for something outside Marque that `marque up` starts before the service
    (e.g. a recording SMS gateway); never used in production, where the real thing is configured."""

    name: str
    argv: tuple[str, ...]
    ready_url: str
    # One line for the "Marque is up" list, e.g. where to see the messages it recorded.
    note: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    settings: Callable[..., ServiceSettings]
    create_app: Callable[[Any], Any]
    service_dir: Path
    seed: Callable[[Any], Coroutine[Any, Any, str]] | None = None
    order: int = 100  # start order for `marque up` (lower first)
    # What `marque up` prints once everything is up (e.g. the gateway's sign-in instructions).
    welcome: Callable[[Any], str] | None = None
    # Stand-ins for the outside world that `marque up` starts first (dev only).
    companions: tuple[Companion, ...] = ()


def discover() -> dict[str, ServiceSpec]:
    specs: dict[str, ServiceSpec] = {}
    for ep in entry_points(group="marque.services"):
        spec = ep.load()
        specs[spec.name] = spec
    return dict(sorted(specs.items(), key=lambda kv: (kv[1].order, kv[0])))
