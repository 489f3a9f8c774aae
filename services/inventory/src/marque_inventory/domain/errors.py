"""The inventory's own names for the kit's domain errors (the kit maps them to HTTP and gRPC)."""

from __future__ import annotations

from marque_kit.errors import Conflict, InvalidInput


class InvalidVin(InvalidInput):
    """The VIN breaks one of the ISO 3779 rules; `errors` names which."""

    slug = "invalid-vin"
    title = "Invalid VIN"


class IllegalTransition(Conflict):
    """The command is impossible in the aggregate's current status."""

    slug = "illegal-transition"
    title = "Not possible in the current status"


class InsufficientStock(Conflict):
    """Fewer parts are available (or reserved) than the command needs."""

    slug = "insufficient-stock"
    title = "Insufficient stock"
