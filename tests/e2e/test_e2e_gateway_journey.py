"""Journey through the gateway only: staff sign in, the OEM's allocation arrives, Hangzhou finds
a car group-wide, asks Shanghai for it (调拨), Shanghai approves and ships, Hangzhou receives it,
and a partner who subscribed to transfer events receives each one at its webhook, signed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import httpx
import pytest
from e2e_support import Caller, ServiceProcess, WebhookReceiver, new_vin, sign_in

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "marque-demo-2026"
# The demo partner key from `marque seed gateway` (README; refused in production).
DEMO_PARTNER_KEY = "mq_demo-autohome_LocalDemoOnlyNotForProduction026"
TRANSFER_EVENTS = ("TransferRequested", "TransferApproved", "TransferShipped", "TransferReceived")


def verify_marque_signature(secret: str, header: str, body: bytes, tolerance: int = 300) -> None:
    """What a partner does on its side (docs/webhooks.md): t=<unix>,v1=<hex hmac>."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    assert abs(time.time() - timestamp) <= tolerance, "stale signature"
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(expected.hexdigest(), parts["v1"]), "bad signature"


async def step(
    http: httpx.AsyncClient, who: dict[str, str], transfer: dict[str, Any], action: str
) -> dict[str, Any]:
    done = await http.post(
        f"/api/v1/inventory/transfers/{transfer['id']}/{action}",
        headers={**who, "If-Match": f'"{transfer["version"]}"'},
        json={},
    )
    assert done.status_code == 200, done.text
    body: dict[str, Any] = done.json()
    return body


async def test_allocation_search_transfer_and_partner_webhooks_through_the_gateway(
    http: httpx.AsyncClient,
    gateway_service: ServiceProcess,
    sh01_manager: Caller,
    hz01_manager: Caller,
    webhook_receiver: WebhookReceiver,
) -> None:
    clerk = {"Authorization": f"Bearer {await sign_in(http, 'sh.stock', DEMO_PASSWORD)}"}
    partner = {"X-API-Key": DEMO_PARTNER_KEY}

    # The partner subscribes to transfer events; the secret is shown once.
    subscribed = await http.post(
        "/api/v1/group/webhooks",
        headers=partner,
        json={"url": webhook_receiver.url, "event_types": ["inventory.transfer.*"]},
    )
    assert subscribed.status_code == 201, subscribed.text
    secret = subscribed.json()["secret"]

    # The OEM's allocation for Shanghai arrives as a CSV batch; the clerk books the cars in.
    vins = [new_vin("LRW"), new_vin("LRW")]
    csv = "vin,store_id,trim_code,colour_code,model_year\n" + "".join(
        f"{vin},SH01,TSL-MY-LR,RED,2026\n" for vin in vins
    )
    batch = await http.post(
        "/api/v1/inventory/vehicles/batch",
        headers=clerk,
        files={"file": ("allocation.csv", csv.encode(), "text/csv")},
    )
    assert batch.status_code == 200, batch.text
    for vin in vins:
        arrived = await http.post(
            f"/api/v1/inventory/vehicles/{vin}/arrive",
            headers={**clerk, "If-Match": '"1"'},
            json={},
        )
        assert arrived.status_code == 200, arrived.text

    # Hangzhou's manager searches the whole group for a red Model Y Long Range.
    found = await http.get(
        "/api/v1/inventory/stock/availability",
        params={"trim": "TSL-MY-LR", "colour": "RED"},
        headers=hz01_manager.headers,
    )
    assert found.status_code == 200, found.text
    assert "SH01" in found.text

    # ... and asks Shanghai for one of the new cars.
    asked = await http.post(
        "/api/v1/inventory/transfers",
        headers={**hz01_manager.headers, "Idempotency-Key": f"e2e-transfer-{vins[0]}"},
        json={"kind": "vehicle", "from_store_id": "SH01", "to_store_id": "HZ01", "vin": vins[0]},
    )
    assert asked.status_code == 201, asked.text
    transfer = asked.json()
    transfer = await step(http, sh01_manager.headers, transfer, "approve")
    transfer = await step(http, clerk, transfer, "ship")
    transfer = await step(http, hz01_manager.headers, transfer, "receive")
    assert transfer["status"] == "received"

    car = await http.get(f"/api/v1/inventory/vehicles/{vins[0]}", headers=hz01_manager.headers)
    assert car.status_code == 200 and car.json()["store_id"] == "HZ01"
    # Shanghai no longer sees it as its stock: another store's car is 404, not 403.
    gone = await http.get(f"/api/v1/inventory/vehicles/{vins[0]}", headers=clerk)
    assert gone.status_code == 404

    # The partner received the four transfer events, signed, as CloudEvents.
    received = await webhook_receiver.wait_for_types(*TRANSFER_EVENTS)
    about = [r for r in received if r.event["subject"] == transfer["id"]]
    assert [r.event["type"].rsplit(".", 1)[-1] for r in about] == list(TRANSFER_EVENTS)
    for r in about:
        assert r.headers["content-type"].startswith("application/cloudevents+json")
        verify_marque_signature(secret, r.headers["marque-signature"], r.body)
        assert r.event["marquestore"] in {"SH01", "HZ01"}

    # Every write above is in the audit log, which HQ can read.
    hq = {"Authorization": f"Bearer {await sign_in(http, 'hq.analyst', DEMO_PASSWORD)}"}
    audit = await http.get(
        "/api/v1/group/audit", params={"path": "/api/v1/inventory/transfers"}, headers=hq
    )
    assert audit.status_code == 200, audit.text
    assert len(audit.json()["items"]) >= 4


async def test_a_caller_who_skips_the_gateway_is_refused(
    direct_inventory: httpx.AsyncClient,
) -> None:
    refused = await direct_inventory.get("/api/v1/inventory/catalog/stores")
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
