"""Who is calling the gateway: a staff access token or a partner API key.

- `Authorization: Bearer <access JWT>` from `POST /auth/token` (staff);
- `X-API-Key: mq_<key id>_<secret>` or `Authorization: Bearer mq_...` (partners).

The answer is the caller's `Principal`, which the gateway checks for its own routes and signs
(as the internal principal, DESIGN.md §7) for every request it forwards to a service.
"""

from __future__ import annotations

from starlette.datastructures import Headers

from marque_gateway.gateway import Gateway
from marque_gateway.identity.tokens import verify_access_token
from marque_gateway.partners.keys import API_KEY_PREFIX, authenticate_key
from marque_kit.auth import Principal
from marque_kit.errors import Unauthenticated

API_KEY_HEADER = "X-API-Key"


async def authenticate(gateway: Gateway, headers: Headers) -> Principal:
    """The verified caller, or Unauthenticated (401) naming what to do."""
    raw_key = headers.get(API_KEY_HEADER)
    authorization = headers.get("Authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if raw_key is None and scheme.lower() == "bearer" and credential.startswith(API_KEY_PREFIX):
        raw_key = credential
    if raw_key is not None:
        return await authenticate_key(gateway, raw_key.strip())
    if scheme.lower() == "bearer" and credential:
        return verify_access_token(credential.strip(), gateway.settings)
    raise Unauthenticated(
        "Sign in first: send `Authorization: Bearer <access token>` from POST /auth/token, "
        f"or a partner key in `{API_KEY_HEADER}`."
    )
