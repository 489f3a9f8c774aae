"""Encryption at rest for what the gateway must be able to read back: webhook signing secrets and
the stored answers that carried a one-time secret (a new API key, a temporary password).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from `MARQUE_GATEWAY_WEBHOOK_KEY` and a
purpose label, so one setting serves several uses without their ciphertexts being interchangeable.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["InvalidToken", "seal", "unseal"]


@lru_cache(maxsize=16)
def _fernet(key: str, purpose: str) -> Fernet:
    digest = hashlib.sha256(purpose.encode() + b"\x00" + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(data: bytes, *, key: str, purpose: str) -> bytes:
    return _fernet(key, purpose).encrypt(data)


def unseal(token: bytes, *, key: str, purpose: str) -> bytes:
    """The plain bytes; InvalidToken when the key (or purpose) is not the one that sealed them."""
    return _fernet(key, purpose).decrypt(bytes(token))
