"""The CloudEvents envelope around a real Marque proto event."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from marque.common.v1.common_pb2 import Money
from marque.inventory.v1.events_pb2 import VehicleReserved, VehicleSnapshot, VehicleSold
from marque.inventory.v1.inventory_pb2 import ENERGY_TYPE_BEV, VEHICLE_STATUS_RESERVED
from marque_kit.context import correlation_id_var, traceparent_var
from marque_kit.envelope import Envelope, MalformedEvent, wrap
from marque_kit.errors import InvalidInput

VIN = "LRWYGCEK1TC000001"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def reserved() -> VehicleReserved:
    return VehicleReserved(
        occurred_at=Timestamp(seconds=1_767_000_000),
        vehicle=VehicleSnapshot(
            vin=VIN,
            store_id="SH01",
            brand="TESLA",
            model_code="TSL-MY",
            model_year=2026,
            energy_type=ENERGY_TYPE_BEV,
            status=VEHICLE_STATUS_RESERVED,
            msrp=Money(amount_fen=26_390_000, currency_code="CNY"),
            version=3,
        ),
        order_ref="SO-2026-0001",
        reserved_until=Timestamp(seconds=1_767_259_200),
    )


@pytest.fixture
def traced() -> Iterator[None]:
    tokens = (correlation_id_var.set("corr-5e1f"), traceparent_var.set(TRACEPARENT))
    yield
    traceparent_var.reset(tokens[1])
    correlation_id_var.reset(tokens[0])


def wrapped(**kw: object) -> Envelope:
    return wrap(reserved(), source="marque/inventory", subject=VIN, store="SH01", seq=3, **kw)  # type: ignore[arg-type]


def test_a_proto_event_survives_the_trip_through_json() -> None:
    raw = wrapped().to_json()

    parsed = Envelope.from_json(raw).parse(VehicleReserved)

    assert parsed == reserved()


def test_the_envelope_carries_every_cloudevents_attribute(traced: None) -> None:
    body = orjson.loads(wrapped().to_json())

    assert body["specversion"] == "1.0"
    assert uuid.UUID(body["id"]).version == 4
    assert body["source"] == "marque/inventory"
    assert body["type"] == "marque.inventory.v1.VehicleReserved"
    assert body["time"].endswith("Z")
    assert datetime.fromisoformat(body["time"]).tzinfo is not None
    assert body["subject"] == VIN
    assert body["datacontenttype"] == "application/json"
    assert body["marquestore"] == "SH01"
    assert body["marqueseq"] == 3
    assert body["marquecorrelation"] == "corr-5e1f"
    assert body["traceparent"] == TRACEPARENT
    # proto3 JSON mapping: camelCase names, int64 as strings, enums by name.
    assert body["data"]["orderRef"] == "SO-2026-0001"
    assert body["data"]["vehicle"]["msrp"] == {"amountFen": "26390000", "currencyCode": "CNY"}
    assert body["data"]["vehicle"]["energyType"] == "ENERGY_TYPE_BEV"
    assert body["data"]["occurredAt"] == "2025-12-29T09:20:00Z"


def test_without_a_trace_there_is_no_traceparent_and_an_empty_correlation() -> None:
    body = orjson.loads(wrapped().to_json())

    assert "traceparent" not in body
    assert body["marquecorrelation"] == ""


def test_correlation_and_trace_survive_parsing(traced: None) -> None:
    env = Envelope.from_json(wrapped().to_json())

    assert env.correlation == "corr-5e1f"
    assert env.traceparent == TRACEPARENT
    assert (env.store, env.seq, env.subject) == ("SH01", 3, VIN)


def test_an_explicit_id_and_time_are_kept() -> None:
    env = wrapped(
        event_id="7d3c0c64-1f0e-4c44-9d1a-0b8f3f0e2b11", time=datetime(2026, 1, 2, tzinfo=UTC)
    )

    assert env.id == "7d3c0c64-1f0e-4c44-9d1a-0b8f3f0e2b11"
    assert env.time == "2026-01-02T00:00:00Z"


def test_each_wrap_gets_a_new_id() -> None:
    assert wrapped().id != wrapped().id


def test_fields_from_a_newer_producer_are_ignored() -> None:
    body = orjson.loads(wrapped().to_json())
    body["data"]["dealerDiscountFen"] = "50000"
    body["data"]["vehicle"]["batteryKwh"] = 78.4
    body["marquefuture"] = "ignored too"

    parsed = Envelope.from_dict(body).parse(VehicleReserved)

    assert parsed == reserved()


def test_an_enum_value_from_a_newer_producer_reads_as_unspecified() -> None:
    body = orjson.loads(wrapped().to_json())
    body["data"]["vehicle"]["energyType"] = "ENERGY_TYPE_HYDROGEN"

    parsed = Envelope.from_dict(body).parse(VehicleReserved)

    assert parsed.vehicle.energy_type == 0
    assert parsed.vehicle.vin == VIN


def test_google_struct_events_round_trip() -> None:
    data = Struct()
    data.update({"amount": 5, "memo": "定金"})

    env = Envelope.from_json(wrap(data, source="marque/test", subject="acct-1").to_json())

    assert env.type == "google.protobuf.Struct"
    assert env.parse(Struct) == data


def test_parsing_as_another_event_type_is_malformed() -> None:
    env = Envelope.from_json(wrapped().to_json())

    with pytest.raises(MalformedEvent) as refused:
        env.parse(VehicleSold)

    assert "marque.inventory.v1.VehicleSold" in refused.value.detail
    assert "marque.inventory.v1.VehicleReserved" in refused.value.detail


@pytest.mark.parametrize(
    "bad_data",
    [
        {"vehicle": 5},
        {"orderRef": 42},
        {"orderRef": {"id": "SO-1"}},
        {"occurredAt": "yesterday"},
        {"vehicle": {"modelYear": "twenty"}},
    ],
)
def test_data_that_does_not_fit_the_message_is_malformed(bad_data: dict[str, object]) -> None:
    body = orjson.loads(wrapped().to_json())
    body["data"] = bad_data

    with pytest.raises(MalformedEvent) as refused:
        Envelope.from_dict(body).parse(VehicleReserved)

    assert "does not match marque.inventory.v1.VehicleReserved" in refused.value.detail


@pytest.mark.parametrize(
    ("mangle", "named"),
    [
        (lambda b: b.pop("type"), "type"),
        (lambda b: (b.pop("id"), b.pop("time")), "id, time"),
        (lambda b: b.update(specversion="0.3"), "specversion"),
        (lambda b: b.update(data="LRWY..."), "data"),
        (lambda b: b.update(marqueseq="three"), "marqueseq"),
    ],
)
def test_envelopes_missing_or_mangling_attributes_are_malformed(mangle: object, named: str) -> None:
    body = orjson.loads(wrapped().to_json())
    mangle(body)  # type: ignore[operator]

    with pytest.raises(MalformedEvent) as refused:
        Envelope.from_dict(body)

    assert named in refused.value.detail


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"a string"'])
def test_bodies_that_are_not_a_json_object_are_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedEvent):
        Envelope.from_json(raw)


def test_a_malformed_event_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as refused:
        Envelope.from_json(b"{}")

    assert refused.value.http_status == 422
    assert refused.value.slug == "malformed-event"


def test_a_string_where_a_message_belongs_is_malformed_not_an_empty_message() -> None:
    from marque.inventory.v1 import events_pb2
    from marque_kit.envelope import Envelope, MalformedEvent

    envelope = Envelope(
        id="e-1",
        source="marque/inventory",
        type="marque.inventory.v1.VehicleReserved",
        time="2026-11-27T00:00:00Z",
        data={"vehicle": "LRW3E7FA9TC900001", "orderRef": "SO-1"},
    )
    with pytest.raises(MalformedEvent, match=r"data\.vehicle is a str, not an object"):
        envelope.parse(events_pb2.VehicleReserved)
