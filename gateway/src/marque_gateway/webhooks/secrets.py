"""Subscription secrets: made by the gateway, shown to the partner once, kept encrypted.

The key is Fernet (AES-128-CBC + HMAC-SHA256) derived from `MARQUE_GATEWAY_WEBHOOK_KEY`; the
deliverer decrypts a secret only to sign a delivery.
"""

from __future__ import annotations

import secrets

from marque_gateway.domain.webhooks import SECRET_PREFIX
from marque_gateway.sealing import InvalidToken, seal, unseal

PURPOSE = "marque-webhook-secrets"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def encrypt_secret(secret: str, webhook_key: str) -> bytes:
    return seal(secret.encode(), key=webhook_key, purpose=PURPOSE)


def decrypt_secret(token: bytes, webhook_key: str) -> str:
    try:
        return unseal(token, key=webhook_key, purpose=PURPOSE).decode()
    except InvalidToken as exc:
        raise RuntimeError(
            "A webhook secret cannot be decrypted: MARQUE_GATEWAY_WEBHOOK_KEY changed since it "
            "was stored. Restore the old key, or rotate the subscription's secret."
        ) from exc
