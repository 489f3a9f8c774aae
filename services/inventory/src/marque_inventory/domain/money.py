"""Money is an integer number of fen (1 CNY = 100 fen); never a float."""

from __future__ import annotations

import math
from fractions import Fraction

from marque_kit.errors import InvalidInput

FEN_PER_YUAN = 100


def round_half_up(value: Fraction) -> int:
    """An exact amount of fen to a whole fen, halves away from zero (the tax office's rule)."""
    if value < 0:
        return -round_half_up(-value)
    return math.floor(value + Fraction(1, 2))


def require_fen(value: object, field: str) -> int:
    """A non-negative whole number of fen; floats are refused because they lose fen."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{field} must be a whole number of fen, not {value!r}.",
            errors=[{"field": field, "rule": "integer_fen"}],
        )
    if value < 0:
        raise InvalidInput(
            f"{field} cannot be negative ({value} fen).",
            errors=[{"field": field, "rule": "non_negative"}],
        )
    return value


def yuan(amount: int | str) -> int:
    """Fen from a yuan amount written by a person: `yuan(226_000)` or `yuan("226000.50")`."""
    exact = Fraction(str(amount)) * FEN_PER_YUAN
    if exact.denominator != 1:
        raise InvalidInput(f"{amount} CNY is not a whole number of fen.")
    return int(exact)


def format_cny(fen: int) -> str:
    """`2_000_000` -> `'20,000.00 CNY'`, for sentences people read."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d} CNY"
