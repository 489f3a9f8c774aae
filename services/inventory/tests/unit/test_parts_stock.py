"""Parts stock: never negative, every change on the ledger, reorder alerts once per crossing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marque_inventory.domain import events as ev
from marque_inventory.domain.errors import InsufficientStock
from marque_inventory.domain.part_lines import PartLine
from marque_inventory.domain.parts import (
    MovementKind,
    PartStock,
    consume_lines,
    release_lines,
    reserve_lines,
)
from marque_kit.errors import InvalidInput

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
OIL = "0W20-4L"
FILTER = "OF-1109"


def stock(
    part: str = OIL, *, on_hand: int = 0, reorder_point: int = 0, cost: int = 5_000
) -> PartStock:
    s = PartStock.open("S1", part, bin="A-01-03", reorder_point=reorder_point)
    if on_hand:
        s.receive(on_hand, cost, "PO-1", now=NOW)
    s.pull_events()
    s.pull_movements()
    return s


def state(s: PartStock) -> tuple[int, int, int]:
    return (s.on_hand, s.reserved, s.version)


def test_receive_reserve_consume_follow_the_books() -> None:
    s = stock()
    [received] = s.receive(10, 5_000, "PO-1", now=NOW)
    assert isinstance(received, ev.PartsReceived)
    assert (received.quantity, received.on_hand, received.unit_cost_fen) == (10, 10, 5_000)
    [reserved] = s.reserve(4, "RO-7", now=NOW)
    assert isinstance(reserved, ev.PartsReserved)
    assert (s.on_hand, s.reserved, s.available) == (10, 4, 6)
    [consumed] = s.consume(3, "RO-7", now=NOW)
    assert isinstance(consumed, ev.PartsConsumed)
    assert (consumed.unit_cost_fen, consumed.on_hand, consumed.reserved) == (5_000, 7, 1)
    [released] = s.release(1, "RO-7", now=NOW)
    assert isinstance(released, ev.PartsReleased)
    assert (s.on_hand, s.reserved, s.available, s.version) == (7, 0, 7, 4)


def test_every_change_lands_on_the_ledger() -> None:
    s = stock()
    s.receive(5, 1_000, "PO-1", now=NOW)
    s.reserve(2, "RO-1", now=NOW)
    s.consume(2, "RO-1", now=NOW)
    moves = s.pull_movements()
    assert [(m.kind, m.on_hand_delta, m.reserved_delta) for m in moves] == [
        (MovementKind.RECEIPT, 5, 0),
        (MovementKind.RESERVATION, 0, 2),
        (MovementKind.CONSUMPTION, -2, -2),
    ]
    assert [(m.on_hand_after, m.reserved_after, m.version) for m in moves] == [
        (5, 0, 1),
        (5, 2, 2),
        (3, 0, 3),
    ]
    assert {m.reference for m in moves} == {"PO-1", "RO-1"}
    assert s.pull_movements() == []


def test_reserving_more_than_available_is_refused_naming_part_wanted_and_available() -> None:
    s = stock(on_hand=5)
    s.reserve(3, "RO-1", now=NOW)
    before = state(s)
    with pytest.raises(InsufficientStock) as caught:
        s.reserve(3, "RO-2", now=NOW)
    assert caught.value.detail == "Part 0W20-4L in store S1: wanted 3, only 2 available."
    assert caught.value.http_status == 409
    assert state(s) == before


def test_consuming_more_than_reserved_is_refused() -> None:
    s = stock(on_hand=5)
    s.reserve(1, "RO-1", now=NOW)
    with pytest.raises(InsufficientStock) as caught:
        s.consume(2, "RO-1", now=NOW)
    assert "wanted 2, only 1 reserved" in caught.value.detail
    with pytest.raises(InsufficientStock):
        s.release(2, "RO-1", now=NOW)
    assert (s.on_hand, s.reserved) == (5, 1)


@pytest.mark.parametrize("qty", [0, -1, 1.5, True, "2"])
def test_quantities_are_whole_numbers_above_zero(qty: object) -> None:
    s = stock(on_hand=5)
    with pytest.raises(InvalidInput) as caught:
        s.reserve(qty, "RO-1", now=NOW)  # type: ignore[arg-type]
    assert caught.value.errors == [{"field": "quantity", "rule": "positive_integer"}]


def test_receipts_move_the_average_cost() -> None:
    s = stock(on_hand=10, cost=5_000)
    s.receive(10, 6_000, "PO-2", now=NOW)
    assert s.average_unit_cost_fen == 5_500
    s.receive(1, 0, "FOC-1", now=NOW)  # a free part the supplier threw in
    assert s.average_unit_cost_fen == 5_238  # 110,000 / 21 = 5,238.1 -> 5,238


# --- the reorder point ------------------------------------------------------------------------


def test_reorder_alert_fires_once_when_available_crosses_below() -> None:
    s = stock(on_hand=10, reorder_point=5)
    assert [
        e for e in s.reserve(5, "RO-1", now=NOW) if isinstance(e, ev.PartBelowReorderPoint)
    ] == []
    alerts = [e for e in s.reserve(1, "RO-2", now=NOW) if isinstance(e, ev.PartBelowReorderPoint)]
    assert len(alerts) == 1
    assert (alerts[0].available, alerts[0].reorder_point, alerts[0].part_number) == (4, 5, OIL)
    # Falling further below is not a new crossing.
    assert not any(isinstance(e, ev.PartBelowReorderPoint) for e in s.reserve(2, "RO-3", now=NOW))
    # Back above, then below again: a new crossing, a new alert.
    s.receive(10, 5_000, "PO-2", now=NOW)
    assert any(isinstance(e, ev.PartBelowReorderPoint) for e in s.reserve(9, "RO-4", now=NOW))


def test_alerts_wait_in_pull_events_with_their_cause() -> None:
    s = stock(on_hand=3, reorder_point=3)
    s.reserve(1, "RO-1", now=NOW)
    kinds = [type(e) for e in s.pull_events()]
    assert kinds == [ev.PartsReserved, ev.PartBelowReorderPoint]


# --- several lines at once --------------------------------------------------------------------


def test_multi_line_reservation_is_all_or_nothing() -> None:
    stocks = {OIL: stock(OIL, on_hand=10), FILTER: stock(FILTER, on_hand=1)}
    before = {p: state(s) for p, s in stocks.items()}
    lines = [PartLine(OIL, 4), PartLine(FILTER, 2), PartLine("NOT-STOCKED", 1)]
    with pytest.raises(InsufficientStock) as caught:
        reserve_lines(stocks, lines, "RO-7", now=NOW)
    assert {p: state(s) for p, s in stocks.items()} == before
    assert caught.value.detail.startswith("Nothing was changed")
    assert [(e["part_number"], e["wanted"], e["available"]) for e in caught.value.errors or []] == [
        (FILTER, 2, 1),
        ("NOT-STOCKED", 1, 0),
    ]


def test_multi_line_reservation_sums_repeated_parts() -> None:
    stocks = {OIL: stock(OIL, on_hand=5)}
    with pytest.raises(InsufficientStock):
        reserve_lines(stocks, [PartLine(OIL, 3), PartLine(OIL, 3)], "RO-7", now=NOW)
    events = reserve_lines(stocks, [PartLine(OIL, 2), PartLine(OIL, 3)], "RO-7", now=NOW)
    assert [(type(e), e.quantity) for e in events if isinstance(e, ev.PartsReserved)] == [
        (ev.PartsReserved, 5)
    ]


def test_multi_line_consume_and_release_follow_the_same_rule() -> None:
    stocks = {OIL: stock(OIL, on_hand=5), FILTER: stock(FILTER, on_hand=5)}
    reserve_lines(stocks, [PartLine(OIL, 2), PartLine(FILTER, 1)], "RO-7", now=NOW)
    with pytest.raises(InsufficientStock):
        consume_lines(stocks, [PartLine(OIL, 2), PartLine(FILTER, 2)], "RO-7", now=NOW)
    assert (stocks[OIL].reserved, stocks[FILTER].reserved) == (2, 1)
    consume_lines(stocks, [PartLine(OIL, 2)], "RO-7", now=NOW)
    release_lines(stocks, [PartLine(FILTER, 1)], "RO-7", now=NOW)
    assert [(s.on_hand, s.reserved) for s in stocks.values()] == [(3, 0), (5, 0)]


def test_lines_must_not_be_empty() -> None:
    with pytest.raises(InvalidInput):
        reserve_lines({}, [], "RO-7", now=NOW)


# --- whatever happens, the books hold ---------------------------------------------------------

operations = st.lists(
    st.tuples(
        st.sampled_from(
            ["receive", "reserve", "release", "consume", "transfer_out", "transfer_in"]
        ),
        st.integers(min_value=1, max_value=12),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(operations, st.integers(min_value=0, max_value=10))
def test_stock_never_goes_negative_whatever_the_sequence(
    ops: list[tuple[str, int]], reorder_point: int
) -> None:
    s = stock(reorder_point=reorder_point)
    for op, qty in ops:
        before = state(s)
        available_before = s.available
        try:
            if op in ("receive", "transfer_in"):
                events = getattr(s, op)(qty, 4_000, "REF", now=NOW)
            else:
                events = getattr(s, op)(qty, "REF", now=NOW)
        except InsufficientStock:
            assert state(s) == before  # a refused change leaves no trace
            continue
        assert s.on_hand >= 0 and s.reserved >= 0 and s.reserved <= s.on_hand
        assert s.version == before[2] + 1
        crossed = available_before >= reorder_point > s.available
        assert any(isinstance(e, ev.PartBelowReorderPoint) for e in events) == crossed
    moves = s.pull_movements()
    assert sum(m.on_hand_delta for m in moves) == s.on_hand
    assert sum(m.reserved_delta for m in moves) == s.reserved
