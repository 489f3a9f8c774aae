"""The rulebook of staff accounts: password policy, roles and stores, usernames, lock-out; and the
argon2id hasher's verify / rehash behaviour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_gateway.domain.accounts import (
    HQ_ROLES,
    STAFF_ROLES,
    STORE_ROLES,
    LockoutPolicy,
    LoginState,
    after_failure,
    after_success,
    check_assignment,
    check_granter,
    normalise_username,
)
from marque_gateway.domain.passwords import (
    PasswordPolicy,
    check_password,
    password_problems,
)
from marque_gateway.identity.accounts import temporary_password
from marque_gateway.identity.passwords import Passwords
from marque_kit.errors import Forbidden, InvalidInput
from marque_kit.permissions import ROLES

POLICY = PasswordPolicy(min_length=10)
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


# --- passwords ---------------------------------------------------------------------------------


def test_a_good_password_passes() -> None:
    assert password_problems("marque-demo-2026", username="sh.manager", policy=POLICY) == []


@pytest.mark.parametrize(
    ("password", "needle"),
    [
        ("short-1", "at least 10 characters"),
        ("abcdefghijkl", "two kinds of character"),
        ("123456789012", "two kinds of character"),
        ("aaaaaaaaaaaaaaa", "single character"),
        ("Sh.Manager", "username"),
        ("x" * 300 + "1", "at most 256"),
    ],
)
def test_each_broken_rule_is_named(password: str, needle: str) -> None:
    problems = password_problems(password, username="sh.manager", policy=POLICY)
    assert any(needle in p for p in problems), problems


def test_min_length_comes_from_the_policy() -> None:
    assert password_problems("abc-12345", username="u", policy=PasswordPolicy(min_length=8)) == []
    assert password_problems("abc-12345", username="u", policy=PasswordPolicy(min_length=12))


def test_check_password_raises_422_with_one_error_per_rule() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_password("aaaa", username="x", policy=POLICY, field="new_password")
    assert caught.value.http_status == 422
    assert caught.value.errors is not None
    assert {e["field"] for e in caught.value.errors} == {"new_password"}
    assert len(caught.value.errors) == 2  # too short, one character


@given(st.text(alphabet=st.characters(categories=["Ll"]), min_size=1, max_size=40))
def test_one_character_class_never_passes(password: str) -> None:
    assert password_problems(password, username="someone", policy=POLICY)


@given(st.text(min_size=0, max_size=9))
def test_too_short_never_passes(password: str) -> None:
    assert password_problems(password, username="someone", policy=POLICY)


@given(st.integers(min_value=4, max_value=40))
def test_temporary_passwords_always_pass_the_policy(min_length: int) -> None:
    policy = PasswordPolicy(min_length=min_length)
    password = temporary_password(username="sh.manager", policy=policy)
    assert password_problems(password, username="sh.manager", policy=policy) == []


# --- usernames -----------------------------------------------------------------------------------


def test_usernames_are_case_insensitive() -> None:
    assert normalise_username("  SH.Manager ") == "sh.manager"


@pytest.mark.parametrize("bad", ["", ".dot-first", "has space", "a" * 81, "emoji😀", "trailing."])
def test_bad_usernames_are_422(bad: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_username(bad)


# --- roles and stores ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(HQ_ROLES))
def test_hq_roles_need_every_store(role: str) -> None:
    assert check_assignment([role], ["*"]).stores == ("*",)
    with pytest.raises(InvalidInput, match=r'\["\*"\]'):
        check_assignment([role], ["SH01"])
    with pytest.raises(InvalidInput):
        check_assignment([role], [])


@pytest.mark.parametrize("role", STORE_ROLES)
def test_store_roles_need_named_stores(role: str) -> None:
    assert check_assignment([role], ["sh01", "SH01", "HZ01"]).stores == ("SH01", "HZ01")
    with pytest.raises(InvalidInput, match="at least one"):
        check_assignment([role], [])
    with pytest.raises(InvalidInput, match="only for hq_admin"):
        check_assignment([role], ["SH01", "*"])


def test_partner_is_not_a_staff_role() -> None:
    assert "partner" in ROLES and "partner" not in STAFF_ROLES
    with pytest.raises(InvalidInput, match="API keys"):
        check_assignment(["partner"], ["SH01"])


def test_unknown_roles_and_empty_roles_are_refused() -> None:
    with pytest.raises(InvalidInput, match="Unknown role 'ceo'"):
        check_assignment(["ceo"], ["SH01"])
    with pytest.raises(InvalidInput, match="at least one role"):
        check_assignment([], ["SH01"])


def test_hq_and_store_roles_do_not_mix() -> None:
    with pytest.raises(InvalidInput, match="cannot be combined"):
        check_assignment(["hq_analyst", "store_manager"], ["*"])


def test_bad_store_ids_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not valid"):
        check_assignment(["technician"], ["SH 01"])


@given(
    roles=st.lists(st.sampled_from(sorted(ROLES)), min_size=1, max_size=4),
    stores=st.lists(st.sampled_from(["*", "SH01", "HZ01", "BJ01"]), max_size=4),
)
def test_every_accepted_assignment_keeps_the_rules(roles: list[str], stores: list[str]) -> None:
    try:
        result = check_assignment(roles, stores)
    except InvalidInput:
        return
    assert "partner" not in result.roles
    assert all(r in ROLES for r in result.roles)
    if HQ_ROLES.intersection(result.roles):
        assert result.stores == ("*",)
    else:
        assert result.stores and "*" not in result.stores


def test_only_hq_grants_hq_roles_and_others_only_their_stores() -> None:
    hq = check_assignment(["hq_analyst"], ["*"])
    local = check_assignment(["technician"], ["SH01"])
    check_granter(hq, granter_stores=["*"], granter_is_hq=True)
    check_granter(local, granter_stores=["SH01"], granter_is_hq=False)
    with pytest.raises(Forbidden):
        check_granter(hq, granter_stores=["SH01"], granter_is_hq=False)
    with pytest.raises(Forbidden, match="HZ01"):
        check_granter(
            check_assignment(["technician"], ["HZ01"]), granter_stores=["SH01"], granter_is_hq=False
        )


# --- lock-out ------------------------------------------------------------------------------------

LOCKOUT = LockoutPolicy(threshold=3, minutes=15)


def test_the_threshold_failure_locks_until_now_plus_minutes() -> None:
    state = LoginState()
    for _ in range(2):
        state = after_failure(state, now=NOW, policy=LOCKOUT)
        assert not state.is_locked(NOW)
    state = after_failure(state, now=NOW, policy=LOCKOUT)
    assert state.locked_until == NOW + timedelta(minutes=15)
    assert state.is_locked(NOW + timedelta(minutes=14, seconds=59))
    assert not state.is_locked(NOW + timedelta(minutes=15))


def test_success_resets_the_count() -> None:
    state = after_failure(
        after_failure(LoginState(), now=NOW, policy=LOCKOUT), now=NOW, policy=LOCKOUT
    )
    assert state.failed_logins == 2
    assert after_success() == LoginState(0, None)


def test_counting_starts_again_after_a_lock_runs_out() -> None:
    locked = LoginState(failed_logins=3, locked_until=NOW)
    later = NOW + timedelta(minutes=1)
    state = after_failure(locked, now=later, policy=LOCKOUT)
    assert state == LoginState(1, None)


@given(st.lists(st.booleans(), max_size=30))
def test_lock_happens_exactly_after_threshold_consecutive_failures(outcomes: list[bool]) -> None:
    state, streak = LoginState(), 0
    for ok in outcomes:
        if ok:
            state, streak = after_success(), 0
        else:
            state, streak = after_failure(state, now=NOW, policy=LOCKOUT), streak + 1
        assert state.is_locked(NOW) == (streak >= LOCKOUT.threshold)
        assert state.failed_logins == streak


# --- argon2id ------------------------------------------------------------------------------------


def test_argon2id_hash_verify_and_rehash() -> None:
    weak = Passwords(time_cost=1, memory_kib=8192, parallelism=1)
    stronger = Passwords(time_cost=2, memory_kib=8192, parallelism=1)
    hashed = weak.hash("marque-demo-2026")
    assert hashed.startswith("$argon2id$")
    assert "marque-demo-2026" not in hashed
    assert weak.verify(hashed, "marque-demo-2026")
    assert not weak.verify(hashed, "marque-demo-2027")
    assert not weak.verify("not-a-hash", "marque-demo-2026")
    assert not weak.verify(None, "anything")  # unknown user: dummy verify, never true
    assert not weak.needs_rehash(hashed)
    assert stronger.needs_rehash(hashed)
    assert stronger.verify(hashed, "marque-demo-2026")  # old parameters still verify
