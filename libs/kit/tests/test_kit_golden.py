"""The golden-fixture plumbing (`marque_kit.testing.golden`) in a throwaway repository: fixtures
written are what the checks accept, and each check refuses what it is there to catch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from marque.inventory.v1 import events_pb2
from marque_kit.db import OutgoingEvent
from marque_kit.testing.golden import Golden, routing_keys_in, shape

PROTO = """syntax = "proto3";
package marque.inventory.v1;

// A vehicle was put on hold for a customer's sales order.
// Routing key: inventory.vehicle.reserved
message VehicleReserved {
  string order_ref = 3;
}

// Sold. Routing key: inventory.vehicle.sold; subject = vin.
// (more words about it)
message VehicleSold {
  string order_ref = 3;
}

message VehicleSnapshot {
  string vin = 1;
}
"""


def reserved(store: str, vin: str, order: str, version: int) -> OutgoingEvent:
    at = Timestamp()
    at.FromDatetime(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    message = events_pb2.VehicleReserved(
        occurred_at=at,
        vehicle=events_pb2.VehicleSnapshot(vin=vin, store_id=store, version=version),
        order_ref=order,
    )
    return OutgoingEvent(message, "inventory.vehicle.reserved", vin, store, version)


@pytest.fixture
def golden(tmp_path: Path) -> Golden:
    proto = tmp_path / "protos" / "marque" / "inventory" / "v1" / "events.proto"
    proto.parent.mkdir(parents=True)
    proto.write_text(PROTO, encoding="utf-8")
    module = tmp_path / "tests" / "contract" / "make_them.py"
    module.parent.mkdir(parents=True)
    module.write_text("", encoding="utf-8")
    return Golden(
        events_pb2,
        module,
        id_namespace=uuid.UUID("6f1c1d3e-8a61-4c1e-9f3b-6d2a4b8e0c11"),
        fixed_time=datetime(2026, 3, 2, 1, 30, 5, 123000, tzinfo=UTC),
        correlation="9b2f6c1e",
        traceparent="00-" + "4b" * 16 + "-" + "00" * 8 + "-01",
    )


REFERENCE = reserved("SH01", "LGXCE4CB5R0123456", "SO-SH01-000123", 2)
OTHER = reserved("GZ01", "LVGBE40K8SG654321", "SO-GZ01-000777", 5)


def test_routing_keys_come_from_the_comment_block_above_each_message(golden: Golden) -> None:
    assert routing_keys_in(golden.events_proto) == {
        "VehicleReserved": "inventory.vehicle.reserved",
        "VehicleSold": "inventory.vehicle.sold",
    }
    assert golden.source == "marque/inventory" and golden.type_prefix == "marque.inventory.v1."
    assert golden.regenerate == ".venv/bin/python tests/contract/make_them.py"


def test_a_message_with_two_routing_keys_is_refused(golden: Golden) -> None:
    golden.events_proto.write_text(
        PROTO.replace("// Sold.", "// Routing key: inventory.vehicle.gone\n// Sold."), "utf-8"
    )
    with pytest.raises(AssertionError, match="VehicleSold has more than one routing key"):
        golden.routing_keys()


def test_written_fixtures_pass_every_check_and_are_repeatable(golden: Golden) -> None:
    golden.write([REFERENCE])
    path = golden.path("VehicleReserved")
    first = path.read_bytes()
    golden.write([REFERENCE])
    assert path.read_bytes() == first
    assert golden.fixture_files() == [path]
    golden.check_up_to_date([REFERENCE])
    emitted = golden.check_producer(OTHER)
    assert emitted["marquestore"] == "GZ01" and emitted["marqueseq"] == 5
    assert emitted["marquecorrelation"] != golden.correlation  # a request of its own
    envelope, message = golden.parse("VehicleReserved")
    assert envelope.id == str(uuid.uuid5(golden.id_namespace, "VehicleReserved"))
    assert envelope.time == "2026-03-02T01:30:05.123000Z"
    assert (envelope.correlation, envelope.traceparent) == (golden.correlation, golden.traceparent)
    assert message.order_ref == "SO-SH01-000123" and envelope.subject == message.vehicle.vin
    assert golden.data("VehicleReserved")["orderRef"] == "SO-SH01-000123"
    assert golden.id("lead", 1) == str(uuid.uuid5(golden.id_namespace, "lead-1"))


def test_a_stale_fixture_is_caught(golden: Golden) -> None:
    golden.write([REFERENCE])
    with pytest.raises(AssertionError, match="is stale"):
        golden.check_up_to_date([OTHER])


def test_a_missing_fixture_is_caught(golden: Golden) -> None:
    with pytest.raises(AssertionError, match="no golden fixture"):
        golden.check_producer(OTHER)
    with pytest.raises(AssertionError, match="no golden fixture"):
        golden.parse("VehicleReserved")


def test_a_routing_key_other_than_the_protos_is_caught(golden: Golden) -> None:
    golden.write([REFERENCE])
    wrong = OutgoingEvent(OTHER.message, "inventory.vehicle.held", OTHER.subject, "GZ01", 5)
    with pytest.raises(AssertionError, match="routing key differs"):
        golden.check_producer(wrong)


def test_a_data_shape_other_than_the_fixtures_is_caught(golden: Golden) -> None:
    golden.write([REFERENCE])
    bare = events_pb2.VehicleReserved(order_ref="SO-GZ01-000777")  # no vehicle, no time
    with pytest.raises(AssertionError, match="data shape differs"):
        golden.check_producer(OutgoingEvent(bare, "inventory.vehicle.reserved", "V", "GZ01", 1))


def test_two_reference_events_of_one_type_are_refused(golden: Golden) -> None:
    with pytest.raises(AssertionError, match="two reference events"):
        golden.generate([REFERENCE, OTHER])


def test_shape_keeps_keys_and_json_types_not_values() -> None:
    assert shape({"b": [{"x": 1}, {"y": 2}], "a": "s"}) == {"a": "str", "b": [{"x": "int"}]}
    assert shape({"a": []}) == {"a": []}
