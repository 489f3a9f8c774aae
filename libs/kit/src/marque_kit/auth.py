"""The signed internal principal (DESIGN.md §7).

The gateway authenticates people and partners, then forwards a short-lived HS256 JWT in the
`X-Marque-Principal` header (HTTP) or `x-marque-principal` metadata (gRPC). Every service verifies
it with the shared internal secret and scopes every query by the stores it names.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt

from marque_kit.errors import Forbidden, NotFound, Unauthenticated
from marque_kit.permissions import MANAGER_ROLES, ROLE_PERMISSIONS, grant_matches

HEADER = "X-Marque-Principal"
METADATA_KEY = "x-marque-principal"
ISSUER = "marque-gateway"
ALL_STORES = "*"

# The role → permission table lives in marque_kit.permissions; re-exported for callers.
ROLE_SCOPES = ROLE_PERMISSIONS


@dataclass(frozen=True)
class Principal:
    subject: str
    kind: Literal["user", "partner", "service"] = "user"
    name: str = ""
    roles: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    expires_at: int = 0
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_hq(self) -> bool:
        return ALL_STORES in self.stores

    def granted_scopes(self) -> Iterable[str]:
        yield from self.scopes
        for role in self.roles:
            yield from ROLE_PERMISSIONS.get(role, ())

    def can(self, scope: str) -> bool:
        return any(grant_matches(g, scope) for g in self.granted_scopes())

    def require(self, scope: str) -> None:
        if not self.can(scope):
            if self.kind == "partner":
                raise Forbidden(
                    f"This API key does not carry the scope '{scope}'. Ask Marque HQ to add it."
                )
            raise Forbidden(
                f"Your role does not allow '{scope}'. Ask your store manager for access."
            )

    def sees_store(self, store_id: str) -> bool:
        return self.is_hq or store_id in self.stores

    def require_store(self, store_id: str, *, what: str = "That record") -> None:
        """Another store's row answers 404, never 403, so that its existence does not leak."""
        if not self.sees_store(store_id):
            raise NotFound(f"{what} was not found in your stores.")

    def store_filter(self) -> tuple[str, ...] | None:
        """Stores to restrict queries to; None means every store (HQ)."""
        return None if self.is_hq else self.stores

    def is_manager_of(self, store_id: str) -> bool:
        return self.sees_store(store_id) and bool(MANAGER_ROLES.intersection(self.roles))

    def label(self) -> str:
        return f"{self.kind}:{self.subject}"


def sign_principal(
    principal: Principal, secret: str, *, ttl_seconds: int = 300, now: float | None = None
) -> str:
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "sub": principal.subject,
        "kind": principal.kind,
        "name": principal.name,
        "roles": list(principal.roles),
        "stores": list(principal.stores),
        "scopes": list(principal.scopes),
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_principal(token: str | None, secret: str) -> Principal:
    if not token:
        raise Unauthenticated(
            f"Missing {HEADER}. Call Marque through the gateway, or mint a development token "
            "with `marque token`."
        )
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The principal token has expired; sign in again.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"The principal token is not valid: {exc}.") from exc
    return Principal(
        subject=str(claims["sub"]),
        kind=claims.get("kind", "user"),
        name=claims.get("name", ""),
        roles=tuple(claims.get("roles", ())),
        stores=tuple(claims.get("stores", ())),
        scopes=tuple(claims.get("scopes", ())),
        expires_at=int(claims["exp"]),
        claims=claims,
    )
