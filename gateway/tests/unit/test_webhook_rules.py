"""The webhook rulebook: pattern matching, store filtering, signatures, backoff and states."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marque_gateway.domain import webhooks as rules
from marque_gateway.domain.webhooks import DeliveryStatus
from marque_gateway.webhooks.secrets import decrypt_secret, encrypt_secret, new_secret
from marque_kit.errors import Conflict, InvalidInput

SOURCES = ["inventory", "crm"]


# --- event types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("inventory.transfer.*", "inventory.transfer.approved", True),
        ("inventory.transfer.*", "inventory.transfer", False),
        ("inventory.transfer.*", "inventory.transfer.approved.late", False),
        ("inventory.transfer.*", "inventory.vehicle.arrived", False),
        ("inventory.vehicle.arrived", "inventory.vehicle.arrived", True),
        ("inventory.vehicle.arrived", "inventory.vehicle.sold", False),
        ("inventory.#", "inventory.alert.safety_stock_breached", True),
        ("inventory.#", "inventory", True),
        ("inventory.#", "crm.lead.created", False),
        ("*.vehicle.*", "inventory.vehicle.sold", True),
        ("inventory.#.sold", "inventory.vehicle.sold", True),
        ("inventory.#.sold", "inventory.sold", True),
        ("*", "crm.lead.created", True),
        ("#", "inventory.part.received", True),
    ],
)
def test_topic_matching_follows_amqp(pattern: str, key: str, expected: bool) -> None:
    assert rules.topic_matches(pattern, key) is expected


@given(st.lists(st.sampled_from(["inventory", "vehicle", "part", "sold", "x_1"]), min_size=1))
def test_a_routing_key_matches_itself_and_hash(words: list[str]) -> None:
    key = ".".join(words)
    assert rules.topic_matches(key, key)
    assert rules.topic_matches(words[0] + ".#", key)


def test_event_types_are_cleaned_and_deduplicated() -> None:
    got = rules.validate_event_types(
        [" Inventory.Transfer.* ", "inventory.transfer.*", "#", "crm.lead.created"], SOURCES
    )
    assert got == ["inventory.transfer.*", "*", "crm.lead.created"]


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("billing.invoice.paid", "events come from crm, inventory"),
        ("inventory..sold", "words of a-z"),
        ("inventory.vehicle.So ld", "words of a-z"),
        ("", "words of a-z"),
    ],
)
def test_bad_patterns_are_refused_with_a_reason(pattern: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.validate_event_types([pattern], SOURCES)
    assert says in caught.value.detail


def test_at_least_one_and_at_most_fifty_event_types() -> None:
    with pytest.raises(InvalidInput, match="at least one"):
        rules.validate_event_types([], SOURCES)
    with pytest.raises(InvalidInput, match="at most 50"):
        rules.validate_event_types([f"inventory.vehicle.e{n}" for n in range(51)], SOURCES)


# --- stores --------------------------------------------------------------------------------------


def test_a_partner_receives_only_events_of_its_stores() -> None:
    def receives(stores: list[str], store_id: str) -> bool:
        return rules.receives(
            event_types=["inventory.#"],
            stores=stores,
            routing_key="inventory.vehicle.arrived",
            store_id=store_id,
        )

    assert receives(["SH01", "HZ01"], "SH01")
    assert not receives(["SH01", "HZ01"], "BJ01")
    assert not receives(["SH01"], "")  # an event of no store is not provably theirs
    assert receives(["*"], "BJ01")
    assert receives(["*"], "")


def test_subscription_stores_default_to_the_keys_and_stay_inside_them() -> None:
    assert rules.validate_stores(None, ["SH01", "HZ01"]) == ["SH01", "HZ01"]
    assert rules.validate_stores(["HZ01"], ["SH01", "HZ01"]) == ["HZ01"]
    assert rules.validate_stores(["BJ01", "*"], ["*"]) == ["*"]
    with pytest.raises(InvalidInput, match="BJ01 is not among them"):
        rules.validate_stores(["BJ01"], ["SH01"])
    with pytest.raises(InvalidInput, match="is not among them"):
        rules.validate_stores(["*"], ["SH01"])
    with pytest.raises(InvalidInput, match="at least one store"):
        rules.validate_stores([" "], ["SH01"])


# --- URLs ----------------------------------------------------------------------------------------


def test_production_requires_https_to_a_public_host() -> None:
    ok = "https://hooks.partner.example.com/marque"
    assert rules.validate_url(ok, production=True) == ok
    for bad in (
        "http://hooks.partner.example.com/marque",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://localhost:8443/hook",
        "ftp://example.com/x",
    ):
        with pytest.raises(InvalidInput):
            rules.validate_url(bad, production=True)


def test_dev_and_test_allow_plain_http_to_a_local_server() -> None:
    assert rules.validate_url("http://127.0.0.1:9000/hook", production=False)
    with pytest.raises(InvalidInput, match="credentials"):
        rules.validate_url("https://user:pw@example.com/hook", production=False)
    with pytest.raises(InvalidInput, match="no host"):
        rules.validate_url("https:///hook", production=False)


# --- signatures ----------------------------------------------------------------------------------


def test_a_signed_body_verifies_and_a_changed_one_does_not() -> None:
    secret, body, t = "whsec_test", b'{"id":"1","type":"x"}', 1_760_000_000
    header = rules.signature_header(secret, body, t)
    assert header.startswith(f"t={t},v1=")
    assert rules.verify_signature(secret, header, body, now=t + 10)
    assert rules.verify_signature(secret, header, body.decode(), now=t + 10)
    assert not rules.verify_signature(secret, header, body + b" ", now=t + 10)
    assert not rules.verify_signature("whsec_other", header, body, now=t + 10)


def test_an_old_or_future_signature_is_a_replay() -> None:
    secret, body, t = "whsec_test", b"{}", 1_760_000_000
    header = rules.signature_header(secret, body, t)
    assert rules.verify_signature(secret, header, body, now=t + 300)
    assert not rules.verify_signature(secret, header, body, now=t + 301)
    assert not rules.verify_signature(secret, header, body, now=t - 301)
    assert rules.verify_signature(secret, header, body, now=t + 3000, tolerance=3600)


def test_a_forged_timestamp_breaks_the_signature() -> None:
    secret, body, t = "whsec_test", b"{}", 1_760_000_000
    signature = rules.compute_signature(secret, t, body)
    assert not rules.verify_signature(secret, f"t={t + 600},v1={signature}", body, now=t + 600)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1760000000", "garbage"])
def test_malformed_signature_headers_fail_closed(header: str) -> None:
    assert not rules.verify_signature("whsec_test", header, b"{}", now=1_760_000_000)


def test_any_of_several_v1_signatures_may_match() -> None:
    body, t = b"{}", 1_760_000_000
    good = rules.compute_signature("whsec_new", t, body)
    header = f"t={t},v1={'0' * 64},v1={good}"
    assert rules.verify_signature("whsec_new", header, body, now=t)


# --- secrets -------------------------------------------------------------------------------------


def test_secrets_are_random_and_round_trip_encrypted() -> None:
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_") and len(a) >= 6 + 43
    token = encrypt_secret(a, "k" * 40)
    assert a.encode() not in token
    assert decrypt_secret(token, "k" * 40) == a
    with pytest.raises(RuntimeError, match="WEBHOOK_KEY"):
        decrypt_secret(token, "another key entirely, 40 characters long")


# --- backoff and states --------------------------------------------------------------------------


def test_backoff_doubles_then_caps() -> None:
    plain = [rules.backoff_seconds(n, base=10, cap=3600, jitter=0.5) for n in range(1, 12)]
    assert plain[:5] == [10, 20, 40, 80, 160]
    assert plain[-1] == 3600
    assert plain == sorted(plain)


@given(st.integers(1, 40), st.floats(0, 1, exclude_max=True))
def test_jitter_stays_within_a_fifth_and_under_the_cap(n: int, jitter: float) -> None:
    plain = min(3600.0, 10 * 2 ** (n - 1))
    got = rules.backoff_seconds(n, base=10, cap=3600, jitter=jitter)
    assert plain * 0.8 - 1e-9 <= got <= min(3600.0, plain * 1.2) + 1e-9


def _after(attempts: int, status: int | None, max_attempts: int = 3) -> rules.AttemptOutcome:
    return rules.after_attempt(
        attempts_made=attempts,
        status_code=status,
        max_attempts=max_attempts,
        base=1,
        cap=60,
        jitter=0.5,
    )


def test_a_2xx_succeeds_anything_else_retries_then_fails() -> None:
    assert _after(1, 200).status is DeliveryStatus.SUCCEEDED
    assert _after(3, 204).status is DeliveryStatus.SUCCEEDED
    retry = _after(1, 500)
    assert retry.status is DeliveryStatus.PENDING and retry.retry_in_seconds == 1
    assert _after(2, None).retry_in_seconds == 2
    assert _after(2, 301).status is DeliveryStatus.PENDING  # redirects are not followed
    assert _after(3, 500) == rules.AttemptOutcome(DeliveryStatus.FAILED)
    assert _after(3, None).status is DeliveryStatus.FAILED


def test_resend_reopens_a_finished_delivery_only() -> None:
    assert rules.resend("failed") is DeliveryStatus.PENDING
    assert rules.resend("succeeded") is DeliveryStatus.PENDING
    with pytest.raises(Conflict, match="still pending"):
        rules.resend("pending")
