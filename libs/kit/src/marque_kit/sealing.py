"""Encryption at rest for what a service must read back (webhook secrets, national ID numbers,
mobile numbers), and blind indexes for finding a sealed value by equality without decrypting.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from a setting (`MARQUE_PII_KEY`,
`MARQUE_GATEWAY_WEBHOOK_KEY`, ...) and a purpose label, so one setting serves several uses without
their ciphertexts (or indexes) being interchangeable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["InvalidToken", "blind_index", "seal", "seal_text", "unseal", "unseal_text"]


@lru_cache(maxsize=16)
def _fernet(key: str, purpose: str) -> Fernet:
    digest = hashlib.sha256(purpose.encode() + b"\x00" + key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(data: bytes, *, key: str, purpose: str) -> bytes:
    return _fernet(key, purpose).encrypt(data)


def unseal(token: bytes, *, key: str, purpose: str) -> bytes:
    """The plain bytes; InvalidToken when the key (or purpose) is not the one that sealed them."""
    return _fernet(key, purpose).decrypt(bytes(token))


def seal_text(text: str, *, key: str, purpose: str) -> str:
    return seal(text.encode(), key=key, purpose=purpose).decode("ascii")


def unseal_text(token: str, *, key: str, purpose: str) -> str:
    return unseal(token.encode("ascii"), key=key, purpose=purpose).decode()


def blind_index(value: str, *, key: str, purpose: str) -> str:
    """A keyed hash (HMAC-SHA256, hex) of an already-normalised value: equal values, equal indexes;
    without the key it reveals nothing and cannot be brute-forced from a leaked table alone."""
    mac_key = hashlib.sha256(b"blind-index\x00" + purpose.encode() + b"\x00" + key.encode())
    return hmac.new(mac_key.digest(), value.encode(), hashlib.sha256).hexdigest()
