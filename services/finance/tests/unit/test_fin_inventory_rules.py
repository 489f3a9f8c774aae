"""Stock posting rules, entry by entry: balanced, the right accounts and VAT, the dimensions."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

from marque_finance.domain.ledger import EntryDraft, Line
from marque_finance.domain.posting_rules import inventory as rules
from marque_finance.domain.posting_rules.inventory import (
    CostedPart,
    PartsIssue,
    PartsReceipt,
    TransferArrival,
    TransferKind,
    TransferMove,
    VehicleDelivery,
    VehicleReceipt,
)
from marque_kit.errors import InvalidInput

DAY = date(2026, 10, 2)


def by_account(draft: EntryDraft) -> dict[str, tuple[int, int]]:
    """Account -> (debits, credits) of one entry, after the ledger's own balance check."""
    checked = draft.checked()
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in checked.lines:
        out[line.account][0] += line.debit
        out[line.account][1] += line.credit
    return {k: (d, c) for k, (d, c) in out.items()}


def line_on(draft: EntryDraft, account: str) -> Line:
    (line,) = [li for li in draft.lines if li.account == account]
    return line


def vehicle_move(**kw: object) -> dict[str, object]:
    base: dict[str, object] = dict(
        event_id="ev-t1",
        transfer_id="TR-BJ01-0007",
        kind=TransferKind.VEHICLE,
        from_store_id="BJ01",
        to_store_id="SH01",
        on=DAY,
        vin="LGXCE4CB5R0123456",
        vehicle_cost_fen=19_100_000,
    )
    base.update(kw)
    return base


def parts_move(**kw: object) -> dict[str, object]:
    base: dict[str, object] = dict(
        event_id="ev-t2",
        transfer_id="TR-BJ01-0008",
        kind=TransferKind.PARTS,
        from_store_id="BJ01",
        to_store_id="SH01",
        on=DAY,
        part_lines=(CostedPart("06L115562B", 12, 5_200), CostedPart("G052167M2", 20, 29_000)),
    )
    base.update(kw)
    return base


def test_vehicle_received_books_cost_input_vat_and_the_oem_payable() -> None:
    draft = rules.vehicle_received(
        VehicleReceipt("ev-1", "SH01", "LGXCE4CB5R0123456", "BYD", "BYD-HAN", 19_100_000, DAY)
    )
    # 191,000.00 x 13% = 24,830.00 input VAT; the OEM is owed the gross.
    assert by_account(draft) == {
        "1405.01": (19_100_000, 0),
        "2221.01": (2_483_000, 0),
        "2202.01": (0, 21_583_000),
    }
    assert (draft.store_id, draft.entry_date, draft.rule) == ("SH01", DAY, "vehicle_received")
    assert (draft.source_event_id, draft.source_id) == ("ev-1", "LGXCE4CB5R0123456")
    assert draft.source_type == "marque.inventory.v1.VehicleArrived"
    for line in draft.lines:
        assert (line.business_line, line.model_code, line.vin) == (
            "new_vehicles",
            "BYD-HAN",
            "LGXCE4CB5R0123456",
        )
    assert line_on(draft, "2202.01").party == "OEM:BYD"


def test_vehicle_vat_rounds_half_up_to_the_fen() -> None:
    # 0.13 x 12,345 fen = 1,604.85 -> 1,605 fen.
    draft = rules.vehicle_received(
        VehicleReceipt("ev-2", "SH01", "LGXCE4CB5R0123456", "Toyota", "TYT-CAMRY", 12_345, DAY)
    )
    # The OEM is the payables ledger's party, brand upper-cased: OEM:TOYOTA.
    assert line_on(draft, "2202.01").party == "OEM:TOYOTA"
    assert by_account(draft)["2221.01"] == (1_605, 0)
    assert by_account(draft)["2202.01"] == (0, 13_950)


def test_parts_received_values_quantity_times_cost_plus_vat_owed_to_the_supplier() -> None:
    draft = rules.parts_received(
        PartsReceipt("ev-3", "SH01", "06L115562B", 24, 5_200, "PO-SH01-0042", DAY)
    )
    # 24 x 52.00 = 1,248.00; VAT 162.24; gross 1,410.24.
    assert by_account(draft) == {
        "1405.03": (124_800, 0),
        "2221.01": (16_224, 0),
        "2202.02": (0, 141_024),
    }
    assert {line.business_line for line in draft.lines} == {"parts"}
    payable = line_on(draft, "2202.02")
    assert (payable.party, payable.memo) == ("SUPPLIER:PARTS", "PO-SH01-0042")
    assert draft.rule == "parts_received" and draft.source_event_id == "ev-3"


def test_vehicle_transfer_ships_as_two_entries_meeting_on_the_inter_store_account() -> None:
    out, incoming = rules.transfer_shipped(TransferMove(**vehicle_move()))  # type: ignore[arg-type]
    assert out.store_id == "BJ01" and incoming.store_id == "SH01"
    assert by_account(out) == {"1901": (19_100_000, 0), "1405.01": (0, 19_100_000)}
    assert by_account(incoming) == {"1402": (19_100_000, 0), "1901": (0, 19_100_000)}
    assert line_on(out, "1901").counterparty_store == "SH01"
    assert line_on(incoming, "1901").counterparty_store == "BJ01"
    assert (out.rule, incoming.rule) == ("transfer_shipped_out", "transfer_shipped_in")
    assert out.source_event_id == incoming.source_event_id == "ev-t1"
    assert out.source_id == incoming.source_id == "TR-BJ01-0007"
    # At cost, no VAT: nothing touches 2221.
    assert not [li for d in (out, incoming) for li in d.lines if li.account.startswith("2221")]
    assert {li.vin for li in out.lines + incoming.lines} == {"LGXCE4CB5R0123456"}
    # The group's 1901 nets to zero.
    assert sum(li.amount for d in (out, incoming) for li in d.lines if li.account == "1901") == 0


def test_parts_transfer_ships_at_the_sum_of_quantity_times_cost() -> None:
    out, incoming = rules.transfer_shipped(TransferMove(**parts_move()))  # type: ignore[arg-type]
    value = 12 * 5_200 + 20 * 29_000
    assert by_account(out) == {"1901": (value, 0), "1405.03": (0, value)}
    assert by_account(incoming) == {"1402": (value, 0), "1901": (0, value)}
    assert {li.business_line for li in out.lines + incoming.lines} == {"parts"}


@pytest.mark.parametrize(
    ("fields", "inventory"), [(vehicle_move(), "1405.01"), (parts_move(), "1405.03")]
)
def test_transfer_received_moves_goods_in_transit_into_stock(
    fields: dict[str, object], inventory: str
) -> None:
    arrival = TransferArrival(**fields)  # type: ignore[arg-type]
    draft = rules.transfer_received(arrival)
    assert draft.store_id == "SH01" and draft.rule == "transfer_received"
    assert by_account(draft) == {inventory: (arrival.value_fen, 0), "1402": (0, arrival.value_fen)}
    _, incoming = rules.transfer_shipped(TransferMove(**fields))  # type: ignore[arg-type]
    # What arrived clears what was in transit.
    transit = [li.amount for d in (incoming, draft) for li in d.lines if li.account == "1402"]
    assert sum(transit) == 0


def test_parts_consumed_books_cost_of_sales_against_the_repair_order() -> None:
    issue = PartsIssue(
        "ev-4",
        "SH01",
        "RO-SH01-0042",
        (CostedPart("06L115562B", 1, 5_150), CostedPart("G052167M2", 2, 29_000)),
        DAY,
    )
    draft = rules.parts_consumed(issue)
    assert by_account(draft) == {"6401.03": (63_150, 0), "1405.03": (0, 63_150)}
    assert {(li.business_line, li.memo) for li in draft.lines} == {("parts", "RO-SH01-0042")}
    assert draft.source_id == "RO-SH01-0042" and draft.rule == "parts_consumed"


def test_vehicle_delivered_books_its_cost_as_cost_of_sales() -> None:
    draft = rules.vehicle_delivered(
        VehicleDelivery(
            "ev-5", "SH01", "LGXCE4CB5R0123456", "BYD-HAN", 19_100_000, DAY, "SO-SH01-000125"
        )
    )
    assert by_account(draft) == {"6401.01": (19_100_000, 0), "1405.01": (0, 19_100_000)}
    for line in draft.lines:
        assert (line.business_line, line.model_code, line.vin, line.memo) == (
            "new_vehicles",
            "BYD-HAN",
            "LGXCE4CB5R0123456",
            "SO-SH01-000125",
        )
    assert draft.rule == "vehicle_delivered"


def test_drafts_for_dispatches_each_fact_to_its_rule() -> None:
    receipt = VehicleReceipt("e", "SH01", "LGXCE4CB5R0123456", "BYD", "BYD-HAN", 100, DAY)
    assert [d.rule for d in rules.drafts_for(receipt)] == ["vehicle_received"]
    assert [d.rule for d in rules.drafts_for(TransferMove(**vehicle_move()))] == [  # type: ignore[arg-type]
        "transfer_shipped_out",
        "transfer_shipped_in",
    ]
    assert [d.rule for d in rules.drafts_for(TransferArrival(**vehicle_move()))] == [  # type: ignore[arg-type]
        "transfer_received"
    ]


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda: VehicleReceipt("e", "SH01", "LGXCE4CB5R0123456", "BYD", "M", 0, DAY),
            id="zero-cost",
        ),
        pytest.param(
            lambda: VehicleReceipt("e", "SH01", "LGXCE4CB5R0123456", "", "M", 100, DAY),
            id="no-brand",
        ),
        pytest.param(
            lambda: VehicleReceipt("e", "", "LGXCE4CB5R0123456", "BYD", "M", 100, DAY),
            id="no-store",
        ),
        pytest.param(
            lambda: VehicleReceipt("e", "S" * 21, "LGXCE4CB5R0123456", "BYD", "M", 100, DAY),
            id="store-too-long",
        ),
        pytest.param(
            lambda: PartsReceipt("e", "SH01", "P1", 0, 100, "PO1", DAY), id="zero-quantity"
        ),
        pytest.param(
            lambda: PartsReceipt("e", "SH01", "P1", 1, -5, "PO1", DAY), id="negative-cost"
        ),
        pytest.param(lambda: PartsReceipt("e", "SH01", "P1", 1, 5, "", DAY), id="no-reference"),
        pytest.param(lambda: TransferMove(**vehicle_move(vehicle_cost_fen=0)), id="no-cost"),  # type: ignore[arg-type]
        pytest.param(lambda: TransferMove(**vehicle_move(to_store_id="BJ01")), id="same-store"),  # type: ignore[arg-type]
        pytest.param(lambda: TransferMove(**parts_move(part_lines=())), id="no-lines"),  # type: ignore[arg-type]
        pytest.param(lambda: PartsIssue("e", "SH01", "RO1", (), DAY), id="empty-issue"),
        pytest.param(
            lambda: VehicleDelivery("e", "SH01", "LGXCE4CB5R0123456", "M", 0, DAY), id="free-car"
        ),
    ],
)
def test_facts_that_cannot_be_valued_are_refused(build: object) -> None:
    with pytest.raises(InvalidInput):
        build()  # type: ignore[operator]
