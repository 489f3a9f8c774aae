"""Money is an integer number of fen (1 CNY = 100 fen); never a float. VAT is 13% unless stated."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from marque_kit.errors import InvalidInput

FEN_PER_YUAN = 100
VAT_RATE = Fraction(13, 100)


def round_half_up(value: Fraction) -> int:
    """An exact amount of fen to a whole fen, halves away from zero (the tax office's rule)."""
    if value < 0:
        return -round_half_up(-value)
    return math.floor(value + Fraction(1, 2))


def require_fen(value: object, field: str, *, positive: bool = False) -> int:
    """A whole, non-negative (or positive) number of fen; floats are refused: they lose fen."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"{field} must be a whole number of fen, not {value!r}.",
            errors=[{"field": field, "rule": "integer_fen"}],
        )
    if value < 0 or (positive and value == 0):
        need = "more than zero" if positive else "zero or more"
        raise InvalidInput(
            f"{field} must be {need} ({value} fen given).",
            errors=[{"field": field, "rule": "positive" if positive else "non_negative"}],
        )
    return value


@dataclass(frozen=True)
class VatSplit:
    """A VAT-inclusive amount split into its net and its VAT; net + vat == gross, always."""

    gross: int
    net: int
    vat: int


def split_vat(gross_fen: int, rate: Fraction = VAT_RATE) -> VatSplit:
    """Prices to customers include VAT: net = gross / (1 + rate), rounded; VAT is the rest."""
    net = round_half_up(Fraction(gross_fen) / (1 + rate))
    return VatSplit(gross=gross_fen, net=net, vat=gross_fen - net)


def add_vat(net_fen: int, rate: Fraction = VAT_RATE) -> VatSplit:
    """A VAT-exclusive cost (what the OEM or a supplier invoices) plus its input VAT."""
    vat = round_half_up(Fraction(net_fen) * rate)
    return VatSplit(gross=net_fen + vat, net=net_fen, vat=vat)


def yuan(amount: int | str) -> int:
    """Fen from a yuan amount written by a person: `yuan(226_000)` or `yuan("226000.50")`."""
    exact = Fraction(str(amount)) * FEN_PER_YUAN
    if exact.denominator != 1:
        raise InvalidInput(f"{amount} CNY is not a whole number of fen.")
    return int(exact)


def format_yuan(fen: int) -> str:
    """`1234567` -> `"12,345.67"`: for sentences a person reads."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}"
