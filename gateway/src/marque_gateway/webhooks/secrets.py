"""Subscription secrets: made by the gateway, shown to the partner once, kept encrypted.

The key is Fernet (AES-128-CBC + HMAC-SHA256) derived from `MARQUE_GATEWAY_WEBHOOK_KEY`; the
deliverer decrypts a secret only to sign a delivery.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from marque_gateway.domain.webhooks import SECRET_PREFIX


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@lru_cache(maxsize=8)
def _fernet(webhook_key: str) -> Fernet:
    digest = hashlib.sha256(b"marque-webhook-secrets\x00" + webhook_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(secret: str, webhook_key: str) -> bytes:
    return _fernet(webhook_key).encrypt(secret.encode())


def decrypt_secret(token: bytes, webhook_key: str) -> str:
    try:
        return _fernet(webhook_key).decrypt(bytes(token)).decode()
    except InvalidToken as exc:
        raise RuntimeError(
            "A webhook secret cannot be decrypted: MARQUE_GATEWAY_WEBHOOK_KEY changed since it "
            "was stored. Restore the old key, or rotate the subscription's secret."
        ) from exc
