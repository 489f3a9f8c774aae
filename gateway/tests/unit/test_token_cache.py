"""Verified access tokens are remembered only until they expire, and only for their own secret."""

from __future__ import annotations

import time

import pytest

from marque_gateway.identity.tokens import issue_access_token, verify_access_token
from marque_gateway.settings import GatewaySettings
from marque_kit.errors import Unauthenticated


def settings(**overrides: object) -> GatewaySettings:
    return GatewaySettings(env="test", **overrides)  # type: ignore[arg-type]


def test_a_remembered_token_still_expires() -> None:
    short = settings(access_token_ttl_seconds=1)
    token, _ = issue_access_token(
        user_id="u-1", name="Wu Jie", roles=("inventory_clerk",), stores=("SH01",), settings=short
    )
    assert verify_access_token(token, short).subject == "u-1"
    assert verify_access_token(token, short).stores == ("SH01",)  # the remembered answer

    time.sleep(1.1)
    with pytest.raises(Unauthenticated):
        verify_access_token(token, short)


def test_a_token_verified_under_one_secret_is_not_trusted_under_another() -> None:
    first = settings(jwt_secret="a" * 40)
    token, _ = issue_access_token(
        user_id="u-2", name="Li Na", roles=("sales_manager",), stores=("SH01",), settings=first
    )
    assert verify_access_token(token, first).subject == "u-2"

    with pytest.raises(Unauthenticated):
        verify_access_token(token, settings(jwt_secret="b" * 40))
