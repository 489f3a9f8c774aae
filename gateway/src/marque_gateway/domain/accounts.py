"""The rulebook for staff accounts: usernames, who may hold which roles in which stores, and
lock-out after repeated failed sign-ins.

Roles and stores
- every role must be one of the roles in `marque_kit.permissions.ROLES`, and `partner` is not a
  staff role (partners sign in with API keys);
- HQ roles (`hq_admin`, `hq_analyst`, `hq_finance`) work across the group: their stores are
  exactly `["*"]`;
- store roles work in named stores: at least one, and never `*`;
- so an HQ role and a store role cannot be held together;
- someone who is not HQ may only hand out store roles in their own stores.

Lock-out
- `threshold` failed sign-ins in a row lock the account until `minutes` later;
- a successful sign-in (or an administrator's unlock or password reset) clears the count;
- once a lock has run out, counting starts again from zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from marque_kit.errors import Forbidden, InvalidInput
from marque_kit.permissions import ROLES

ALL_STORES = "*"
HQ_ROLES = frozenset({"hq_admin", "hq_analyst", "hq_finance"})
NON_STAFF_ROLES = frozenset({"partner"})
STAFF_ROLES = tuple(role for role in ROLES if role not in NON_STAFF_ROLES)
STORE_ROLES = tuple(role for role in STAFF_ROLES if role not in HQ_ROLES)

USERNAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,78}[a-z0-9])?$")
STORE_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field, "location": "body", "message": message}])


def normalise_username(raw: str) -> str:
    """Usernames are case-insensitive: kept lower-case, 1-80 of a-z 0-9 . _ -."""
    username = raw.strip().lower()
    if not USERNAME.match(username):
        raise _invalid(
            "username",
            f"The username {raw.strip()[:80]!r} is not valid: use 1 to 80 letters, digits, dots, "
            "dashes or underscores, starting and ending with a letter or digit (e.g. sh.manager).",
        )
    return username


def looks_like_username(raw: str) -> bool:
    return bool(USERNAME.match(raw.strip().lower()))


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


@dataclass(frozen=True)
class Assignment:
    """A valid set of roles and the stores they apply to."""

    roles: tuple[str, ...]
    stores: tuple[str, ...]

    @property
    def is_hq(self) -> bool:
        return self.stores == (ALL_STORES,)


def check_assignment(roles: Iterable[str], stores: Iterable[str]) -> Assignment:
    """The roles and stores, cleaned (trimmed, de-duplicated, store ids upper-case), or 422."""
    role_list = _unique(r.strip() for r in roles)
    store_list = _unique(s.strip().upper() for s in stores)
    if not role_list:
        raise _invalid("roles", f"Give the user at least one role: {', '.join(STAFF_ROLES)}.")
    unknown = [r for r in role_list if r not in ROLES]
    if unknown:
        raise _invalid(
            "roles",
            f"Unknown role {', '.join(map(repr, unknown))}; the roles are: "
            f"{', '.join(STAFF_ROLES)}.",
        )
    if NON_STAFF_ROLES.intersection(role_list):
        raise _invalid(
            "roles",
            "'partner' is not a staff role: partners use API keys (POST /api/v1/group/keys).",
        )
    hq = [r for r in role_list if r in HQ_ROLES]
    local = [r for r in role_list if r not in HQ_ROLES]
    if hq and local:
        raise _invalid(
            "roles",
            f"HQ roles ({', '.join(hq)}) work across every store and cannot be combined with "
            f"store roles ({', '.join(local)}); create a separate account.",
        )
    if hq:
        if store_list != (ALL_STORES,):
            raise _invalid(
                "stores", f'{", ".join(hq)} works across the group: set stores to ["*"].'
            )
        return Assignment(roles=role_list, stores=store_list)
    if ALL_STORES in store_list:
        raise _invalid(
            "stores",
            '"*" (every store) is only for hq_admin, hq_analyst and hq_finance; name the stores '
            "this person works in, e.g. SH01.",
        )
    if not store_list:
        raise _invalid(
            "stores", f"{', '.join(local)} works in a store: name at least one, e.g. SH01."
        )
    bad = [s for s in store_list if not STORE_ID.match(s)]
    if bad:
        raise _invalid(
            "stores",
            f"Store id {', '.join(map(repr, bad))} is not valid: use the store code, e.g. SH01.",
        )
    return Assignment(roles=role_list, stores=store_list)


def check_granter(
    assignment: Assignment, *, granter_stores: Iterable[str], granter_is_hq: bool
) -> None:
    """Only HQ hands out HQ roles; others only store roles in the stores they see themselves."""
    if granter_is_hq:
        return
    if assignment.is_hq:
        raise Forbidden("Only HQ can grant the HQ roles (hq_admin, hq_analyst, hq_finance).")
    outside = sorted(set(assignment.stores) - set(granter_stores))
    if outside:
        raise Forbidden(
            f"You can only grant roles in your own stores; not in {', '.join(outside)}."
        )


# --- lock-out ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5
    minutes: int = 15


@dataclass(frozen=True)
class LoginState:
    """The part of an account that counts failed sign-ins."""

    failed_logins: int = 0
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def after_failure(state: LoginState, *, now: datetime, policy: LockoutPolicy) -> LoginState:
    """One more failed sign-in; the one that reaches the threshold locks the account."""
    lock_ran_out = state.locked_until is not None and now >= state.locked_until
    failures = (0 if lock_ran_out else state.failed_logins) + 1
    if failures >= policy.threshold:
        return LoginState(failures, now + timedelta(minutes=policy.minutes))
    return LoginState(failures, None)


def after_success() -> LoginState:
    """A successful sign-in, an unlock or a password reset: nothing counts any more."""
    return LoginState(0, None)


def locked_message(locked_until: datetime) -> str:
    return (
        "This account is locked after too many failed sign-ins. It unlocks by itself at "
        f"{locked_until:%Y-%m-%d %H:%M} UTC, or an administrator can unlock it now."
    )
