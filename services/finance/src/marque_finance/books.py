"""The ledger's one door: every posting, whoever makes it, goes through `post`.

`post` checks the balance rule, opens the store's books on first use (a copy of the group's chart
template), refuses unknown or non-leaf accounts, places the entry in its month or the next open one,
numbers it, and writes the entry, its lines and a `finance.journal.posted` event in the caller's
transaction. The same (source_event_id, store, rule) posts once; a repeat returns None.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from marque.finance.v1 import events_pb2 as fev
from marque_finance.domain.ledger import EntryDraft, Line, place, reversal_of
from marque_finance.events import SOURCE, money, outgoing, timestamp
from marque_finance.models import Account, JournalEntry, JournalLine, Period
from marque_kit.db import write_outbox
from marque_kit.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True)
class PostedEntry:
    id: str
    number: str
    store_id: str
    period: str
    entry_date: date
    total_fen: int
    note: str = ""


async def ensure_books(session: AsyncSession, store_id: str) -> None:
    """Open a store's books: copy the group template into its chart, once."""
    have = await session.execute(
        select(col(Account.code)).where(col(Account.store_id) == store_id).limit(1)
    )
    if have.first() is not None:
        return
    await session.execute(
        text(
            "INSERT INTO accounts (store_id, code, name, name_en, category, normal_side, "
            "parent_code, from_template) "
            "SELECT :store, code, name, name_en, category, normal_side, parent_code, true "
            "FROM account_template ON CONFLICT DO NOTHING"
        ),
        {"store": store_id},
    )


async def _leaf_flags(session: AsyncSession, store_id: str, codes: list[str]) -> dict[str, bool]:
    rows = await session.execute(
        text(
            "SELECT a.code, EXISTS (SELECT 1 FROM accounts c WHERE c.store_id = a.store_id "
            "AND c.parent_code = a.code) AS has_children "
            "FROM accounts a WHERE a.store_id = :store AND a.code = ANY(:codes)"
        ),
        {"store": store_id, "codes": codes},
    )
    return {code: has_children for code, has_children in rows}


async def _check_accounts(session: AsyncSession, store_id: str, lines: tuple[Line, ...]) -> None:
    """Every line's account is a leaf of the store's chart; a store's first posting opens its books
    (one query in the usual case: the books are only opened when none of the accounts is found)."""
    codes = sorted({line.account for line in lines})
    found = await _leaf_flags(session, store_id, codes)
    if not found:
        await ensure_books(session, store_id)
        found = await _leaf_flags(session, store_id, codes)
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidInput(
            f"Account(s) {', '.join(missing)} are not in store {store_id}'s chart of accounts.",
            errors=[{"field": "lines", "rule": "unknown_account", "accounts": missing}],
        )
    parents = [c for c in codes if found[c]]
    if parents:
        raise InvalidInput(
            f"Account(s) {', '.join(parents)} have sub-accounts; post to a sub-account instead.",
            errors=[{"field": "lines", "rule": "leaf_account", "accounts": parents}],
        )


async def _placement_for(
    session: AsyncSession, store_id: str, entry_date: date
) -> tuple[str, date, str]:
    """Lock the store's periods from the entry's month on (FOR SHARE: a close waits for us)."""
    wanted = place(entry_date, ()).period
    periods = await _periods_from(session, store_id, wanted)
    if wanted not in periods:
        await _open_period(session, store_id, wanted)
        periods = await _periods_from(session, store_id, wanted)
    final = place(entry_date, [p for p, status in periods.items() if status == "closed"])
    if final.period not in periods:
        await _open_period(session, store_id, final.period)
    return final.period, final.entry_date, final.note


async def _periods_from(session: AsyncSession, store_id: str, first: str) -> dict[str, str]:
    rows = await session.execute(
        select(col(Period.period), col(Period.status))
        .where(col(Period.store_id) == store_id, col(Period.period) >= first)
        .order_by(col(Period.period))
        .with_for_update(read=True)
    )
    return {period: status for period, status in rows}


async def _open_period(session: AsyncSession, store_id: str, period: str) -> None:
    await session.execute(
        pg_insert(Period).values(store_id=store_id, period=period).on_conflict_do_nothing()
    )


async def _next_number(session: AsyncSession, store_id: str, period: str) -> str:
    result = await session.execute(
        text(
            "INSERT INTO entry_counters (store_id, period, last_no) VALUES (:s, :p, 1) "
            "ON CONFLICT (store_id, period) DO UPDATE SET last_no = entry_counters.last_no + 1 "
            "RETURNING last_no"
        ),
        {"s": store_id, "p": period},
    )
    return f"JE-{store_id}-{period.replace('-', '')}-{result.scalar_one():06d}"


async def already_posted(session: AsyncSession, draft: EntryDraft) -> str | None:
    if not draft.source_event_id:
        return None
    row = await session.execute(
        select(col(JournalEntry.id)).where(
            col(JournalEntry.source_event_id) == draft.source_event_id,
            col(JournalEntry.store_id) == draft.store_id,
            col(JournalEntry.rule) == draft.rule,
        )
    )
    return row.scalar_one_or_none()


async def post(
    session: AsyncSession, draft: EntryDraft, *, publish: bool = True
) -> PostedEntry | None:
    """Post one entry in the caller's transaction; None if this source was posted before."""
    draft = draft.checked()
    if not draft.source_event_id:
        draft = _with_key(draft, f"{draft.source_type}:{draft.source_id}:{uuid.uuid4()}")
    if await already_posted(session, draft):
        return None
    await _check_accounts(session, draft.store_id, draft.lines)
    period, entry_date, note = await _placement_for(session, draft.store_id, draft.entry_date)
    note = " ".join(n for n in (draft.note, note) if n)
    entry_id = str(uuid.uuid4())
    number = await _next_number(session, draft.store_id, period)
    inserted = await session.execute(
        pg_insert(JournalEntry)
        .values(
            id=entry_id,
            number=number,
            store_id=draft.store_id,
            period=period,
            entry_date=entry_date,
            original_date=draft.entry_date,
            description=draft.description,
            source_type=draft.source_type,
            source_id=draft.source_id,
            source_event_id=draft.source_event_id,
            rule=draft.rule or draft.source_type,
            reverses_entry_id=draft.reverses or None,
            note=note,
            total_fen=draft.total,
            created_by=draft.created_by,
        )
        .on_conflict_do_nothing(constraint="journal_entries_source_key")
        .returning(col(JournalEntry.id))
    )
    if inserted.first() is None:
        return None
    await session.execute(
        pg_insert(JournalLine),
        [
            {
                "entry_id": entry_id,
                "line_no": n,
                "store_id": draft.store_id,
                "period": period,
                "entry_date": entry_date,
                "account_code": line.account,
                "debit_fen": line.debit,
                "credit_fen": line.credit,
                "business_line": line.business_line,
                "model_code": line.model_code,
                "vin": line.vin,
                "counterparty_store_id": line.counterparty_store,
                "party": line.party,
                "memo": line.memo,
            }
            for n, line in enumerate(draft.lines, start=1)
        ],
    )
    posted = PostedEntry(entry_id, number, draft.store_id, period, entry_date, draft.total, note)
    if publish:
        await write_outbox(session, [_posted_event(posted, draft)], source=SOURCE)
    return posted


def _with_key(draft: EntryDraft, key: str) -> EntryDraft:
    from dataclasses import replace

    return replace(draft, source_event_id=key)


def _posted_event(posted: PostedEntry, draft: EntryDraft):  # type: ignore[no-untyped-def]
    return outgoing(
        fev.JournalEntryPosted(
            occurred_at=timestamp(),
            entry_id=posted.id,
            store_id=posted.store_id,
            period=posted.period,
            entry_date=posted.entry_date.isoformat(),
            source_type=draft.source_type,
            source_id=draft.source_id,
            total=money(posted.total_fen),
            reverses_entry_id=draft.reverses,
        ),
        "finance.journal.posted",
        subject=posted.id,
        store_id=posted.store_id,
    )


async def post_all(session: AsyncSession, drafts: list[EntryDraft]) -> list[PostedEntry]:
    """Post several entries in one transaction (an inter-store pair); skips ones already posted."""
    out = []
    for draft in drafts:
        posted = await post(session, draft)
        if posted is not None:
            out.append(posted)
    return out


async def load_draft(session: AsyncSession, entry_id: str) -> tuple[JournalEntry, EntryDraft]:
    entry = await session.get(JournalEntry, entry_id)
    if entry is None:
        raise NotFound(f"No journal entry {entry_id}.")
    rows = await session.execute(
        select(JournalLine)
        .where(col(JournalLine.entry_id) == entry_id)
        .order_by(col(JournalLine.line_no))
    )
    lines = tuple(
        Line(
            account=r.account_code,
            debit=r.debit_fen,
            credit=r.credit_fen,
            business_line=r.business_line,
            model_code=r.model_code,
            vin=r.vin,
            counterparty_store=r.counterparty_store_id,
            party=r.party,
            memo=r.memo,
        )
        for r in rows.scalars()
    )
    draft = EntryDraft(
        store_id=entry.store_id,
        entry_date=entry.entry_date,
        description=entry.description,
        source_type=entry.source_type,
        source_id=entry.source_id,
        lines=lines,
        source_event_id=entry.source_event_id,
        rule=entry.rule,
        reverses=entry.reverses_entry_id or "",
    )
    return entry, draft


async def reverse(
    session: AsyncSession, entry_id: str, *, on: date, reason: str, actor: str
) -> PostedEntry:
    """Cancel a posted entry with its mirror image; an entry is reversed at most once."""
    entry, draft = await load_draft(session, entry_id)
    if entry.reverses_entry_id:
        raise Conflict(f"Entry {entry.number} is itself a reversal; post a new entry instead.")
    posted = await post(
        session, reversal_of(draft, entry_id=entry_id, on=on, reason=reason, actor=actor)
    )
    if posted is None:
        raise Conflict(f"Entry {entry.number} has already been reversed.")
    return posted


async def balance(
    session: AsyncSession,
    account_code: str,
    *,
    store_ids: tuple[str, ...] | None,
    up_to_period: str | None = None,
) -> int:
    """Debits minus credits on an account and its sub-accounts, in the given stores (None: all)."""
    clauses = ["(account_code = :code OR account_code LIKE :children)"]
    params: dict[str, object] = {"code": account_code, "children": account_code + ".%"}
    if store_ids is not None:
        clauses.append("store_id = ANY(:stores)")
        params["stores"] = list(store_ids)
    if up_to_period:
        clauses.append("period <= :period")
        params["period"] = up_to_period
    result = await session.execute(
        text(
            "SELECT COALESCE(SUM(debit_fen - credit_fen), 0) FROM journal_lines WHERE "
            + " AND ".join(clauses)
        ),
        params,
    )
    return int(result.scalar_one())
