"""Staff access tokens: short-lived HS256 JWTs, checked as RFC 8725 asks.

- the algorithm is pinned (HS256 only; `alg=none` and every other algorithm are refused);
- issuer, audience and the `typ` header (`at+jwt`, RFC 9068) are checked, so an internal principal
  or any other JWT signed elsewhere can never pass as an access token;
- `exp` is required and enforced.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import jwt

from marque_gateway.settings import GatewaySettings
from marque_kit.auth import Principal
from marque_kit.errors import Unauthenticated

ALGORITHM = "HS256"
ISSUER = "marque-gateway"
AUDIENCE = "marque-api"
TOKEN_TYPE = "at+jwt"


def issue_access_token(
    *,
    user_id: str,
    name: str,
    roles: Sequence[str],
    stores: Sequence[str],
    settings: GatewaySettings,
    now: float | None = None,
    must_change_password: bool = False,
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds. A token of a user who must change
    their password first (`mcp`) opens only the password change, `/me` and sign-out."""
    issued = int(now if now is not None else time.time())
    ttl = settings.access_token_ttl_seconds
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "name": name,
        "roles": list(roles),
        "stores": list(stores),
        "iat": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
    }
    if must_change_password:
        claims["mcp"] = True
    token = jwt.encode(
        claims, settings.jwt_secret, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE}
    )
    return token, ttl


class VerifiedTokens:
    """Tokens this process has already verified, until they expire.

    A token is immutable and signed, so once its signature and claims have been checked the
    answer cannot change before `exp`; keeping it saves the HMAC and claim checks on every
    request of a busy console. Bounded: past `size` entries the oldest half is dropped.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._known: dict[str, Principal] = {}

    def get(self, token: str, now: float) -> Principal | None:
        principal = self._known.get(token)
        if principal is None:
            return None
        if principal.expires_at <= now:
            del self._known[token]
            return None
        return principal

    def put(self, token: str, principal: Principal) -> None:
        if len(self._known) >= self.size:
            for old in list(self._known)[: self.size // 2]:
                del self._known[old]
        self._known[token] = principal


_verified = VerifiedTokens()


def verify_access_token(token: str, settings: GatewaySettings) -> Principal:
    """The staff member the token names, or Unauthenticated (401)."""
    # Keyed by secret too, so that tests (or a rotated secret) never reuse another key's answer.
    cache_key = f"{hash(settings.jwt_secret)}:{token}"
    known = _verified.get(cache_key, time.time())
    if known is not None:
        return known
    principal = _verify(token, settings)
    _verified.put(cache_key, principal)
    return principal


def _verify(token: str, settings: GatewaySettings) -> Principal:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthenticated("The access token is not a JWT; sign in again.") from exc
    if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
        raise Unauthenticated("The access token is not a Marque access token; sign in again.")
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated(
            "The access token has expired; get a new one from POST /auth/token "
            "(grant_type=refresh_token)."
        ) from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"The access token was refused ({exc}); sign in again.") from exc
    return Principal(
        subject=str(claims["sub"]),
        kind="user",
        name=str(claims.get("name", "")),
        roles=tuple(claims.get("roles", ())),
        stores=tuple(claims.get("stores", ())),
        expires_at=int(claims["exp"]),
        claims=claims,
    )
