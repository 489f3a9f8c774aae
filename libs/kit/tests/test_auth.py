"""The signed internal principal: signing, verification, store visibility and scopes."""

from __future__ import annotations

import dataclasses
import time

import jwt
import pytest

from marque_kit.auth import (
    ISSUER,
    ROLE_SCOPES,
    Principal,
    sign_principal,
    verify_principal,
)
from marque_kit.errors import Forbidden, NotFound, Unauthenticated

SECRET = "internal-secret-for-tests-" + "s" * 32
CONSULTANT = Principal(
    subject="u-wang",
    name="王芳",
    roles=("sales_consultant",),
    stores=("SH01",),
)
HQ = Principal(subject="u-hq", name="Group HQ", roles=("hq_admin",), stores=("*",))


def test_a_signed_principal_verifies_to_the_same_principal() -> None:
    now = time.time()
    token = sign_principal(CONSULTANT, SECRET, ttl_seconds=120, now=now)

    verified = verify_principal(token, SECRET)

    assert verified == dataclasses.replace(CONSULTANT, expires_at=int(now) + 120)
    assert verified.claims["iss"] == ISSUER
    assert verified.label() == "user:u-wang"


def test_a_partner_keeps_its_kind_and_scopes() -> None:
    partner = Principal(
        subject="p-autohome",
        kind="partner",
        name="汽车之家",
        stores=("SH01", "BJ02"),
        scopes=("crm.leads:create",),
    )

    verified = verify_principal(sign_principal(partner, SECRET), SECRET)

    assert verified.kind == "partner"
    assert verified.stores == ("SH01", "BJ02")
    assert verified.scopes == ("crm.leads:create",)
    assert verified.label() == "partner:p-autohome"


def test_an_expired_token_is_refused_naming_the_expiry() -> None:
    token = sign_principal(CONSULTANT, SECRET, ttl_seconds=60, now=time.time() - 3600)

    with pytest.raises(Unauthenticated) as refused:
        verify_principal(token, SECRET)

    assert "expired" in refused.value.detail
    assert refused.value.http_status == 401


def test_a_token_signed_with_another_secret_is_refused() -> None:
    forged = sign_principal(HQ, "attacker-secret-" + "a" * 32)

    with pytest.raises(Unauthenticated) as refused:
        verify_principal(forged, SECRET)

    assert "not valid" in refused.value.detail


def test_a_token_with_a_tampered_payload_is_refused() -> None:
    header, _, signature = sign_principal(CONSULTANT, SECRET).split(".")
    elevated = jwt.encode(
        {"iss": ISSUER, "sub": "u-wang", "stores": ["*"], "exp": int(time.time()) + 60},
        SECRET,
        algorithm="HS256",
    ).split(".")[1]

    with pytest.raises(Unauthenticated):
        verify_principal(f"{header}.{elevated}.{signature}", SECRET)


def test_a_token_from_another_issuer_is_refused() -> None:
    token = jwt.encode(
        {"iss": "someone-else", "sub": "u-1", "exp": int(time.time()) + 60},
        SECRET,
        algorithm="HS256",
    )

    with pytest.raises(Unauthenticated) as refused:
        verify_principal(token, SECRET)

    assert "issuer" in refused.value.detail.lower()


def test_a_token_without_expiry_is_refused() -> None:
    token = jwt.encode({"iss": ISSUER, "sub": "u-1"}, SECRET, algorithm="HS256")

    with pytest.raises(Unauthenticated) as refused:
        verify_principal(token, SECRET)

    assert "exp" in refused.value.detail


def test_an_unsigned_token_is_refused() -> None:
    token = jwt.encode(
        {"iss": ISSUER, "sub": "u-1", "exp": int(time.time()) + 60}, key=None, algorithm="none"
    )

    with pytest.raises(Unauthenticated):
        verify_principal(token, SECRET)


@pytest.mark.parametrize("token", [None, "", "not-a-jwt"])
def test_a_missing_or_garbled_token_is_refused(token: str | None) -> None:
    with pytest.raises(Unauthenticated) as refused:
        verify_principal(token, SECRET)

    if not token:
        assert "X-Marque-Principal" in refused.value.detail
        assert "marque token" in refused.value.detail


def test_hq_sees_every_store() -> None:
    assert HQ.is_hq
    assert HQ.sees_store("SH01")
    assert HQ.sees_store("GZ09")
    assert HQ.store_filter() is None
    HQ.require_store("GZ09")


def test_store_staff_see_only_their_own_stores() -> None:
    staff = Principal(subject="u-2", roles=("inventory_clerk",), stores=("SH01", "SH02"))

    assert not staff.is_hq
    assert staff.sees_store("SH02")
    assert not staff.sees_store("BJ01")
    assert staff.store_filter() == ("SH01", "SH02")


def test_another_stores_row_answers_not_found_rather_than_forbidden() -> None:
    with pytest.raises(NotFound) as hidden:
        CONSULTANT.require_store("BJ01", what="Vehicle LSVAB4")

    assert hidden.value.http_status == 404
    assert hidden.value.detail == "Vehicle LSVAB4 was not found in your stores."
    CONSULTANT.require_store("SH01")


def test_a_principal_without_stores_sees_none() -> None:
    nobody = Principal(subject="u-3", roles=("store_manager",))

    assert not nobody.sees_store("SH01")
    assert nobody.store_filter() == ()


@pytest.mark.parametrize(
    ("granted", "wanted", "allowed"),
    [
        ("inventory.vehicles:read", "inventory.vehicles:read", True),
        ("inventory.vehicles:read", "inventory.vehicles:reserve", False),
        ("*", "finance.journal:post", True),
        ("crm.*", "crm.leads:create", True),
        ("crm.*", "crm.customers:read", True),
        ("crm.*", "crmx.leads:create", False),
        ("crm.*", "sales.quotes:create", False),
        ("inventory.parts:*", "inventory.parts:read", True),
        ("inventory.parts:*", "inventory.parts:consume", True),
        ("inventory.parts:*", "inventory.partsx:read", False),
        ("inventory.parts:*", "inventory.vehicles:read", False),
    ],
)
def test_scope_matching(granted: str, wanted: str, allowed: bool) -> None:
    partner = Principal(subject="p-1", kind="partner", stores=("SH01",), scopes=(granted,))

    assert partner.can(wanted) is allowed


def test_sales_consultant_and_inventory_clerk_have_different_powers() -> None:
    clerk = Principal(subject="u-4", roles=("inventory_clerk",), stores=("SH01",))

    for scope in ("crm.leads:create", "sales.quotes:create", "inventory.vehicles:reserve"):
        assert CONSULTANT.can(scope), scope
    for scope in ("inventory.parts:consume", "inventory.vehicles:receive", "finance.invoices:read"):
        assert not CONSULTANT.can(scope), scope
    for scope in (
        "inventory.parts:consume",
        "inventory.vehicles:receive",
        "inventory.catalog:read",
    ):
        assert clerk.can(scope), scope
    for scope in ("crm.leads:read", "sales.quotes:create", "inventory.catalog:write"):
        assert not clerk.can(scope), scope
    manager = Principal(subject="u-5", roles=("store_manager",), stores=("SH01",))
    assert manager.can("inventory.transfers:write") and manager.can("finance.expenses:approve")
    assert not manager.can("group.keys:write"), "only HQ manages partner keys"
    assert set(ROLE_SCOPES) >= {"hq_analyst", "technician", "partner"}


def test_hq_analyst_reads_everything_and_writes_nothing() -> None:
    analyst = Principal(subject="u-6", roles=("hq_analyst",), stores=("*",))
    assert analyst.can("inventory.vehicles:read") and analyst.can("group.audit:read")
    for scope in ("inventory.vehicles:write", "crm.leads:create", "group.users:write"):
        assert not analyst.can(scope), scope


def test_require_refuses_with_forbidden_naming_the_scope() -> None:
    with pytest.raises(Forbidden) as refused:
        CONSULTANT.require("inventory.parts:consume")

    assert refused.value.http_status == 403
    assert "'inventory.parts:consume'" in refused.value.detail
    CONSULTANT.require("crm.leads:create")


def test_an_unknown_role_grants_nothing() -> None:
    stranger = Principal(subject="u-5", roles=("janitor",), stores=("SH01",))

    assert list(stranger.granted_scopes()) == []
    assert not stranger.can("inventory.catalog:read")


def test_roles_and_partner_scopes_add_up() -> None:
    both = Principal(
        subject="u-6", roles=("parts_clerk",), stores=("SH01",), scopes=("crm.leads:read",)
    )

    assert both.can("inventory.parts:receive")
    assert both.can("crm.leads:read")
    assert not both.can("crm.leads:create")


def test_managers_are_managers_only_of_stores_they_see() -> None:
    manager = Principal(subject="u-7", roles=("store_manager",), stores=("SH01",))
    sales_manager = Principal(subject="u-8", roles=("sales_manager",), stores=("SH01",))

    assert manager.is_manager_of("SH01")
    assert not manager.is_manager_of("BJ01")
    assert sales_manager.is_manager_of("SH01")
    assert not CONSULTANT.is_manager_of("SH01")
    assert HQ.is_manager_of("BJ01")


def test_hq_finance_keeps_every_stores_books_and_administers_nothing() -> None:
    hq_finance = Principal(subject="u-8", roles=("hq_finance",), stores=("*",))
    for scope in (
        "finance.expenses:approve",
        "finance.periods:reopen",
        "reporting.kpis:read",
        "inventory.vehicles:read",
        "pii:read",
    ):
        assert hq_finance.can(scope), scope
    for scope in (
        "inventory.vehicles:write",
        "group.users:read",
        "group.keys:read",
        "crm.leads:read",
    ):
        assert not hq_finance.can(scope), scope


def test_staff_file_their_own_expense_claims_but_do_not_approve_them() -> None:
    for role in ("sales_consultant", "service_advisor", "technician", "parts_clerk"):
        staff = Principal(subject="u-9", roles=(role,), stores=("SH01",))
        assert staff.can("finance.expenses:write") and staff.can("finance.expenses:read"), role
        assert not staff.can("finance.expenses:approve") and not staff.can("finance.invoices:read")


def test_read_anything_does_not_reveal_personal_data() -> None:
    from marque_kit.permissions import grant_matches

    assert grant_matches("*:read", "crm.customers:read")
    assert not grant_matches("*:read", "pii:read")
    assert grant_matches("pii:read", "pii:read") and grant_matches("*", "pii:read")
