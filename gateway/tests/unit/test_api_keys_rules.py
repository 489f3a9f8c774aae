"""The rulebook of partner API keys: key strings, scopes, stores, limits, expiry, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_gateway.domain import api_keys as rules
from marque_kit.errors import InvalidInput, Unauthenticated

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@given(
    key_id=st.from_regex(r"[a-z0-9][a-z0-9-]{2,39}", fullmatch=True),
    secret=st.from_regex(r"[A-Za-z0-9_-]{16,80}", fullmatch=True),
)
def test_a_formatted_key_parses_back_even_when_its_secret_holds_underscores(
    key_id: str, secret: str
) -> None:
    assert rules.parse_key(rules.format_key(key_id, secret)) == (key_id, secret)


@pytest.mark.parametrize(
    "raw",
    [
        "sk_abc_" + "x" * 30,  # another vendor's prefix
        "mq_" + "x" * 30,  # no separator
        "mq_abcdef_short",  # secret too short
        "mq_AB CD_" + "x" * 30,  # key id with a space and capitals
        "mq__" + "x" * 30,  # empty key id
        "mq_abcdef_" + "x" * 20 + " ",  # whitespace inside the secret
    ],
)
def test_malformed_keys_are_refused_as_401(raw: str) -> None:
    with pytest.raises(Unauthenticated):
        rules.parse_key(raw)


@pytest.mark.parametrize(
    "scope",
    [
        "inventory.vehicles:read",
        "crm.leads:create",
        "crm.leads:*",
        "aftersales.repair_orders:read",
        "group.webhooks:write",
        "group.webhooks:read",
    ],
)
def test_grantable_scopes(scope: str) -> None:
    assert rules.scope_problem(scope) is None


@pytest.mark.parametrize(
    ("scope", "why"),
    [
        ("*", "not a scope"),
        ("*:read", "not a scope"),
        ("crm.*", "not a scope"),
        ("reporting.*:read", "not a scope"),
        ("inventory.vehicles", "not a scope"),
        ("Inventory.Vehicles:Read", "not a scope"),
        ("warehouse.bins:read", "no Marque service"),
        ("group.users:write", "staff-only"),
        ("group.keys:read", "staff-only"),
        ("group.audit:read", "staff-only"),
    ],
)
def test_wildcards_unknown_services_and_staff_scopes_are_refused(scope: str, why: str) -> None:
    problem = rules.scope_problem(scope)
    assert problem is not None and why in problem


def test_validate_scopes_names_every_bad_scope_and_drops_duplicates() -> None:
    assert rules.validate_scopes([" crm.leads:create", "crm.leads:create"]) == ["crm.leads:create"]
    with pytest.raises(InvalidInput) as refused:
        rules.validate_scopes(["crm.leads:create", "*", "group.users:write"])
    assert "'*'" in refused.value.detail and "group.users:write" in refused.value.detail
    assert len(refused.value.errors or []) == 2
    with pytest.raises(InvalidInput):
        rules.validate_scopes([])


def test_a_partner_never_holds_every_store() -> None:
    assert rules.validate_stores(["SH01", "HZ01", "SH01"]) == ["SH01", "HZ01"]
    for stores in (["*"], ["SH01", "*"], [], ["SH 01"]):
        with pytest.raises(InvalidInput):
            rules.validate_stores(stores)


def test_rate_limit_and_partner_name() -> None:
    assert rules.validate_rate_limit(3) == 3
    for bad in (0, -1, rules.MAX_RATE_LIMIT + 1):
        with pytest.raises(InvalidInput):
            rules.validate_rate_limit(bad)
    assert rules.validate_partner(" AutoHome ") == "autohome"
    with pytest.raises(InvalidInput):
        rules.validate_partner("a")


def test_expiry_is_in_the_future_with_a_zone_and_not_too_far() -> None:
    assert rules.validate_expiry(None, now=NOW) is None
    soon = NOW + timedelta(days=30)
    assert rules.validate_expiry(soon, now=NOW) == soon
    for bad in (
        NOW - timedelta(seconds=1),
        NOW,
        datetime(2027, 1, 1),  # no zone
        NOW + timedelta(days=rules.MAX_LIFETIME_DAYS + 1),
    ):
        with pytest.raises(InvalidInput):
            rules.validate_expiry(bad, now=NOW)


def test_refusal_names_why() -> None:
    def refusal(**kw: object) -> str | None:
        args: dict[str, object] = {
            "key_id": "k1",
            "revoked_at": None,
            "expires_at": None,
            "rotated_to": None,
            "now": NOW,
        }
        args.update(kw)
        return rules.refusal(**args)  # type: ignore[arg-type]

    assert refusal() is None
    assert refusal(expires_at=NOW + timedelta(seconds=1)) is None
    assert "expired" in (refusal(expires_at=NOW) or "")
    assert "revoked" in (refusal(revoked_at=NOW - timedelta(hours=1)) or "")
    # A rotated key works until its grace period ends, then names its replacement.
    assert refusal(revoked_at=NOW + timedelta(hours=1), rotated_to="k2") is None
    rotated = refusal(revoked_at=NOW, rotated_to="k2") or ""
    assert "rotated" in rotated and "k2" in rotated


def test_rotation_cutoff() -> None:
    assert rules.rotation_cutoff(NOW, 24) == NOW + timedelta(hours=24)
    assert rules.rotation_cutoff(NOW, 0) == NOW
    assert rules.rotation_cutoff(NOW, -5) == NOW
