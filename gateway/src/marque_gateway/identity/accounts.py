"""Staff accounts: sign-in, rotating refresh tokens, passwords and administration.

Sign-in (`login`) answers a short-lived access JWT and an opaque refresh token. Refresh tokens
rotate: each one works once and is replaced by a new one of the same *family* (one family per
sign-in). A token presented a second time means it was copied, so the whole family is revoked
and the caller must sign in again (OAuth 2.0 Security BCP §4.14). Only the sha256 of a refresh
token is stored.

Administration (create, assign, disable, reset, unlock, list) sees only the users the caller may
see: HQ sees everyone, a store manager the users of their stores; anyone else is 404.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque_gateway.domain.accounts import (
    LockoutPolicy,
    LoginState,
    after_failure,
    after_success,
    check_assignment,
    check_granter,
    locked_message,
    looks_like_username,
    normalise_username,
)
from marque_gateway.domain.passwords import PasswordPolicy, check_password, password_problems
from marque_gateway.gateway import Gateway
from marque_gateway.identity.passwords import passwords_for
from marque_gateway.identity.tokens import issue_access_token
from marque_gateway.models import RefreshToken, User
from marque_gateway.settings import GatewaySettings
from marque_kit.auth import Principal
from marque_kit.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from marque_kit.http.concurrency import check_version
from marque_kit.http.pagination import PageParams, paginate

WRONG_CREDENTIALS = "The username or password is not right."
REFRESH_NOT_VALID = "The refresh token is not valid; sign in again with your username and password."
REFRESH_EXPIRED = "The refresh token has expired; sign in again with your username and password."
REFRESH_REUSED = (
    "This refresh token was already used once. For safety every session of that sign-in has "
    "been ended; sign in again with your username and password."
)
DISABLED = "This account is disabled; ask your administrator to enable it."
DEMO_IN_PRODUCTION = "demo accounts are refused in production"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    must_change_password: bool
    token_type: str = "bearer"


def _now() -> datetime:
    return datetime.now(UTC)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_user_id() -> str:
    return f"usr_{uuid.uuid4().hex}"


def password_policy(settings: GatewaySettings) -> PasswordPolicy:
    return PasswordPolicy(min_length=settings.password_min_length)


def lockout_policy(settings: GatewaySettings) -> LockoutPolicy:
    return LockoutPolicy(threshold=settings.lockout_threshold, minutes=settings.lockout_minutes)


def display_name_of(user: User) -> str:
    return user.display_name or user.username


def is_locked(user: User, now: datetime | None = None) -> bool:
    return LoginState(user.failed_logins, user.locked_until).is_locked(now or _now())


def _refusal(user: User, settings: GatewaySettings) -> DomainError | None:
    """Why a user with the right password may still not get tokens."""
    if user.disabled:
        return Forbidden(DISABLED)
    if user.is_demo and settings.env == "production":
        return Forbidden(DEMO_IN_PRODUCTION)
    return None


# --- tokens ------------------------------------------------------------------------------------


async def _issue_pair(
    session: AsyncSession,
    user: User,
    settings: GatewaySettings,
    *,
    now: datetime,
    family_id: str | None = None,
) -> TokenPair:
    raw = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            id=uuid.uuid4().hex,
            user_id=user.id,
            family_id=family_id or uuid.uuid4().hex,
            token_hash=token_digest(raw),
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    access, expires_in = issue_access_token(
        user_id=user.id,
        name=display_name_of(user),
        roles=user.roles,
        stores=user.stores,
        settings=settings,
        now=now.timestamp(),
        must_change_password=user.must_change_password,
    )
    return TokenPair(
        access_token=access,
        expires_in=expires_in,
        refresh_token=raw,
        must_change_password=user.must_change_password,
    )


async def _revoke(session: AsyncSession, *conditions: Any, now: datetime) -> int:
    result = await session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.revoked_at).is_(None), *conditions)
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _revoke_user_tokens(session: AsyncSession, user_id: str, *, now: datetime) -> int:
    return await _revoke(session, col(RefreshToken.user_id) == user_id, now=now)


async def login(gateway: Gateway, *, username: str, password: str) -> TokenPair:
    """Tokens for the right username and password; 401 otherwise, 403 when locked or disabled."""
    settings = gateway.settings
    hasher = passwords_for(settings)
    now = _now()
    error: DomainError | None = None
    pair: TokenPair | None = None
    async with gateway.db.session() as session, session.begin():
        user = None
        if looks_like_username(username):
            user = await _user_by_name(session, normalise_username(username), lock=True)
        if user is None:
            await hasher.verify_async(None, password)  # the same work as for a real account
            raise Unauthenticated(WRONG_CREDENTIALS)
        state = LoginState(user.failed_logins, user.locked_until)
        if state.is_locked(now):
            assert user.locked_until is not None
            raise Forbidden(locked_message(user.locked_until), locked_until=user.locked_until)
        if not await hasher.verify_async(user.password_hash, password):
            state = after_failure(state, now=now, policy=lockout_policy(settings))
            user.failed_logins, user.locked_until = state.failed_logins, state.locked_until
            if state.locked_until is not None:
                error = Forbidden(
                    locked_message(state.locked_until), locked_until=state.locked_until
                )
            else:
                error = Unauthenticated(WRONG_CREDENTIALS)
        else:
            refusal = _refusal(user, settings)
            if refusal is not None:
                raise refusal
            state = after_success()
            user.failed_logins, user.locked_until = state.failed_logins, state.locked_until
            user.last_login_at = now
            if hasher.needs_rehash(user.password_hash):
                user.password_hash = await hasher.hash_async(password)
            pair = await _issue_pair(session, user, settings, now=now)
    if error is not None:
        raise error
    assert pair is not None
    return pair


async def refresh(gateway: Gateway, *, refresh_token: str) -> TokenPair:
    """A new pair for a valid refresh token, which is then used up. Reuse revokes the family."""
    settings = gateway.settings
    now = _now()
    error: DomainError | None = None
    pair: TokenPair | None = None
    async with gateway.db.session() as session, session.begin():
        token = (
            await session.execute(
                select(RefreshToken)
                .where(col(RefreshToken.token_hash) == token_digest(refresh_token))
                .with_for_update()
            )
        ).scalar_one_or_none()
        if token is None or token.revoked_at is not None:
            raise Unauthenticated(REFRESH_NOT_VALID)
        family = col(RefreshToken.family_id) == token.family_id
        if token.used_at is not None:
            await _revoke(session, family, now=now)
            error = Unauthenticated(REFRESH_REUSED)
        elif token.expires_at <= now:
            raise Unauthenticated(REFRESH_EXPIRED)
        else:
            user = await session.get(User, token.user_id, with_for_update=True)
            assert user is not None  # refresh_tokens.user_id is a foreign key
            refusal = _refusal(user, settings)
            if refusal is not None:
                await _revoke(session, family, now=now)
                error = refusal
            else:
                token.used_at = now
                pair = await _issue_pair(
                    session, user, settings, now=now, family_id=token.family_id
                )
    if error is not None:
        raise error
    assert pair is not None
    return pair


async def logout(gateway: Gateway, *, user_id: str, refresh_token: str | None = None) -> int:
    """End the sign-in the refresh token belongs to, or, without one, every sign-in of the user.

    Answers how many refresh tokens were revoked. A token of someone else is ignored.
    Access tokens already issued stay valid until they expire (minutes).
    """
    now = _now()
    async with gateway.db.session() as session, session.begin():
        if refresh_token is None:
            return await _revoke_user_tokens(session, user_id, now=now)
        token = (
            await session.execute(
                select(RefreshToken).where(
                    col(RefreshToken.token_hash) == token_digest(refresh_token)
                )
            )
        ).scalar_one_or_none()
        if token is None or token.user_id != user_id:
            return 0
        return await _revoke(session, col(RefreshToken.family_id) == token.family_id, now=now)


async def change_password(
    gateway: Gateway, *, user_id: str, current_password: str, new_password: str
) -> TokenPair:
    """Change one's own password (the current one is needed). Every other sign-in ends; the
    answer is a fresh pair for this one. Wrong current passwords count towards lock-out."""
    settings = gateway.settings
    hasher = passwords_for(settings)
    now = _now()
    error: DomainError | None = None
    pair: TokenPair | None = None
    async with gateway.db.session() as session, session.begin():
        user = await session.get(User, user_id, with_for_update=True)
        if user is None:
            raise Unauthenticated("Your account no longer exists; sign in again.")
        state = LoginState(user.failed_logins, user.locked_until)
        if state.is_locked(now):
            assert user.locked_until is not None
            raise Forbidden(locked_message(user.locked_until), locked_until=user.locked_until)
        refusal = _refusal(user, settings)
        if refusal is not None:
            raise refusal
        if not await hasher.verify_async(user.password_hash, current_password):
            state = after_failure(state, now=now, policy=lockout_policy(settings))
            user.failed_logins, user.locked_until = state.failed_logins, state.locked_until
            if state.locked_until is not None:
                error = Forbidden(
                    locked_message(state.locked_until), locked_until=state.locked_until
                )
            else:
                message = "The current password is not right."
                error = InvalidInput(
                    message,
                    errors=[{"field": "current_password", "location": "body", "message": message}],
                )
        else:
            check_password(
                new_password,
                username=user.username,
                policy=password_policy(settings),
                field="new_password",
            )
            if new_password == current_password:
                message = "The new password must differ from the current one."
                raise InvalidInput(
                    message,
                    errors=[{"field": "new_password", "location": "body", "message": message}],
                )
            user.password_hash = await hasher.hash_async(new_password)
            user.must_change_password = False
            user.password_changed_at = now
            user.failed_logins, user.locked_until = 0, None
            _touch(user, now)
            await _revoke_user_tokens(session, user.id, now=now)
            pair = await _issue_pair(session, user, settings, now=now)
    if error is not None:
        raise error
    assert pair is not None
    return pair


# --- administration ----------------------------------------------------------------------------


def _touch(user: User, now: datetime) -> None:
    user.version += 1
    user.updated_at = now


async def _user_by_name(session: AsyncSession, username: str, *, lock: bool = False) -> User | None:
    stmt = select(User).where(col(User.username) == username)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


# The ARRAY columns, typed loosely: their comparators (overlap, contains) are PostgreSQL's.
_USER_STORES: Any = col(User.stores)
_USER_ROLES: Any = col(User.roles)


def visible_users(stmt: Select[Any], actor: Principal) -> Select[Any]:
    """HQ sees every user; anyone else the users who work in one of their stores."""
    stores = actor.store_filter()
    if stores is None:
        return stmt
    return stmt.where(_USER_STORES.overlap(list(stores)))


async def _visible_user(
    session: AsyncSession, user_id: str, actor: Principal, *, lock: bool = False
) -> User:
    stmt = visible_users(select(User).where(col(User.id) == user_id), actor)
    if lock:
        stmt = stmt.with_for_update()
    user = (await session.execute(stmt)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"User {user_id} was not found in your stores.")
    return user


async def create_user(
    gateway: Gateway,
    *,
    username: str,
    password: str,
    roles: Sequence[str],
    stores: Sequence[str],
    display_name: str = "",
    must_change_password: bool = True,
    is_demo: bool = False,
    actor: Principal | None = None,
) -> User:
    """A new staff account; 422 for a bad username, password or role/store set, 409 if taken."""
    settings = gateway.settings
    name = normalise_username(username)
    assignment = check_assignment(roles, stores)
    if actor is not None:
        check_granter(assignment, granter_stores=actor.stores, granter_is_hq=actor.is_hq)
    check_password(password, username=name, policy=password_policy(settings))
    now = _now()
    user = User(
        id=new_user_id(),
        username=name,
        display_name=display_name.strip(),
        password_hash=await passwords_for(settings).hash_async(password),
        roles=list(assignment.roles),
        stores=list(assignment.stores),
        is_demo=is_demo,
        must_change_password=must_change_password,
        password_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    taken = AlreadyExists(f"The username {name!r} is taken; choose another.", username=name)
    async with gateway.db.session() as session, session.begin():
        if await _user_by_name(session, name) is not None:
            raise taken
        session.add(user)
        try:
            await session.flush()
        except IntegrityError as exc:  # a concurrent create of the same name
            raise taken from exc
    return user


async def get_user(gateway: Gateway, *, user_id: str, actor: Principal) -> User:
    async with gateway.db.session() as session:
        return await _visible_user(session, user_id, actor)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_users(
    gateway: Gateway,
    *,
    actor: Principal,
    page: PageParams,
    role: str | None = None,
    store: str | None = None,
    q: str | None = None,
) -> tuple[list[User], str | None]:
    """The users the actor may see, by username, filtered by role, store and a search text."""
    stmt = visible_users(select(User), actor)
    if role:
        stmt = stmt.where(_USER_ROLES.contains([role]))
    if store:
        stmt = stmt.where(_USER_STORES.contains([store.strip().upper()]))
    if q and q.strip():
        pattern = _like(q.strip())
        stmt = stmt.where(
            or_(
                col(User.username).ilike(pattern, escape="\\"),
                col(User.display_name).ilike(pattern, escape="\\"),
            )
        )
    async with gateway.db.session() as session:
        rows, next_cursor = await paginate(
            session, stmt, page, order=(col(User.username), col(User.id))
        )
    return rows, next_cursor


async def assign(
    gateway: Gateway,
    *,
    user_id: str,
    expected_version: int,
    actor: Principal,
    roles: Sequence[str] | None = None,
    stores: Sequence[str] | None = None,
    display_name: str | None = None,
) -> User:
    """Change a user's roles, stores or display name; 412 when `expected_version` is stale.

    New roles and stores take effect at the user's next token (within the access token's TTL).
    """
    now = _now()
    async with gateway.db.session() as session, session.begin():
        user = await _visible_user(session, user_id, actor, lock=True)
        check_version(user.version, expected_version)
        if roles is not None or stores is not None:
            assignment = check_assignment(
                user.roles if roles is None else roles, user.stores if stores is None else stores
            )
            check_granter(assignment, granter_stores=actor.stores, granter_is_hq=actor.is_hq)
            if (
                actor.subject == user.id
                and "hq_admin" in user.roles
                and "hq_admin" not in assignment.roles
            ):
                raise Conflict(
                    "You cannot take the hq_admin role from yourself; ask another administrator."
                )
            user.roles, user.stores = list(assignment.roles), list(assignment.stores)
        if display_name is not None:
            user.display_name = display_name.strip()
        _touch(user, now)
    return user


async def set_disabled(gateway: Gateway, *, user_id: str, disabled: bool, actor: Principal) -> User:
    """Disable (every sign-in ends at once) or enable an account."""
    now = _now()
    async with gateway.db.session() as session, session.begin():
        user = await _visible_user(session, user_id, actor, lock=True)
        if disabled and actor.subject == user.id:
            raise Conflict("You cannot disable your own account; ask another administrator.")
        if user.disabled != disabled:
            user.disabled = disabled
            _touch(user, now)
        if disabled:
            await _revoke_user_tokens(session, user.id, now=now)
    return user


async def unlock(gateway: Gateway, *, user_id: str, actor: Principal) -> User:
    """Clear a lock-out and the count of failed sign-ins."""
    now = _now()
    async with gateway.db.session() as session, session.begin():
        user = await _visible_user(session, user_id, actor, lock=True)
        if user.failed_logins or user.locked_until is not None:
            user.failed_logins, user.locked_until = 0, None
            _touch(user, now)
    return user


_TEMPORARY_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


def temporary_password(*, username: str, policy: PasswordPolicy) -> str:
    """A random password the policy accepts, in groups of four: `Kx7m-Pq2r-9TbN-w4Zc`."""
    groups = max(4, -(-(policy.min_length + 1) // 5))  # 5 * groups - 1 characters
    while True:
        candidate = "-".join(
            "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(4)) for _ in range(groups)
        )
        if not password_problems(candidate, username=username, policy=policy):
            return candidate


async def reset_password(gateway: Gateway, *, user_id: str, actor: Principal) -> tuple[User, str]:
    """Give the user a temporary password (answered once), to be changed at next sign-in.

    Unlocks the account and ends every sign-in of the user.
    """
    settings = gateway.settings
    policy = password_policy(settings)
    now = _now()
    async with gateway.db.session() as session, session.begin():
        user = await _visible_user(session, user_id, actor, lock=True)
        temporary = temporary_password(username=user.username, policy=policy)
        user.password_hash = await passwords_for(settings).hash_async(temporary)
        user.must_change_password = True
        user.password_changed_at = now
        user.failed_logins, user.locked_until = 0, None
        _touch(user, now)
        await _revoke_user_tokens(session, user.id, now=now)
    return user, temporary
