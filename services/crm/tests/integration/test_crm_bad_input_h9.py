"""Bad input found by fuzzing the CRM API (schemathesis) answers a 422 problem, never a 500.

One test per class of input that used to crash a handler or the database driver:
- NUL characters (U+0000) in a JSON body, a query parameter or the path: PostgreSQL text cannot
  hold them ("invalid byte sequence for encoding UTF8: 0x00");
- dates and instants at the ends of the calendar (0001-01-01T00:00+14:00 is before year 1 in
  UTC; 9999-12-31 plus a day does not exist): OverflowError / "date value out of range";
- store ids and owners longer than their columns (VARCHAR(20) / VARCHAR(120)).
Each refusal is problem+json naming the field, and nothing is written.
"""

from __future__ import annotations

import io
import itertools
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from marque_kit.testing.problems import assert_refused
from marque_kit.testing.vins import with_check_digit

API = "/api/v1/crm"
STORE = "BAD9"
LONG_STORE = "S" * 21
_numbers = itertools.count(1)
Headers = Callable[..., dict[str, str]]


def fresh_mobile() -> str:
    n = f"{next(_numbers):04d}{uuid.uuid4().int % 10_000:04d}"
    return f"136 {n[:4]} {n[4:]}"


async def new_customer(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    created = await client.post(
        f"{API}/customers",
        json={"store_id": STORE, "name": "测试 Bad Input", "mobile": fresh_mobile()},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


@pytest.fixture
def hq(as_hq: dict[str, str]) -> dict[str, str]:
    return as_hq


async def test_nul_characters_are_refused_wherever_they_arrive(
    client: httpx.AsyncClient, hq: dict[str, str]
) -> None:
    customer = await new_customer(client, hq)
    title = f"call back {uuid.uuid4()}"
    task = {
        "store_id": STORE,
        "customer_id": customer["id"],
        "title": title + "\x00",
        "due_at": "2026-03-02T10:00:00+08:00",
    }
    problem = assert_refused(await client.post(f"{API}/tasks", json=task, headers=hq), "title")
    assert problem["errors"][0]["location"] == "body"
    assert "NUL" in problem["detail"]

    tag = {"store_id": STORE, "name": "vip\x00"}
    assert_refused(await client.post(f"{API}/tags", json=tag, headers=hq), "name")
    # An item of a list is named by its path.
    campaign = {
        "name": "h9",
        "segment_id": str(uuid.uuid4()),
        "channel": "sms",
        "template": "{name}您好",
        "store_ids": [STORE, "SH\x0001"],
    }
    assert_refused(await client.post(f"{API}/campaigns", json=campaign, headers=hq), "store_ids.1")

    listed = await client.get(f"{API}/tasks", params={"assignee": "x\x00y"}, headers=hq)
    assert assert_refused(listed, "assignee")["errors"][0]["location"] == "query"

    merged = await client.post(
        f"{API}/customers/a%00b/merge", json={"merged_customer_id": customer["id"]}, headers=hq
    )
    assert_refused(merged, "path")

    # Nothing was written: the store has no task of that title.
    tasks = await client.get(
        f"{API}/tasks", params={"store_id": STORE, "customer_id": customer["id"]}, headers=hq
    )
    assert tasks.status_code == 200
    assert all(t["title"] != title for t in tasks.json()["items"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
    ],
)
async def test_funnel_refuses_days_off_the_calendar(
    client: httpx.AsyncClient, hq: dict[str, str], params: dict[str, str], field: str
) -> None:
    response = await client.get(f"{API}/leads/funnel", params=params, headers=hq)
    problem = assert_refused(response, field)
    assert "1900-01-01" in problem["detail"] and "2999-12-31" in problem["detail"]


async def test_funnel_accepts_the_widest_range(
    client: httpx.AsyncClient, hq: dict[str, str]
) -> None:
    response = await client.get(
        f"{API}/leads/funnel",
        params={"from": "1900-01-01", "to": "2999-12-31", "store_id": STORE},
        headers=hq,
    )
    assert response.status_code == 200, response.text
    assert response.json()["from"] == "1900-01-01"


async def test_instants_off_the_calendar_are_refused(
    client: httpx.AsyncClient, hq: dict[str, str]
) -> None:
    customer = await new_customer(client, hq)
    cid = customer["id"]
    early, late = "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"

    leads = await client.get(f"{API}/leads", params={"created_from": early}, headers=hq)
    assert_refused(leads, "created_from")
    breaches = await client.get(
        f"{API}/stores/{STORE}/sla-breaches", params={"since": late}, headers=hq
    )
    assert_refused(breaches, "since")
    consent = {"channel": "sms", "granted": True, "source": "walk-in form", "at": early}
    assert_refused(
        await client.post(f"{API}/customers/{cid}/consents", json=consent, headers=hq), "at"
    )
    entry = {"kind": "call", "summary": "called", "at": late}
    assert_refused(
        await client.post(f"{API}/customers/{cid}/timeline", json=entry, headers=hq), "at"
    )
    task = {"store_id": STORE, "customer_id": cid, "title": "later", "due_at": late}
    assert_refused(await client.post(f"{API}/tasks", json=task, headers=hq), "due_at")

    # Nothing was written.
    consents = await client.get(f"{API}/customers/{cid}/consents", headers=hq)
    assert consents.json()["history"] == []


async def test_segment_filter_dates_off_the_calendar_are_refused(
    client: httpx.AsyncClient, hq: dict[str, str]
) -> None:
    for name, value in (("created_from", "0001-01-01"), ("created_to", "9999-12-31")):
        body = {"name": f"h9 {name}", "filter": {"stores": [STORE], name: value}}
        response = await client.post(f"{API}/segments", json=body, headers=hq)
        problem = assert_refused(response, name)
        assert "1900-01-01" in str(problem["errors"])
    campaign = {
        "name": "h9 far future",
        "segment_id": str(uuid.uuid4()),
        "channel": "sms",
        "template": "{name}您好",
        "scheduled_at": "9999-12-31T23:59:59-12:00",
    }
    assert_refused(await client.post(f"{API}/campaigns", json=campaign, headers=hq), "scheduled_at")


async def test_store_ids_and_owners_longer_than_their_columns_are_refused(
    client: httpx.AsyncClient, hq: dict[str, str]
) -> None:
    customer = await new_customer(client, hq)
    cid = customer["id"]

    consent = {"channel": "sms", "granted": True, "source": "form", "store_id": LONG_STORE}
    assert_refused(
        await client.post(f"{API}/customers/{cid}/consents", json=consent, headers=hq),
        "store_id",
    )
    entry = {"kind": "call", "summary": "called", "store_id": LONG_STORE}
    assert_refused(
        await client.post(f"{API}/customers/{cid}/timeline", json=entry, headers=hq), "store_id"
    )
    vin = with_check_digit("LSVAU2180N2183294")
    vehicle = {"vin": vin, "bought": "here", "store_id": LONG_STORE}
    assert_refused(
        await client.post(f"{API}/customers/{cid}/vehicles", json=vehicle, headers=hq),
        "store_id",
    )
    for field, value in (("store_id", LONG_STORE), ("owner", "o" * 121)):
        patched = await client.patch(
            f"{API}/customers/{cid}",
            json={field: value},
            headers={**hq, "If-Match": f'"{customer["version"]}"'},
        )
        assert_refused(patched, field)
    created = await client.post(
        f"{API}/customers",
        json={"store_id": STORE, "name": "张", "mobile": fresh_mobile(), "owner": "o" * 121},
        headers=hq,
    )
    assert_refused(created, "owner")

    roster = await client.put(
        f"{API}/stores/{LONG_STORE}/consultants/li.na", json={"name": "李娜"}, headers=hq
    )
    assert_refused(roster, "store_id")
    # A valid body (the defaults a store starts with), only the path is too long.
    defaults = (await client.get(f"{API}/stores/{STORE}/rules", headers=hq)).json()
    body = {
        k: v
        for k, v in defaults.items()
        if k not in ("store_id", "version", "updated_at", "updated_by")
    }
    rules = await client.put(
        f"{API}/stores/{LONG_STORE}/rules", json=body, headers={**hq, "If-Match": '"0"'}
    )
    problem = assert_refused(rules, "store_id")
    assert [e["field"] for e in problem["errors"]] == ["store_id"]

    # The customer is as it was: no timeline entry, same version, same store.
    after = await client.get(f"{API}/customers/{cid}", headers=hq)
    assert after.json()["version"] == customer["version"]
    assert after.json()["store_id"] == STORE


async def test_control_characters_in_stored_text_do_not_break_an_xlsx_export(
    client: httpx.AsyncClient, hq: dict[str, str]
) -> None:
    """XML cannot hold BEL or ESC; a name typed with one used to make openpyxl refuse the
    whole workbook (500). The export drops them from the cell."""
    store = "BADX"
    created = await client.post(
        f"{API}/customers",
        json={"store_id": store, "name": "张\x1b三", "mobile": fresh_mobile(), "city": "上\x07海"},
        headers=hq,
    )
    assert created.status_code == 201, created.text
    response = await client.get(
        f"{API}/exports/customers", params={"store_id": store, "format": "xlsx"}, headers=hq
    )
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    cells = {str(c.value) for row in sheet.iter_rows(min_row=2) for c in row if c.value}
    assert {"张三", "上海"} <= cells


@pytest.mark.parametrize("store_id", ["中文", "🚗", "S\x1bT"])
async def test_an_export_for_any_store_id_answers_without_a_500(
    client: httpx.AsyncClient, as_hq: dict[str, str], store_id: str
) -> None:
    """The store id goes into the file name: the plain `filename` stays ASCII, `filename*` exact."""
    response = await client.get(
        f"{API}/exports/customers", params={"store_id": store_id}, headers=as_hq
    )
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.isascii()
    assert "filename*=UTF-8''customers-" in disposition


async def test_a_nul_in_the_import_form_is_refused(
    client: httpx.AsyncClient, as_hq: dict[str, str]
) -> None:
    response = await client.post(
        f"{API}/imports/customers",
        data={"store_id": "BA\x009"},
        files={"file": ("c.csv", "姓名,手机\n王五,13800000000\n".encode(), "text/csv")},
        headers=as_hq,
    )
    assert_refused(response, "store_id")
