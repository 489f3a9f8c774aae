"""Partner API key administration under /api/v1/group/keys (HQ).

Creating or rotating a key answers the raw key once; afterwards only its id, scopes, stores,
limit and state are ever shown (never the secret nor its hash). Rotation keeps the old key working
for `rotation_grace_hours`; revocation stops a key at once. Changes need `group.keys:write`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlmodel import col

from marque_gateway.deps import GatewayDep, require
from marque_gateway.domain import api_keys as rules
from marque_gateway.models import ApiKey
from marque_gateway.partners import keys
from marque_kit.auth import Principal
from marque_kit.http import IfMatch, Page, PageQuery, etag, paginate

router = APIRouter(prefix="/api/v1/group/keys", tags=["group: partner keys"])

Reader = Annotated[Principal, Depends(require("group.keys:read"))]
Writer = Annotated[Principal, Depends(require("group.keys:write"))]

SHOWN_ONCE = (
    "This key is shown only once: store it now, in your secret store. Marque keeps only its hash "
    "and will never show it again. Send it as the X-API-Key header."
)
_SCOPES_HELP = (
    "`<service>.<resource>:<action>`, e.g. inventory.vehicles:read, crm.leads:create; the action "
    "may be `*`. Of the gateway's own, only group.webhooks:<action>."
)


class KeyIn(BaseModel):
    partner: str = Field(min_length=2, max_length=80, examples=["autohome"])
    name: str = Field("", max_length=200, examples=["Autohome lead sync"])
    scopes: list[str] = Field(
        min_length=1,
        max_length=rules.MAX_SCOPES,
        description=_SCOPES_HELP,
        examples=[["inventory.vehicles:read", "crm.leads:create"]],
    )
    stores: list[str] = Field(min_length=1, max_length=rules.MAX_STORES, examples=[["SH01"]])
    rate_limit_per_minute: int | None = Field(
        None,
        ge=rules.MIN_RATE_LIMIT,
        le=rules.MAX_RATE_LIMIT,
        description="Requests a minute; default: the gateway's default key limit.",
    )
    expires_at: datetime | None = Field(None, description="Never expires when left out.")


class KeyPatch(BaseModel):
    scopes: list[str] | None = Field(
        None, min_length=1, max_length=rules.MAX_SCOPES, description=_SCOPES_HELP
    )
    stores: list[str] | None = Field(None, min_length=1, max_length=rules.MAX_STORES)
    rate_limit_per_minute: int | None = Field(
        None, ge=rules.MIN_RATE_LIMIT, le=rules.MAX_RATE_LIMIT
    )
    expires_at: datetime | None = Field(
        None, description="Send null to make the key never expire; leave out to keep it."
    )


class RotateIn(BaseModel):
    expires_at: datetime | None = Field(
        None,
        description="The new key's expiry; left out, it lives as long as the old key did.",
    )


class KeyOut(BaseModel):
    id: str
    partner: str
    name: str
    scopes: list[str]
    stores: list[str]
    rate_limit_per_minute: int
    status: keys.KeyStatus
    expires_at: datetime | None
    revoked_at: datetime | None = Field(
        description="When the key stopped (or, while rotating, will stop) working."
    )
    rotated_to: str | None
    is_demo: bool
    created_by: str
    created_at: datetime | None
    last_used_at: datetime | None
    version: int

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(
            id=key.id,
            partner=key.partner,
            name=key.name,
            scopes=list(key.scopes),
            stores=list(key.stores),
            rate_limit_per_minute=key.rate_limit_per_minute,
            status=keys.key_status(key),
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            rotated_to=key.rotated_to,
            is_demo=key.is_demo,
            created_by=key.created_by,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            version=key.version,
        )


class IssuedKeyOut(KeyOut):
    key: str = Field(description="The raw key, shown only in this answer.")
    note: str = SHOWN_ONCE


class RotationOut(BaseModel):
    new_key: IssuedKeyOut
    old_key: KeyOut
    old_key_stops_at: datetime | None


def _answer(key: ApiKey, response: Response) -> KeyOut:
    response.headers["ETag"] = etag(key.version)
    return KeyOut.of(key)


def _issued(key: ApiKey, raw: str, response: Response) -> IssuedKeyOut:
    response.headers["ETag"] = etag(key.version)
    response.headers["Location"] = f"{router.prefix}/{key.id}"
    response.headers["Cache-Control"] = "no-store"
    return IssuedKeyOut(**KeyOut.of(key).model_dump(), key=raw)


@router.post("", status_code=201, response_model=IssuedKeyOut, summary="Issue a partner API key")
async def create_key(
    body: KeyIn, gateway: GatewayDep, actor: Writer, response: Response
) -> IssuedKeyOut:
    """The raw key is in this answer only; store it at once."""
    row, raw = await keys.issue_key(
        gateway.db,
        partner=body.partner,
        name=body.name,
        scopes=body.scopes,
        stores=body.stores,
        rate_limit_per_minute=body.rate_limit_per_minute
        or gateway.settings.default_key_rate_limit_per_minute,
        expires_at=rules.validate_expiry(body.expires_at, now=datetime.now(UTC)),
        created_by=actor.label(),
    )
    return _issued(row, raw, response)


@router.get("", response_model=Page[KeyOut], summary="List partner API keys")
async def list_keys(
    gateway: GatewayDep,
    _: Reader,
    page: PageQuery,
    partner: Annotated[str | None, Query(max_length=80)] = None,
    status: Annotated[Literal["active", "revoked", "expired"] | None, Query()] = None,
) -> Page[KeyOut]:
    """Newest first; `status=active` includes keys still in their rotation grace period."""
    stmt = keys.list_statement(partner=partner, status=status)
    async with gateway.db.session() as session:
        rows, cursor = await paginate(
            session,
            stmt,
            page,
            order=(col(ApiKey.created_at), col(ApiKey.id)),
            descending=True,
        )
    return Page(items=[KeyOut.of(r) for r in rows], next_cursor=cursor)


@router.get("/{key_id}", response_model=KeyOut, summary="Read one partner API key")
async def read_key(key_id: str, gateway: GatewayDep, _: Reader, response: Response) -> KeyOut:
    return _answer(await keys.get_key(gateway.db, key_id=key_id), response)


@router.patch("/{key_id}", response_model=KeyOut, summary="Change a key's scopes, stores, limit")
async def update_key(
    key_id: str,
    body: KeyPatch,
    gateway: GatewayDep,
    _: Writer,
    version: IfMatch,
    response: Response,
) -> KeyOut:
    """Needs If-Match with the version read (412 when stale). Takes effect on the next request."""
    given = body.model_fields_set
    key = await keys.update_key(
        gateway.db,
        key_id=key_id,
        expected_version=version,
        scopes=body.scopes,
        stores=body.stores,
        rate_limit_per_minute=body.rate_limit_per_minute,
        expires_at=body.expires_at if "expires_at" in given else keys.UNSET,
    )
    return _answer(key, response)


@router.post(
    "/{key_id}/rotate",
    status_code=201,
    response_model=RotationOut,
    summary="Rotate a key: a new key now, the old one stops after the grace period",
)
async def rotate_key(
    key_id: str,
    gateway: GatewayDep,
    actor: Writer,
    response: Response,
    body: RotateIn | None = None,
) -> RotationOut:
    """The new key is in this answer only. The old key keeps working for the gateway's rotation
    grace period (`rotation_grace_hours`), then answers 401 naming its replacement."""
    given = body.model_fields_set if body is not None else set()
    rotation = await keys.rotate_key(
        gateway.db,
        key_id=key_id,
        grace_hours=gateway.settings.rotation_grace_hours,
        rotated_by=actor.label(),
        expires_at=body.expires_at if body is not None and "expires_at" in given else keys.UNSET,
    )
    issued = _issued(rotation.new, rotation.raw_key, response)
    return RotationOut(
        new_key=issued,
        old_key=KeyOut.of(rotation.old),
        old_key_stops_at=rotation.old.revoked_at,
    )


@router.post("/{key_id}/revoke", response_model=KeyOut, summary="Revoke a key now")
async def revoke_key(key_id: str, gateway: GatewayDep, _: Writer, response: Response) -> KeyOut:
    """The key answers 401 from the next request on. Revoking twice changes nothing."""
    return _answer(await keys.revoke_key(gateway.db, key_id=key_id), response)
