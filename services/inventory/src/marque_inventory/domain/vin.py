"""The Vehicle Identification Number (VIN): 17 characters (ISO 3779), check digit in position 9.

Chinese VINs (GB 16735) carry the check digit as North American ones do, so every VIN is checked.
"""

from __future__ import annotations

from marque_inventory.domain.errors import InvalidVin

VIN_LENGTH = 17
CHECK_DIGIT_POSITION = 9  # 1-based, as the standard and the people reading errors count

# Letters I, O and Q are never used: they are too easily read as 1 and 0.
FORBIDDEN_LETTERS = frozenset("IOQ")

TRANSLITERATION: dict[str, int] = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
ALLOWED_CHARACTERS = frozenset(TRANSLITERATION)

WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def normalize_vin(raw: str) -> str:
    """What people type, as the standard writes it: no surrounding blanks, capital letters."""
    return raw.strip().upper()


def _refuse(rule: str, detail: str, **where: object) -> InvalidVin:
    return InvalidVin(detail, errors=[{"field": "vin", "rule": rule, **where}])


def _check_alphabet(vin: str) -> None:
    for position, char in enumerate(vin, start=1):
        if char in FORBIDDEN_LETTERS:
            raise _refuse(
                "forbidden_letter",
                f"VIN {vin} has the letter {char} in position {position}; "
                "the letters I, O and Q are not allowed in a VIN.",
                position=position,
            )
        if char not in ALLOWED_CHARACTERS:
            raise _refuse(
                "illegal_character",
                f"VIN {vin} has the character {char!r} in position {position}; "
                "a VIN holds only digits and the letters A-Z except I, O and Q.",
                position=position,
            )


def _weighted_check_digit(vin: str) -> str:
    remainder = sum(TRANSLITERATION[c] * w for c, w in zip(vin, WEIGHTS, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def check_digit(vin: str) -> str:
    """The check digit a 17-character VIN must carry in position 9 (whatever it carries now)."""
    vin = normalize_vin(vin)
    if len(vin) != VIN_LENGTH:
        raise _refuse("length", f"VIN {vin} has {len(vin)} characters; a VIN has exactly 17.")
    _check_alphabet(vin)
    return _weighted_check_digit(vin)


def validate_vin(raw: str) -> str:
    """The normalized VIN, or InvalidVin naming the rule it breaks (length, letters, check)."""
    if not isinstance(raw, str):
        raise _refuse("required", "A VIN is required.")
    vin = normalize_vin(raw)
    expected = check_digit(vin)
    actual = vin[CHECK_DIGIT_POSITION - 1]
    if actual != expected:
        raise _refuse(
            "check_digit",
            f"VIN {vin}: the check digit in position 9 should be '{expected}' but is '{actual}'; "
            "a character was probably mistyped.",
            position=CHECK_DIGIT_POSITION,
            expected=expected,
            actual=actual,
        )
    return vin


def with_check_digit(vin_with_placeholder: str) -> str:
    """A valid VIN from a 16-character stem (check digit inserted) or a 17-character VIN whose
    position 9 is a placeholder (replaced); used by demo data and tests."""
    stem = normalize_vin(vin_with_placeholder)
    if len(stem) == VIN_LENGTH - 1:
        stem = stem[: CHECK_DIGIT_POSITION - 1] + "0" + stem[CHECK_DIGIT_POSITION - 1 :]
    elif len(stem) == VIN_LENGTH:
        stem = stem[: CHECK_DIGIT_POSITION - 1] + "0" + stem[CHECK_DIGIT_POSITION:]
    digit = check_digit(stem)
    return stem[: CHECK_DIGIT_POSITION - 1] + digit + stem[CHECK_DIGIT_POSITION:]
