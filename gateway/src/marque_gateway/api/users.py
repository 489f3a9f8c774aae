"""Staff account administration under /api/v1/group/users.

HQ sees every user; a store manager (`group.users:read`) sees the users of their stores, and
another store's user answers 404. Changes need `group.users:write` (hq_admin). Password hashes
are never answered; a reset's temporary password is answered once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from marque_gateway.deps import GatewayDep, require
from marque_gateway.identity import accounts
from marque_gateway.models import User
from marque_kit.auth import Principal
from marque_kit.http import IfMatch, Page, PageQuery, etag

router = APIRouter(prefix="/api/v1/group/users", tags=["group: users"])

Reader = Annotated[Principal, Depends(require("group.users:read"))]
Writer = Annotated[Principal, Depends(require("group.users:write"))]

_ROLES_HELP = 'Roles from the permission table; hq_admin/hq_analyst/hq_finance need stores ["*"].'


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=80, examples=["sh.consultant2"])
    password: str = Field(min_length=1, max_length=1024, examples=["first-Day-2026"])
    display_name: str = Field("", max_length=200, examples=["李娜 Li Na"])
    roles: list[str] = Field(min_length=1, max_length=20, description=_ROLES_HELP)
    stores: list[str] = Field(max_length=100, examples=[["SH01"]])
    must_change_password: bool = Field(
        True, description="Ask for a new password at the first sign-in."
    )


class UserPatch(BaseModel):
    roles: list[str] | None = Field(None, min_length=1, max_length=20, description=_ROLES_HELP)
    stores: list[str] | None = Field(None, max_length=100)
    display_name: str | None = Field(None, max_length=200)


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[str]
    stores: list[str]
    disabled: bool
    is_demo: bool
    locked: bool
    locked_until: datetime | None
    failed_logins: int
    must_change_password: bool
    password_changed_at: datetime | None
    last_login_at: datetime | None
    version: int
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        now = datetime.now(UTC)
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            roles=list(user.roles),
            stores=list(user.stores),
            disabled=user.disabled,
            is_demo=user.is_demo,
            locked=accounts.is_locked(user, now),
            locked_until=user.locked_until if accounts.is_locked(user, now) else None,
            failed_logins=user.failed_logins,
            must_change_password=user.must_change_password,
            password_changed_at=user.password_changed_at,
            last_login_at=user.last_login_at,
            version=user.version,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class PasswordResetOut(BaseModel):
    user: UserOut
    temporary_password: str = Field(
        description="Shown once. The user must choose a new password at their next sign-in."
    )


def _answer(user: User, response: Response) -> UserOut:
    response.headers["ETag"] = etag(user.version)
    return UserOut.of(user)


@router.post("", status_code=201, response_model=UserOut, summary="Create a staff account")
async def create_user(
    body: UserIn, gateway: GatewayDep, actor: Writer, response: Response
) -> UserOut:
    user = await accounts.create_user(
        gateway,
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        roles=body.roles,
        stores=body.stores,
        must_change_password=body.must_change_password,
        actor=actor,
    )
    response.headers["Location"] = f"{router.prefix}/{user.id}"
    return _answer(user, response)


@router.get("", response_model=Page[UserOut], summary="List staff accounts")
async def list_users(
    gateway: GatewayDep,
    actor: Reader,
    page: PageQuery,
    role: Annotated[str | None, Query(max_length=40, examples=["technician"])] = None,
    store: Annotated[str | None, Query(max_length=20, examples=["SH01"])] = None,
    q: Annotated[
        str | None, Query(max_length=80, description="Part of the username or display name.")
    ] = None,
) -> Page[UserOut]:
    rows, next_cursor = await accounts.list_users(
        gateway, actor=actor, page=page, role=role, store=store, q=q
    )
    return Page(items=[UserOut.of(u) for u in rows], next_cursor=next_cursor)


@router.get("/{user_id}", response_model=UserOut, summary="One staff account")
async def get_user(user_id: str, gateway: GatewayDep, actor: Reader, response: Response) -> UserOut:
    return _answer(await accounts.get_user(gateway, user_id=user_id, actor=actor), response)


@router.patch("/{user_id}", response_model=UserOut, summary="Change roles, stores or display name")
async def patch_user(
    user_id: str,
    body: UserPatch,
    expected: IfMatch,
    gateway: GatewayDep,
    actor: Writer,
    response: Response,
) -> UserOut:
    """Needs `If-Match` with the version read (its ETag); 412 when someone changed it since.
    New roles and stores apply from the user's next access token."""
    user = await accounts.assign(
        gateway,
        user_id=user_id,
        expected_version=expected,
        actor=actor,
        roles=body.roles,
        stores=body.stores,
        display_name=body.display_name,
    )
    return _answer(user, response)


@router.post("/{user_id}/disable", response_model=UserOut, summary="Disable an account")
async def disable_user(
    user_id: str, gateway: GatewayDep, actor: Writer, response: Response
) -> UserOut:
    """The user can no longer sign in, and every refresh token of theirs stops working."""
    user = await accounts.set_disabled(gateway, user_id=user_id, disabled=True, actor=actor)
    return _answer(user, response)


@router.post("/{user_id}/enable", response_model=UserOut, summary="Enable an account")
async def enable_user(
    user_id: str, gateway: GatewayDep, actor: Writer, response: Response
) -> UserOut:
    user = await accounts.set_disabled(gateway, user_id=user_id, disabled=False, actor=actor)
    return _answer(user, response)


@router.post("/{user_id}/unlock", response_model=UserOut, summary="Unlock after failed sign-ins")
async def unlock_user(
    user_id: str, gateway: GatewayDep, actor: Writer, response: Response
) -> UserOut:
    user = await accounts.unlock(gateway, user_id=user_id, actor=actor)
    return _answer(user, response)


@router.post(
    "/{user_id}/reset-password",
    response_model=PasswordResetOut,
    summary="Reset a password to a temporary one",
)
async def reset_password(
    user_id: str, gateway: GatewayDep, actor: Writer, response: Response
) -> PasswordResetOut:
    """Answers a temporary password once; the user must change it at the next sign-in. Unlocks
    the account and ends every sign-in of the user."""
    user, temporary = await accounts.reset_password(gateway, user_id=user_id, actor=actor)
    response.headers["Cache-Control"] = "no-store"
    return PasswordResetOut(user=_answer(user, response), temporary_password=temporary)
