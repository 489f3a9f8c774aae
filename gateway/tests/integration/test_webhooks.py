"""Partner webhooks end to end: real events on this run's RabbitMQ, the gateway's intake and
deliverer, and a real local HTTP server standing in for the partner (`webhook_receiver`)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import orjson

from marque_gateway.domain.webhooks import verify_signature
from marque_kit.auth import Principal, sign_principal
from marque_kit.envelope import Envelope

HOOKS = "/api/v1/group/webhooks"
WEBHOOK_SCOPES = ["group.webhooks:read", "group.webhooks:write"]

Headers = dict[str, str]
PartnerKey = Callable[..., Awaitable[tuple[str, Headers]]]


# --- helpers -------------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def vehicle_event(
    store: str,
    *,
    subject: str | None = None,
    seq: int = 1,
    kind: str = "arrived",
    event_id: str | None = None,
) -> tuple[str, Envelope]:
    """(routing key, envelope) of an inventory vehicle event as the inventory relay sends it."""
    vin = subject or unique("VIN")
    envelope = Envelope(
        id=event_id or str(uuid.uuid4()),
        source="marque/inventory",
        type=f"marque.inventory.v1.Vehicle{kind.title()}",
        time=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        data={"vehicle": {"vin": vin, "storeId": store, "version": seq}},
        subject=vin,
        store=store,
        seq=seq,
    )
    return f"inventory.vehicle.{kind}", envelope


async def subscribe(
    client: httpx.AsyncClient,
    headers: Headers,
    url: str,
    event_types: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {"url": url, "event_types": event_types or ["inventory.#"], **extra}
    created = await client.post(HOOKS, json=body, headers=headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def partner(
    partner_key: PartnerKey, stores: list[str], name: str | None = None
) -> tuple[str, Headers]:
    name = name or unique("partner-")
    _, headers = await partner_key(scopes=WEBHOOK_SCOPES, stores=stores, partner=name)
    return name, headers


async def deliveries(
    client: httpx.AsyncClient, headers: Headers, subscription_id: str, **params: Any
) -> list[dict[str, Any]]:
    answer = await client.get(
        f"{HOOKS}/{subscription_id}/deliveries", params=params, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def settled(
    client: httpx.AsyncClient, headers: Headers, delivery_id: str, status: str, within: float = 30
) -> dict[str, Any]:
    """The delivery once it reached `status` (polling the API as a partner would)."""
    deadline = time.monotonic() + within
    while True:
        got = await client.get(f"{HOOKS}/deliveries/{delivery_id}", headers=headers)
        assert got.status_code == 200, got.text
        body = dict(got.json())
        if body["status"] == status:
            return body
        assert time.monotonic() < deadline, f"delivery still {body['status']}: {body}"
        await _sleep(0.1)


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def closed_port() -> int:
    """A port nobody listens on (bound for a moment, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- delivery ------------------------------------------------------------------------------------


async def test_a_partner_receives_a_signed_cloudevent(
    client: httpx.AsyncClient, partner_key: PartnerKey, webhook_receiver: Any, event_bus: Any
) -> None:
    store, hook = unique("S"), unique("signed-")
    _, headers = await partner(partner_key, [store])
    sub = await subscribe(client, headers, webhook_receiver.url(hook), ["inventory.vehicle.*"])
    assert sub["secret"].startswith("whsec_") and sub["stores"] == [store]

    key, envelope = vehicle_event(store)
    await event_bus.publish("inventory", key, envelope.to_json())

    (got,) = await webhook_receiver.wait_for(hook, 1)
    assert got.headers["content-type"] == "application/cloudevents+json"
    assert got.headers["webhook-id"] == envelope.id
    assert got.headers["marque-attempt"] == "1"
    assert verify_signature(sub["secret"], got.headers["marque-signature"], got.body, time.time())
    assert not verify_signature(
        "whsec_not-the-secret", got.headers["marque-signature"], got.body, time.time()
    )
    # A receiver refuses the same request five minutes later: it cannot be replayed.
    assert not verify_signature(
        sub["secret"], got.headers["marque-signature"], got.body, time.time() + 301
    )
    event = got.json()
    assert event["specversion"] == "1.0"
    assert (event["id"], event["type"], event["marquestore"]) == (
        envelope.id,
        "marque.inventory.v1.VehicleArrived",
        store,
    )
    assert event["data"] == envelope.data

    done = await settled(client, headers, got.headers["marque-delivery"], "succeeded")
    assert done["attempts"] == 1 and done["last_status_code"] == 200
    assert done["envelope"]["id"] == envelope.id
    assert [a["status_code"] for a in done["attempt_history"]] == [200]


async def test_a_500_is_retried_with_backoff_until_it_succeeds(
    client: httpx.AsyncClient, partner_key: PartnerKey, webhook_receiver: Any, event_bus: Any
) -> None:
    store, hook = unique("S"), unique("retry-")
    _, headers = await partner(partner_key, [store])
    sub = await subscribe(client, headers, webhook_receiver.url(hook))
    webhook_receiver.plan(hook, [500, 503])

    key, envelope = vehicle_event(store)
    await event_bus.publish("inventory", key, envelope.to_json())

    got = await webhook_receiver.wait_for(hook, 3)
    assert [r.answered for r in got] == [500, 503, 200]
    assert {r.headers["webhook-id"] for r in got} == {envelope.id}
    assert [r.headers["marque-attempt"] for r in got] == ["1", "2", "3"]
    assert len({r.headers["marque-delivery"] for r in got}) == 1
    for r in got:  # every attempt is signed afresh
        assert verify_signature(sub["secret"], r.headers["marque-signature"], r.body, time.time())

    done = await settled(client, headers, got[0].headers["marque-delivery"], "succeeded")
    assert done["attempts"] == 3
    assert [a["status_code"] for a in done["attempt_history"]] == [500, 503, 200]
    assert done["delivered_at"] is not None and done["last_error"] is None


async def test_it_gives_up_after_the_last_attempt_and_a_resend_delivers(
    client: httpx.AsyncClient,
    partner_key: PartnerKey,
    webhook_receiver: Any,
    event_bus: Any,
    gateway_settings: Any,
) -> None:
    store, hook = unique("S"), unique("giveup-")
    _, headers = await partner(partner_key, [store])
    sub = await subscribe(client, headers, webhook_receiver.url(hook))
    max_attempts = gateway_settings.webhook_max_attempts
    webhook_receiver.plan(hook, [500] * max_attempts)

    key, envelope = vehicle_event(store)
    await event_bus.publish("inventory", key, envelope.to_json())
    got = await webhook_receiver.wait_for(hook, max_attempts, within=60)
    delivery_id = got[0].headers["marque-delivery"]

    failed = await settled(client, headers, delivery_id, "failed")
    assert failed["attempts"] == max_attempts
    assert failed["last_status_code"] == 500
    assert "HTTP 500" in failed["last_error"]
    assert len(failed["attempt_history"]) == max_attempts
    assert [d["id"] for d in await deliveries(client, headers, sub["id"], status="failed")] == [
        delivery_id
    ]

    resent = await client.post(f"{HOOKS}/deliveries/{delivery_id}/resend", headers=headers)
    assert resent.status_code == 202, resent.text
    again = await webhook_receiver.wait_for(hook, max_attempts + 1)
    assert again[-1].answered == 200
    assert again[-1].headers["webhook-id"] == envelope.id
    assert again[-1].headers["marque-attempt"] == "1"
    done = await settled(client, headers, delivery_id, "succeeded")
    assert len(done["attempt_history"]) == max_attempts + 1


async def test_events_of_one_subject_arrive_in_order_even_across_a_retry(
    client: httpx.AsyncClient, partner_key: PartnerKey, webhook_receiver: Any, event_bus: Any
) -> None:
    store, hook, vin = unique("S"), unique("order-"), unique("VIN")
    _, headers = await partner(partner_key, [store])
    await subscribe(client, headers, webhook_receiver.url(hook))
    webhook_receiver.plan(hook, [500])  # the first attempt fails

    for seq, kind in ((1, "registered"), (2, "arrived"), (3, "reserved")):
        key, envelope = vehicle_event(store, subject=vin, seq=seq, kind=kind)
        await event_bus.publish("inventory", key, envelope.to_json())

    got = await webhook_receiver.wait_for(hook, 4)
    assert [(r.json()["marqueseq"], r.answered) for r in got] == [
        (1, 500),
        (1, 200),
        (2, 200),
        (3, 200),
    ]


async def test_a_partner_gets_only_events_of_its_stores(
    client: httpx.AsyncClient, partner_key: PartnerKey, webhook_receiver: Any, event_bus: Any
) -> None:
    mine, theirs = unique("S"), unique("S")
    hook_a, hook_b = unique("stores-a-"), unique("stores-b-")
    _, headers_a = await partner(partner_key, [mine])
    _, headers_b = await partner(partner_key, [theirs])
    sub_a = await subscribe(client, headers_a, webhook_receiver.url(hook_a))
    sub_b = await subscribe(client, headers_b, webhook_receiver.url(hook_b))

    key, other_store = vehicle_event(theirs)
    await event_bus.publish("inventory", key, other_store.to_json())
    key, own_store = vehicle_event(mine)
    await event_bus.publish("inventory", key, own_store.to_json())

    (got_b,) = await webhook_receiver.wait_for(hook_b, 1)
    (got_a,) = await webhook_receiver.wait_for(hook_a, 1)
    assert got_a.headers["webhook-id"] == own_store.id
    assert got_b.headers["webhook-id"] == other_store.id
    await _sleep(1.0)  # nothing else comes
    assert len(webhook_receiver.at(hook_a)) == 1
    assert [d["event_id"] for d in await deliveries(client, headers_a, sub_a["id"])] == [
        own_store.id
    ]

    # Neither partner sees the other's subscription or deliveries: 404, not 403.
    assert (await client.get(f"{HOOKS}/{sub_b['id']}", headers=headers_a)).status_code == 404
    their_delivery = got_b.headers["marque-delivery"]
    assert (
        await client.get(f"{HOOKS}/deliveries/{their_delivery}", headers=headers_a)
    ).status_code == 404
    resend = await client.post(f"{HOOKS}/deliveries/{their_delivery}/resend", headers=headers_a)
    assert resend.status_code == 404
    listed = (await client.get(HOOKS, headers=headers_a)).json()["items"]
    assert [s["id"] for s in listed] == [sub_a["id"]]


async def test_the_same_event_twice_is_delivered_once(
    client: httpx.AsyncClient, partner_key: PartnerKey, webhook_receiver: Any, event_bus: Any
) -> None:
    store, hook = unique("S"), unique("dup-")
    _, headers = await partner(partner_key, [store])
    sub = await subscribe(client, headers, webhook_receiver.url(hook))

    key, envelope = vehicle_event(store)
    await event_bus.publish("inventory", key, envelope.to_json())
    await event_bus.publish("inventory", key, envelope.to_json())

    await webhook_receiver.wait_for(hook, 1)
    await _sleep(1.5)
    assert len(webhook_receiver.at(hook)) == 1
    assert len(await deliveries(client, headers, sub["id"])) == 1


async def test_a_malformed_event_is_parked_and_the_intake_goes_on(
    client: httpx.AsyncClient, partner_key: PartnerKey, webhook_receiver: Any, event_bus: Any
) -> None:
    store, hook = unique("S"), unique("malformed-")
    _, headers = await partner(partner_key, [store])
    await subscribe(client, headers, webhook_receiver.url(hook))
    parked_before = await event_bus.broker.parked_count("gateway", "inventory")

    await event_bus.publish("inventory", "inventory.vehicle.arrived", b"{not json")
    no_data = {"specversion": "1.0", "id": str(uuid.uuid4()), "type": "x", "marquestore": store}
    await event_bus.publish("inventory", "inventory.vehicle.arrived", orjson.dumps(no_data))
    key, good = vehicle_event(store)
    await event_bus.publish("inventory", key, good.to_json())

    (got,) = await webhook_receiver.wait_for(hook, 1)
    assert got.headers["webhook-id"] == good.id
    deadline = time.monotonic() + 10
    while await event_bus.broker.parked_count("gateway", "inventory") < parked_before + 2:
        assert time.monotonic() < deadline, "the malformed events were not parked"
        await _sleep(0.1)


async def test_a_partner_that_is_down_costs_attempts_not_requests(
    client: httpx.AsyncClient, partner_key: PartnerKey
) -> None:
    _, headers = await partner(partner_key, [unique("S")])
    sub = await subscribe(client, headers, f"http://127.0.0.1:{closed_port()}/down")
    started = time.monotonic()
    queued = await client.post(f"{HOOKS}/{sub['id']}/test", headers=headers)
    assert queued.status_code == 202, queued.text
    assert time.monotonic() - started < 1.0  # the request path never waits for the partner
    delivery = queued.json()
    assert (delivery["event_type"], delivery["status"]) == ("marque.gateway.v1.Ping", "pending")

    deadline = time.monotonic() + 20
    while True:
        got = (await client.get(f"{HOOKS}/deliveries/{delivery['id']}", headers=headers)).json()
        if len(got["attempt_history"]) >= 2:
            break
        assert time.monotonic() < deadline, got
        await _sleep(0.1)
    assert got["status"] == "pending" and got["next_attempt_at"] is not None
    first = got["attempt_history"][0]
    assert first["status_code"] is None and "Connect" in first["error"]
    assert "Connect" in got["last_error"]
    # Still pending: a resend would only queue it twice.
    again = await client.post(f"{HOOKS}/deliveries/{delivery['id']}/resend", headers=headers)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    # Deactivating stops it: what was pending fails, and the history stays readable.
    assert (await client.delete(f"{HOOKS}/{sub['id']}", headers=headers)).status_code == 204
    stopped = (await client.get(f"{HOOKS}/deliveries/{delivery['id']}", headers=headers)).json()
    assert stopped["status"] == "failed" and "deactivated" in stopped["last_error"]


# --- managing subscriptions ----------------------------------------------------------------------


async def test_ping_rotate_and_the_new_secret_signs(
    client: httpx.AsyncClient, partner_key: PartnerKey, webhook_receiver: Any
) -> None:
    hook = unique("ping-")
    _, headers = await partner(partner_key, [unique("S")])
    sub = await subscribe(client, headers, webhook_receiver.url(hook))
    fetched = await client.get(f"{HOOKS}/{sub['id']}", headers=headers)
    assert fetched.status_code == 200 and "secret" not in fetched.json()
    assert fetched.headers["etag"] == '"1"'

    rotated = await client.post(f"{HOOKS}/{sub['id']}/rotate-secret", headers=headers)
    assert rotated.status_code == 200, rotated.text
    secret = rotated.json()["secret"]
    assert secret != sub["secret"] and rotated.json()["version"] == 2

    ping = await client.post(f"{HOOKS}/{sub['id']}/test", headers=headers)
    assert ping.status_code == 202, ping.text
    (got,) = await webhook_receiver.wait_for(hook, 1)
    assert got.json()["type"] == "marque.gateway.v1.Ping"
    assert got.json()["data"]["subscriptionId"] == sub["id"]
    assert verify_signature(secret, got.headers["marque-signature"], got.body, time.time())
    assert not verify_signature(
        sub["secret"], got.headers["marque-signature"], got.body, time.time()
    )


async def test_patch_needs_the_version_read(
    client: httpx.AsyncClient, partner_key: PartnerKey, webhook_receiver: Any
) -> None:
    _, headers = await partner(partner_key, [unique("S")])
    sub = await subscribe(client, headers, webhook_receiver.url(unique("patch-")))
    url = f"{HOOKS}/{sub['id']}"
    change = {"event_types": ["inventory.transfer.*"], "description": "transfers only"}

    missing = await client.patch(url, json=change, headers=headers)
    assert missing.status_code == 428
    patched = await client.patch(url, json=change, headers={**headers, "If-Match": '"1"'})
    assert patched.status_code == 200, patched.text
    assert patched.json()["event_types"] == ["inventory.transfer.*"]
    assert patched.headers["etag"] == '"2"'
    stale = await client.patch(url, json=change, headers={**headers, "If-Match": '"1"'})
    assert stale.status_code == 412

    bad = await client.patch(
        url, json={"event_types": ["billing.*"]}, headers={**headers, "If-Match": '"2"'}
    )
    assert bad.status_code == 422 and "events come from inventory" in bad.json()["detail"]
    off = await client.patch(url, json={"active": False}, headers={**headers, "If-Match": '"2"'})
    assert off.json()["active"] is False
    assert (await client.post(f"{url}/test", headers=headers)).status_code == 422


async def test_bad_subscriptions_get_a_problem_a_person_can_act_on(
    client: httpx.AsyncClient, partner_key: PartnerKey
) -> None:
    store = unique("S")
    _, headers = await partner(partner_key, [store])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"url": "ftp://x.example.com", "event_types": ["*"]}, "must start with"),
        ({"url": "http://127.0.0.1:1/h", "event_types": ["crm.lead.created"]}, "events come from"),
        ({"url": "http://127.0.0.1:1/h", "event_types": ["*"], "stores": ["BJ01"]}, "BJ01"),
        (
            {"url": "http://127.0.0.1:1/h", "event_types": ["*"], "partner": "someone-else"},
            "Your key belongs to",
        ),
    ]
    for body, says in cases:
        answer = await client.post(HOOKS, json=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert says in answer.json()["detail"]


async def test_permissions_partner_scopes_and_hq(
    client: httpx.AsyncClient,
    partner_key: PartnerKey,
    as_user: Callable[..., Awaitable[Headers]],
    webhook_receiver: Any,
) -> None:
    store = unique("S")
    _, no_scope = await partner_key(scopes=["inventory.vehicles:read"], stores=[store])
    body = {"url": webhook_receiver.url(unique("perm-")), "event_types": ["*"]}
    assert (await client.post(HOOKS, json=body, headers=no_scope)).status_code == 403
    assert (await client.get(HOOKS, headers=no_scope)).status_code == 403
    technician = await as_user(roles=("technician",), stores=("SH01",))
    assert (await client.post(HOOKS, json=body, headers=technician)).status_code == 403

    name, partner_headers = await partner(partner_key, [store])
    own = await subscribe(client, partner_headers, body["url"])

    hq = await as_user(roles=("hq_admin",), stores=("*",))
    needs_partner = await client.post(HOOKS, json=body, headers=hq)
    assert needs_partner.status_code == 422 and "partner" in needs_partner.json()["detail"]
    needs_stores = await client.post(HOOKS, json={**body, "partner": name}, headers=hq)
    assert needs_stores.status_code == 422 and "stores" in needs_stores.json()["detail"]
    by_hq = await subscribe(
        client, hq, body["url"], ["inventory.transfer.*"], partner=name, stores=[store]
    )
    assert by_hq["partner"] == name and by_hq["created_by"].startswith("user:")

    # The partner sees the one HQ made for it; HQ sees the partner's; an analyst reads only.
    mine = (await client.get(HOOKS, headers=partner_headers)).json()["items"]
    assert {s["id"] for s in mine} == {own["id"], by_hq["id"]}
    assert (await client.get(f"{HOOKS}/{own['id']}", headers=hq)).status_code == 200
    analyst = await as_user(roles=("hq_analyst",), stores=("*",))
    listed = await client.get(HOOKS, params={"partner": name}, headers=analyst)
    assert {s["id"] for s in listed.json()["items"]} == {own["id"], by_hq["id"]}
    assert (await client.delete(f"{HOOKS}/{own['id']}", headers=analyst)).status_code == 403
    assert (await client.delete(f"{HOOKS}/{by_hq['id']}", headers=hq)).status_code == 204
    for sub_id in (own["id"], by_hq["id"]):
        await client.delete(f"{HOOKS}/{sub_id}", headers=partner_headers)


async def test_delivery_history_is_cursor_paged_and_filtered(
    client: httpx.AsyncClient, partner_key: PartnerKey, webhook_receiver: Any
) -> None:
    hook = unique("pages-")
    _, headers = await partner(partner_key, [unique("S")])
    sub = await subscribe(client, headers, webhook_receiver.url(hook))
    for _ in range(3):
        assert (await client.post(f"{HOOKS}/{sub['id']}/test", headers=headers)).status_code == 202
    await webhook_receiver.wait_for(hook, 3)

    first = await client.get(
        f"{HOOKS}/{sub['id']}/deliveries", params={"limit": 2}, headers=headers
    )
    assert len(first.json()["items"]) == 2 and first.json()["next_cursor"]
    rest = await client.get(
        f"{HOOKS}/{sub['id']}/deliveries",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=headers,
    )
    ids = [d["id"] for d in first.json()["items"] + rest.json()["items"]]
    assert len(set(ids)) == 3 and rest.json()["next_cursor"] is None
    deadline = time.monotonic() + 10
    while len(await deliveries(client, headers, sub["id"], status="succeeded")) < 3:
        assert time.monotonic() < deadline
        await _sleep(0.1)
    assert await deliveries(client, headers, sub["id"], status="failed") == []
    bad = await client.get(
        f"{HOOKS}/{sub['id']}/deliveries", params={"status": "lost"}, headers=headers
    )
    assert bad.status_code == 422


# --- through the real inventory service ----------------------------------------------------------


async def test_a_vehicle_transfer_in_inventory_reaches_the_partner(
    client: httpx.AsyncClient,
    partner_key: PartnerKey,
    webhook_receiver: Any,
    event_bus: Any,
    inventory_upstream: Any,
    gateway_settings: Any,
) -> None:
    from marque_kit.testing.vins import with_check_digit

    hook = unique("transfer-")
    _, headers = await partner(partner_key, ["SH01"])
    sub = await subscribe(
        client, headers, webhook_receiver.url(hook), ["inventory.transfer.*", "inventory.vehicle.*"]
    )
    vin = with_check_digit(f"LRW3E7FA0TC{uuid.uuid4().int % 1_000_000:06d}")
    hq = Principal(subject="webhook-test", name="HQ test", roles=("hq_admin",), stores=("*",))
    internal = {"X-Marque-Principal": sign_principal(hq, gateway_settings.internal_secret)}
    async with httpx.AsyncClient(base_url=inventory_upstream.url, headers=internal) as inventory:
        created = await inventory.post(
            "/api/v1/inventory/vehicles",
            json={
                "vin": vin,
                "store_id": "SH01",
                "trim_code": "TSL-MY-LR",
                "colour_code": "WHT",
                "model_year": 2026,
                "status": "in_stock",
                "arrived_on": date(2026, 1, 5).isoformat(),
            },
        )
        assert created.status_code == 201, created.text
        asked = await inventory.post(
            "/api/v1/inventory/transfers",
            json={
                "kind": "vehicle",
                "from_store_id": "SH01",
                "to_store_id": "HZ01",
                "vin": vin,
                "reason": "a partner's customer in Hangzhou",
            },
        )
        assert asked.status_code == 201, asked.text
    transfer_id = asked.json()["id"]

    deadline = time.monotonic() + 30
    while True:
        events = [r.json() for r in webhook_receiver.at(hook)]
        types = [e["type"] for e in events if e["subject"] in (vin, transfer_id)]
        if "marque.inventory.v1.TransferRequested" in types:
            break
        assert time.monotonic() < deadline, f"no transfer event yet; got {types}"
        await _sleep(0.2)
    for r in webhook_receiver.at(hook):
        assert verify_signature(sub["secret"], r.headers["marque-signature"], r.body, time.time())
        assert r.json()["marquestore"] == "SH01"
    vehicle_seqs = [e["marqueseq"] for e in events if e["subject"] == vin]
    assert vehicle_seqs == sorted(vehicle_seqs) and vehicle_seqs
