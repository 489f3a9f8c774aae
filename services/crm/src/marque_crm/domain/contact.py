"""Contact facts a person types: mobile numbers and national ID numbers (身份证), checked and
normalised so that the same person typed twice is recognised as one, and masked for display.

- A mobile is stored in E.164. Chinese mobiles (11 digits, 1[3-9]…) may be typed with or without
  +86 / 0086 / 86, spaces or dashes; anything else must carry its country code (+44 …) and be a
  valid number there.
- A national ID is the 18-character resident ID: 17 digits and a check character (ISO 7064
  MOD 11-2, 'X' for 10) whose digits 7-14 are a real birth date.
"""

from __future__ import annotations

import re
from datetime import date

import phonenumbers

from marque_kit.errors import InvalidInput

_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-().]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalise_mobile(raw: str, field: str = "mobile") -> str:
    """The number in E.164 (`+8613812345678`); 422 naming what is wrong otherwise."""
    text = _SEPARATORS.sub("", (raw or "").strip())
    if not text:
        raise InvalidInput(
            "A mobile number is required.", errors=[{"field": field, "rule": "required"}]
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    national = text
    for prefix in ("+86", "86"):
        if text.startswith(prefix) and len(text) == len(prefix) + 11:
            national = text[len(prefix) :]
            break
    if _CN_MOBILE.match(national):
        return "+86" + national
    if not text.startswith("+"):
        raise InvalidInput(
            f"{raw!r} is not a Chinese mobile number (11 digits starting 13-19); "
            f"a number from another country needs its country code, like +44 7911 123456.",
            errors=[{"field": field, "rule": "mobile_format"}],
        )
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(
            f"{raw!r} is not a valid phone number for its country code.",
            errors=[{"field": field, "rule": "mobile_invalid"}],
        )
    if parsed.country_code == 86:
        raise InvalidInput(
            f"{raw!r} is a Chinese number but not a mobile (11 digits starting 13-19).",
            errors=[{"field": field, "rule": "mobile_format"}],
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_mobile(e164: str) -> str:
    """`+8613812345678` -> `+86 138****5678`; other countries keep the code and the last 4."""
    if e164.startswith("+86") and len(e164) == 14:
        national = e164[3:]
        return f"+86 {national[:3]}****{national[-4:]}"
    return f"{e164[:3]}{'*' * max(len(e164) - 7, 0)}{e164[-4:]}"


def check_national_id(raw: str, field: str = "national_id") -> str:
    """The 18-character ID, upper-case; 422 with the reason when the checksum or date is wrong."""
    text = (raw or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", text):
        raise InvalidInput(
            "A national ID number (身份证号) has 18 characters: 17 digits and a last digit or X.",
            errors=[{"field": field, "rule": "id_format"}],
        )
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1900:
        raise InvalidInput(
            f"National ID {mask_national_id(text)} has no valid birth date in digits 7-14.",
            errors=[{"field": field, "rule": "id_birth_date"}],
        )
    expected = _ID_CHECK[sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True)) % 11]
    if text[17] != expected:
        raise InvalidInput(
            f"National ID {mask_national_id(text)} fails its check digit (expected {expected} "
            f"as the last character); please re-check the number.",
            errors=[{"field": field, "rule": "id_checksum"}],
        )
    return text


def with_id_check_digit(first17: str) -> str:
    """The full ID for 17 digits (tests and demo data)."""
    return (
        first17 + _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]
    )


def mask_national_id(national_id: str) -> str:
    """`310101199001011234` -> `3101**********1234`."""
    if len(national_id) < 8:
        return "*" * len(national_id)
    return national_id[:4] + "*" * (len(national_id) - 8) + national_id[-4:]


def birthday_of(national_id: str) -> date:
    return date(int(national_id[6:10]), int(national_id[10:12]), int(national_id[12:14]))
