"""Column helpers shared by CRM's table modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, func
from sqlmodel import Field


def ts(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), **kw))


def created() -> Any:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False),
    )


def fen(**kw: Any) -> Any:
    """An amount in fen (BIGINT, never a float)."""
    return Field(default=0, sa_type=BigInteger, **kw)
