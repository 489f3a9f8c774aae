"""Cursor (keyset) pagination: `?limit=&cursor=` in, `{items, next_cursor}` out (DESIGN.md §8).

The cursor is opaque to clients: base64url JSON of the last row's sort key. Lists are ordered by
(sort column, id column), both NOT NULL, so every row appears exactly once across pages even while
rows are added.

    @router.get("/widgets", response_model=Page[WidgetOut])
    async def list_widgets(principal: CurrentPrincipal, page: PageQuery, ...):
        stmt = scope_to_stores(select(widgets), widgets.c.store_id, principal)
        rows, next_cursor = await paginate(
            session, stmt, page, order=(widgets.c.created_at, widgets.c.id)
        )
        return Page(items=[WidgetOut.model_validate(r) for r in rows], next_cursor=next_cursor)
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from marque_kit.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams:
    """`limit` 1..200 (default 50) and an opaque `cursor`; use as `page: PageQuery`."""

    def __init__(
        self,
        limit: Annotated[
            int, Query(ge=1, le=MAX_LIMIT, description="Rows per page (1-200).")
        ] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None,
            Query(max_length=1000, description="`next_cursor` of the previous page."),
        ] = None,
    ) -> None:
        self.limit = limit
        self.cursor = cursor


PageQuery = Annotated[PageParams, Depends()]


def _bad_cursor(why: str) -> InvalidInput:
    return InvalidInput(
        f"The cursor is not valid ({why}). Start again from the first page, without a cursor.",
        errors=[{"field": "cursor", "location": "query", "message": why}],
    )


def _tag(value: Any) -> Any:
    # JSON has no datetime/UUID/Decimal: tag them so they come back as the same Python type.
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} in a cursor")


def _untag(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if not isinstance(raw, str):
            raise ValueError("tagged value is not a string")
        if tag == "dt":
            return datetime.fromisoformat(raw)
        if tag == "d":
            return date.fromisoformat(raw)
        if tag == "u":
            return uuid.UUID(raw)
        if tag == "n":
            return Decimal(raw)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError("unexpected value")


def encode_cursor(key: Sequence[Any]) -> str:
    raw = orjson.dumps([_tag(v) for v in key])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, *, size: int | None = None) -> list[Any]:
    """The sort key inside a cursor; InvalidInput (422) when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list):
            raise ValueError("not a list")
        key = [_untag(v) for v in values]
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise _bad_cursor("it was not made by this list") from exc
    if size is not None and len(key) != size:
        raise _bad_cursor("it belongs to another list")
    return key


def _python_type(column: Any) -> type | None:
    try:
        return column.type.python_type
    except (AttributeError, NotImplementedError):
        return None


def apply_cursor(
    stmt: Select[Any],
    page: PageParams,
    *,
    order: Sequence[Any],
    descending: bool = False,
) -> Select[Any]:
    """Order by `order` (sort column(s) then id), start after the cursor, fetch limit + 1 rows."""
    if page.cursor:
        key = decode_cursor(page.cursor, size=len(order))
        for column, value in zip(order, key, strict=True):
            expected = _python_type(column)
            # A hand-made cursor of the wrong type would otherwise fail in the database as a 500.
            if value is None or (
                expected is not None
                and not isinstance(value, expected)
                and not (expected is float and isinstance(value, int))
            ):
                raise _bad_cursor("it belongs to another list")
        bound = [literal(v, type_=c.type) for c, v in zip(order, key, strict=True)]
        row, after = tuple_(*order), tuple_(*bound)
        stmt = stmt.where(row < after if descending else row > after)
    ordering = [c.desc() if descending else c.asc() for c in order]
    return stmt.order_by(*ordering).limit(page.limit + 1)


def _attribute_key(order: Sequence[Any]) -> Callable[[Any], Sequence[Any]]:
    names = [c.key for c in order]
    return lambda item: [getattr(item, name) for name in names]


def cut_page(
    rows: Sequence[T],
    page: PageParams,
    *,
    order: Sequence[Any],
    key: Callable[[T], Sequence[Any]] | None = None,
) -> tuple[list[T], str | None]:
    """Split the limit + 1 rows from `apply_cursor` into this page and the next page's cursor."""
    items = list(rows[: page.limit])
    if len(rows) <= page.limit:
        return items, None
    key_of = key or _attribute_key(order)
    return items, encode_cursor(key_of(items[-1]))


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    page: PageParams,
    *,
    order: Sequence[Any],
    descending: bool = False,
    scalars: bool | None = None,
    key: Callable[[Any], Sequence[Any]] | None = None,
) -> tuple[list[Any], str | None]:
    """Run `stmt` for one page. ORM entity selects yield objects, Core selects yield rows.

    `scalars` defaults to True when the select names a single ORM entity (e.g. `select(Lead)`).
    """
    query = apply_cursor(stmt, page, order=order, descending=descending)
    result = await session.execute(query)
    if scalars is None:
        descriptions = stmt.column_descriptions
        scalars = (
            len(descriptions) == 1
            and descriptions[0].get("entity") is not None
            and (descriptions[0].get("expr") is descriptions[0].get("entity"))
        )
    rows: Sequence[Any] = result.scalars().all() if scalars else result.all()
    return cut_page(rows, page, order=order, key=key)
