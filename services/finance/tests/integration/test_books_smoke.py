"""The ledger's door: balance rule, duplicate source, closed period, immutability."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from marque_finance import books
from marque_finance.domain.accounts import AP_OEM, INVENTORY_NEW_VEHICLES, VAT_INPUT
from marque_finance.domain.ledger import EntryDraft, UnbalancedEntry, credit, debit
from marque_finance.unit_of_work import Finance


def draft(key: str, day: date = date(2026, 3, 5), store: str = "SMK1") -> EntryDraft:
    return EntryDraft(
        store_id=store,
        entry_date=day,
        description="smoke",
        source_type="test",
        source_id=key,
        source_event_id=key,
        rule="smoke",
        lines=(
            debit(INVENTORY_NEW_VEHICLES, 10_000),
            debit(VAT_INPUT, 1_300),
            credit(AP_OEM, 11_300),
        ),
    )


async def test_posts_once_and_refuses_unbalanced(finance: Finance) -> None:
    async with finance.uow() as uow:
        first = await books.post(uow.session, draft("smoke-1"))
        again = await books.post(uow.session, draft("smoke-1"))
        await uow.commit()
    assert first is not None and first.number.startswith("JE-SMK1-202603-")
    assert again is None
    bad = EntryDraft(
        store_id="SMK1",
        entry_date=date(2026, 3, 5),
        description="bad",
        source_type="test",
        source_id="x",
        lines=(debit(INVENTORY_NEW_VEHICLES, 100), credit(AP_OEM, 99)),
    )
    async with finance.uow() as uow:
        with pytest.raises(UnbalancedEntry, match=r"differ by 0\.01"):
            await books.post(uow.session, bad)


async def test_closed_period_moves_to_next_open_and_entries_are_immutable(finance: Finance) -> None:
    async with finance.uow() as uow:
        await uow.session.execute(
            text(
                "INSERT INTO periods (store_id, period, status, version) "
                "VALUES ('SMK2', '2026-04', 'closed', 1)"
            )
        )
        posted = await books.post(uow.session, draft("smoke-2", date(2026, 4, 20), "SMK2"))
        await uow.commit()
    assert posted is not None
    assert posted.period == "2026-05" and posted.entry_date == date(2026, 5, 1)
    assert "period 2026-04 is closed" in posted.note
    async with finance.uow() as uow:
        with pytest.raises(DBAPIError, match="append-only"):
            await uow.session.execute(
                text("UPDATE journal_lines SET debit_fen = 1 WHERE entry_id = :e"), {"e": posted.id}
            )
