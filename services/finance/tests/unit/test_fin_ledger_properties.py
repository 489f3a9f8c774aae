"""Properties of the stock posting rules over any sequence of inventory events across stores:

- every store's books balance (its debits equal its credits) after every event;
- the group's inter-store account (1901) nets to zero at every moment, and each pair of stores'
  claims on each other mirror one another;
- goods in transit (1402) at a store are exactly the transfers shipped to it and not yet
  received, so 1402 clears once every shipment has arrived;
- a vehicle received, transferred and delivered leaves nothing in inventory at cost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from marque_finance.domain.ledger import EntryDraft
from marque_finance.domain.posting_rules.inventory import (
    CostedPart,
    InventoryFact,
    PartsIssue,
    PartsReceipt,
    TransferArrival,
    TransferKind,
    TransferMove,
    VehicleDelivery,
    VehicleReceipt,
    drafts_for,
)

STORES = ("SH01", "BJ01", "GZ01")
DAY = date(2026, 10, 15)
fen = st.integers(min_value=1, max_value=50_000_000)
stores = st.sampled_from(STORES)
part_lines = st.lists(
    st.builds(
        CostedPart,
        part_number=st.sampled_from(["06L115562B", "G052167M2", "5Q0698151"]),
        quantity=st.integers(min_value=1, max_value=500),
        unit_cost_fen=st.integers(min_value=1, max_value=2_000_000),
    ),
    min_size=1,
    max_size=4,
).map(tuple)


@dataclass
class Books:
    """The group's ledger as balances per (store, account, counterparty store)."""

    balances: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    debits: Counter[str] = field(default_factory=Counter)
    credits: Counter[str] = field(default_factory=Counter)

    def post(self, draft: EntryDraft) -> None:
        for line in draft.checked().lines:
            self.balances[(draft.store_id, line.account, line.counterparty_store)] += line.amount
            self.debits[draft.store_id] += line.debit
            self.credits[draft.store_id] += line.credit

    def balance(self, account: str, store: str | None = None, other: str | None = None) -> int:
        return sum(
            amount
            for (s, a, c), amount in self.balances.items()
            if a == account and store in (None, s) and other in (None, c)
        )


@st.composite
def scenarios(draw: st.DrawFn) -> list[InventoryFact | int]:
    """Inventory facts in order; an int stands for "one of the shipments in transit arrives"."""
    steps: list[InventoryFact | int] = []
    for n in range(draw(st.integers(min_value=1, max_value=30))):
        kind = draw(st.sampled_from(["vehicle_in", "parts_in", "ship", "receive", "issue", "sell"]))
        event = f"ev-{n}"
        store = draw(stores)
        if kind == "vehicle_in":
            vin = f"VIN{n:014d}"
            steps.append(VehicleReceipt(event, store, vin, "BYD", "BYD-HAN", draw(fen), DAY))
        elif kind == "parts_in":
            qty, cost = draw(st.integers(1, 500)), draw(st.integers(1, 2_000_000))
            steps.append(PartsReceipt(event, store, "06L115562B", qty, cost, f"PO{n}", DAY))
        elif kind == "ship":
            to = draw(st.sampled_from([s for s in STORES if s != store]))
            vehicle = draw(st.booleans())
            steps.append(
                TransferMove(
                    event_id=event,
                    transfer_id=f"TR-{n}",
                    kind=TransferKind.VEHICLE if vehicle else TransferKind.PARTS,
                    from_store_id=store,
                    to_store_id=to,
                    on=DAY,
                    vin=f"VIN{n:014d}" if vehicle else "",
                    vehicle_cost_fen=draw(fen) if vehicle else 0,
                    part_lines=() if vehicle else draw(part_lines),
                )
            )
        elif kind == "receive":
            # Which of the shipments in transit arrives (an index, taken modulo their number).
            steps.append(draw(st.integers(min_value=0, max_value=1_000)))
        elif kind == "issue":
            steps.append(PartsIssue(event, store, f"RO-{n}", draw(part_lines), DAY))
        else:
            vin = f"VIN{n:014d}"
            steps.append(VehicleDelivery(event, store, vin, "BYD-HAN", draw(fen), DAY))
    return steps


def arrival_of(move: TransferMove, event_id: str) -> TransferArrival:
    return TransferArrival(
        event_id=event_id,
        transfer_id=move.transfer_id,
        kind=move.kind,
        from_store_id=move.from_store_id,
        to_store_id=move.to_store_id,
        on=DAY,
        vin=move.vin,
        vehicle_cost_fen=move.vehicle_cost_fen,
        part_lines=move.part_lines,
    )


def check_invariants(books: Books, in_transit: dict[str, TransferMove]) -> None:
    for store in STORES:
        assert books.debits[store] == books.credits[store], store
        assert sum(a for (s, _, _), a in books.balances.items() if s == store) == 0
        expected = sum(m.value_fen for m in in_transit.values() if m.to_store_id == store)
        assert books.balance("1402", store) == expected
        for other in STORES:
            if other != store:
                # What one store claims on another, the other owes it.
                mine = books.balance("1901", store, other)
                theirs = books.balance("1901", other, store)
                assert mine == -theirs
    assert books.balance("1901") == 0


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_any_sequence_keeps_every_store_balanced_and_inter_store_netting_to_zero(
    steps: list[InventoryFact | int],
) -> None:
    books = Books()
    in_transit: dict[str, TransferMove] = {}
    for n, payload in enumerate(steps):
        if isinstance(payload, int):
            if not in_transit:
                continue
            key = sorted(in_transit)[payload % len(in_transit)]
            fact: InventoryFact = arrival_of(in_transit.pop(key), f"rcv-{n}")
        else:
            fact = payload
            if isinstance(fact, TransferMove):
                in_transit[fact.transfer_id] = fact
        for draft in drafts_for(fact):
            books.post(draft)
        check_invariants(books, in_transit)
    # Once every shipment has arrived, nothing is left in transit anywhere.
    for n, key in enumerate(sorted(in_transit)):
        for draft in drafts_for(arrival_of(in_transit.pop(key), f"late-{n}")):
            books.post(draft)
    check_invariants(books, in_transit)
    assert books.balance("1402") == 0


@settings(max_examples=100, deadline=None)
@given(cost=fen, origin=stores, data=st.data())
def test_a_vehicle_bought_moved_and_sold_leaves_no_stock_at_cost(
    cost: int, origin: str, data: st.DataObject
) -> None:
    dest = data.draw(stores.filter(lambda s: s != origin))
    vin = "LGXCE4CB5R0123456"
    move = TransferMove("e2", "TR-1", TransferKind.VEHICLE, origin, dest, DAY, vin, cost)
    books = Books()
    for fact in (
        VehicleReceipt("e1", origin, vin, "BYD", "BYD-HAN", cost, DAY),
        move,
        arrival_of(move, "e3"),
        VehicleDelivery("e4", dest, vin, "BYD-HAN", cost, DAY),
    ):
        for draft in drafts_for(fact):
            books.post(draft)
    assert books.balance("1405.01") == 0
    assert books.balance("1402") == 0
    assert books.balance("6401.01", dest) == cost
    # The origin holds a claim on the destination for exactly the car's cost.
    assert books.balance("1901", origin, dest) == cost
    assert books.balance("1901") == 0
