"""`GET /api/v1/group/me`: who the caller is and what they may do.

For staff the permissions are their roles' grants from `marque_kit.permissions`; for a partner,
the scopes of its API key, with the partner's name, stores and rate limit.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from marque_gateway.deps import Caller
from marque_kit.permissions import permissions_of

router = APIRouter(prefix="/api/v1/group", tags=["group: me"])


class MeOut(BaseModel):
    kind: str = Field(examples=["user"])
    subject: str = Field(description="User id, or the API key id of a partner.")
    name: str
    roles: list[str]
    stores: list[str] = Field(description='Store ids; ["*"] means every store (HQ).')
    permissions: list[str] = Field(
        description="Grants: `crm.*` is all of crm, `*:read` any read, `*` everything."
    )
    partner: str | None = None
    rate_limit_per_minute: int | None = None
    expires_at: int | None = Field(
        None, description="When the access token expires (Unix seconds); staff only."
    )


@router.get("/me", response_model=MeOut, summary="Who am I, and what may I do")
async def me(principal: Caller) -> MeOut:
    if principal.kind == "partner":
        rate = principal.claims.get("rate_limit")
        return MeOut(
            kind="partner",
            subject=principal.subject,
            name=principal.name,
            roles=list(principal.roles),
            stores=list(principal.stores),
            permissions=sorted(principal.scopes),
            partner=str(principal.claims.get("partner", principal.name)),
            rate_limit_per_minute=int(rate) if rate is not None else None,
        )
    return MeOut(
        kind=principal.kind,
        subject=principal.subject,
        name=principal.name,
        roles=list(principal.roles),
        stores=list(principal.stores),
        permissions=permissions_of(list(principal.roles)),
        expires_at=principal.expires_at or None,
    )
