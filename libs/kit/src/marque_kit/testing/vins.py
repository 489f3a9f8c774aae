"""VINs for tests (ISO 3779 check digit), computed apart from any service's own check, so that a
test feeding a service a VIN does not trust the code it is testing."""

from __future__ import annotations

_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def with_check_digit(vin: str) -> str:
    """`vin` (17 characters) with position 9 set to its check digit."""
    remainder = sum(_VALUES[c] * w for c, w in zip(vin, _WEIGHTS, strict=True)) % 11
    return vin[:8] + ("X" if remainder == 10 else str(remainder)) + vin[9:]


def with_wrong_check_digit(vin: str) -> str:
    right = vin[8]
    return vin[:8] + ("1" if right != "1" else "2") + vin[9:]
