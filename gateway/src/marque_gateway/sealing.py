"""Encryption at rest for what the gateway must be able to read back: webhook signing secrets and
the stored answers that carried a one-time secret (a new API key, a temporary password).

The mechanism is the kit's (`marque_kit.sealing`): Fernet with a key derived from
`MARQUE_GATEWAY_WEBHOOK_KEY` and a purpose label.
"""

from __future__ import annotations

from marque_kit.sealing import InvalidToken, seal, unseal

__all__ = ["InvalidToken", "seal", "unseal"]
