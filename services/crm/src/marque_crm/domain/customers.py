"""Customers (客户): the profile a store keeps, marketing consent, vehicles owned, the timeline,
and merging two records of one person. Pure Python: the rulebook, no storage.

Profile
- Gender is `male`, `female` or empty (not told). Birthday is a real date between 1900 and today;
  when a national ID is known its digits 7-14 are the birthday, and a different one is refused.
- City up to 60 characters, address up to 300 (the address is personal data: sealed at rest and
  shown masked without `pii:read`).
- A WeChat id (微信号) is 6-20 characters: a letter first, then letters, digits, `_` or `-`
  (ids made by WeChat itself look like `wxid_…` and follow the same shape).

Marketing consent (PIPL 个人信息保护法)
- Per channel: `sms`, `wechat`, `phone`, `email`. With no statement a customer has NOT consented.
- Each grant or withdrawal is kept with its source (the form, the call, the WeChat menu…), the
  time the customer said it and who recorded it. The latest statement per channel wins.

Vehicles owned
- A VIN is 17 characters without I, O or Q, and position 9 is the ISO 3779 check digit (China's
  GB 16735 requires it too). A plate is a Chinese registration (沪A12345, NEV 粤B D12345).
  A vehicle was bought `here` (in one of the group's stores) or `elsewhere`.

Timeline
- Append-only. Staff write `call`, `visit`, `wechat` and `note`; the system writes `system`
  entries (quote sent, order signed, serviced…) with a reference to what happened.

Merging duplicates (合并客户)
- A manager decides two records are one person. They must be two different, live records of the
  same kind (person/company); two different national ID numbers are two different people.
- The survivor keeps its name, mobile, store and owner; its blank profile fields are filled from
  the merged record. The merged record stays as a tombstone pointing to the survivor, so its id,
  mobile and ID number still lead to the survivor.
- Vehicles and consents move to the survivor (a VIN both had collapses into the survivor's row);
  the timeline is never rewritten: the survivor's timeline reads the merged record's entries too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from marque_kit.errors import Conflict, InvalidInput

GENDERS = ("male", "female", "")
CONSENT_CHANNELS = ("sms", "wechat", "phone", "email")
BOUGHT = ("here", "elsewhere")
STAFF_TIMELINE_KINDS = ("call", "visit", "wechat", "note")
TIMELINE_KINDS = (*STAFF_TIMELINE_KINDS, "system")

MAX_NAME = 200
MAX_CITY = 60
MAX_ADDRESS = 300
MAX_SUMMARY = 2000
MAX_SOURCE = 120
# A statement dated a little ahead of our clock is a clock skew; further ahead is a typo.
FUTURE_SKEW = timedelta(minutes=5)

_WECHAT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{5,19}$")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE = re.compile(rf"^[{_PROVINCES}][A-Z][A-HJ-NP-Z0-9]{{4,5}}[A-HJ-NP-Z0-9挂学警港澳]$")
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def _invalid(message: str, field: str, rule: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field, "rule": rule}])


# ---- Profile ------------------------------------------------------------------------------------


def check_name(raw: str) -> str:
    name = (raw or "").strip()
    if not name or len(name) > MAX_NAME:
        raise _invalid(f"A customer needs a name of 1 to {MAX_NAME} characters.", "name", "length")
    return name


def check_gender(raw: str) -> str:
    gender = (raw or "").strip().lower()
    if gender not in GENDERS:
        raise _invalid(
            f"Gender {raw!r} is not male or female (leave it empty if not told).", "gender", "enum"
        )
    return gender


def check_birthday(born: date | None, *, today: date, national_id_birthday: date | None) -> None:
    """A real date, not in the future, and the one in the national ID when that is known."""
    if born is None:
        return
    if born.year < 1900 or born > today:
        raise _invalid(
            f"Birthday {born.isoformat()} is not a date between 1900 and today.",
            "birthday",
            "range",
        )
    if national_id_birthday is not None and born != national_id_birthday:
        raise _invalid(
            f"Birthday {born.isoformat()} differs from the birth date in the national ID "
            f"({national_id_birthday.isoformat()}); correct one of them.",
            "birthday",
            "matches_national_id",
        )


def check_city(raw: str) -> str:
    city = (raw or "").strip()
    if len(city) > MAX_CITY:
        raise _invalid(f"City is at most {MAX_CITY} characters.", "city", "length")
    return city


def check_address(raw: str) -> str:
    address = (raw or "").strip()
    if len(address) > MAX_ADDRESS:
        raise _invalid(f"Address is at most {MAX_ADDRESS} characters.", "address", "length")
    return address


def check_wechat_id(raw: str) -> str:
    wechat = (raw or "").strip()
    if wechat and not _WECHAT_ID.match(wechat):
        raise _invalid(
            f"WeChat id {wechat!r} is not valid: 6-20 characters, a letter first, then letters, "
            "digits, _ or -.",
            "wechat_id",
            "wechat_format",
        )
    return wechat


def mask_address(address: str) -> str:
    """Keep the start (province/city, at most 6 characters and never half of it) and hide the
    rest: `上海市浦东新区世纪大道100号` -> `上海市浦东新****`."""
    if not address:
        return ""
    shown = address[: min(6, (len(address) - 1) // 2)]
    return shown + "****"


# ---- Consent ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentStatement:
    """What the customer said about marketing on one channel, and where and when."""

    channel: str
    granted: bool
    source: str
    at: datetime
    recorded_by: str = ""
    seq: int = 0  # order of recording, to break ties between statements of the same instant


@dataclass(frozen=True)
class ConsentState:
    channel: str
    status: str  # none | granted | withdrawn
    source: str = ""
    at: datetime | None = None
    recorded_by: str = ""

    @property
    def granted(self) -> bool:
        return self.status == "granted"


def check_consent(channel: str, source: str, at: datetime, *, now: datetime) -> tuple[str, str]:
    """The channel and source, checked; 422 naming the problem otherwise."""
    channel = (channel or "").strip().lower()
    if channel not in CONSENT_CHANNELS:
        raise _invalid(
            f"Consent channel {channel!r} is not one of {', '.join(CONSENT_CHANNELS)}.",
            "channel",
            "enum",
        )
    source = (source or "").strip()
    if not source or len(source) > MAX_SOURCE:
        raise _invalid(
            "Say where the customer gave or withdrew consent (the form, the call, the WeChat "
            f"menu…): a source of 1 to {MAX_SOURCE} characters is required (PIPL).",
            "source",
            "required",
        )
    if at > now + FUTURE_SKEW:
        raise _invalid("A consent statement cannot be dated in the future.", "at", "future")
    return channel, source


def current_consents(statements: Iterable[ConsentStatement]) -> dict[str, ConsentState]:
    """Each channel's standing consent: the latest statement wins; no statement means none."""
    latest: dict[str, ConsentStatement] = {}
    for statement in statements:
        held = latest.get(statement.channel)
        if held is None or (statement.at, statement.seq) > (held.at, held.seq):
            latest[statement.channel] = statement
    states: dict[str, ConsentState] = {}
    for channel in CONSENT_CHANNELS:
        s = latest.get(channel)
        states[channel] = (
            ConsentState(channel, "none")
            if s is None
            else ConsentState(
                channel, "granted" if s.granted else "withdrawn", s.source, s.at, s.recorded_by
            )
        )
    return states


# ---- Vehicles owned -----------------------------------------------------------------------------


def vin_check_digit(vin17: str) -> str:
    """ISO 3779 check character for a 17-character VIN (position 9 is ignored)."""
    remainder = sum(_VIN_VALUES[c] * w for c, w in zip(vin17, _VIN_WEIGHTS, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def check_vin(raw: str, field: str = "vin") -> str:
    """The VIN upper-cased; 422 when its length, letters or check digit are wrong."""
    vin = re.sub(r"[\s-]", "", raw or "").upper()
    if len(vin) != 17:
        raise _invalid(f"A VIN has 17 characters; {vin!r} has {len(vin)}.", field, "vin_length")
    bad = sorted({c for c in vin if c not in _VIN_VALUES})
    if bad:
        raise _invalid(
            f"VIN {vin} contains {', '.join(bad)}; VINs use digits and letters except I, O and Q.",
            field,
            "vin_characters",
        )
    expected = vin_check_digit(vin)
    if vin[8] != expected:
        raise _invalid(
            f"VIN {vin} fails its check digit (position 9 should be {expected}); "
            "please re-check the number on the registration certificate.",
            field,
            "vin_check_digit",
        )
    return vin


def normalise_plate(raw: str, field: str = "plate") -> str:
    """A Chinese plate without spaces or dots (`沪A·12345` -> `沪A12345`); empty if unknown."""
    plate = re.sub(r"[\s·.\-]", "", raw or "").upper()
    if plate and not _PLATE.match(plate):
        raise _invalid(
            f"{raw!r} is not a Chinese plate number: a province character, a letter and 5 "
            "(6 for new-energy) letters or digits, like 沪A12345 or 粤BD12345.",
            field,
            "plate_format",
        )
    return plate


def check_bought(raw: str) -> str:
    bought = (raw or "").strip().lower()
    if bought not in BOUGHT:
        raise _invalid(f"bought is 'here' or 'elsewhere', not {raw!r}.", "bought", "enum")
    return bought


def check_ownership_dates(purchased_on: date | None, sold_on: date | None, *, today: date) -> None:
    if purchased_on is not None and purchased_on > today:
        raise _invalid("The purchase date cannot be in the future.", "purchased_on", "future")
    if sold_on is not None:
        if sold_on > today:
            raise _invalid(
                "The date the car was sold cannot be in the future.", "sold_on", "future"
            )
        if purchased_on is not None and sold_on < purchased_on:
            raise _invalid(
                "The car cannot be sold before it was bought.", "sold_on", "before_purchase"
            )


# ---- Timeline -----------------------------------------------------------------------------------


def check_timeline_entry(kind: str, summary: str, *, by_staff: bool) -> tuple[str, str]:
    kinds = STAFF_TIMELINE_KINDS if by_staff else TIMELINE_KINDS
    kind = (kind or "").strip().lower()
    if kind not in kinds:
        raise _invalid(
            f"Timeline kind {kind!r} is not one of {', '.join(kinds)}"
            + (" (system entries are written by Marque itself)." if by_staff else "."),
            "kind",
            "enum",
        )
    summary = (summary or "").strip()
    if not summary or len(summary) > MAX_SUMMARY:
        raise _invalid(
            f"A timeline entry needs a summary of 1 to {MAX_SUMMARY} characters.",
            "summary",
            "length",
        )
    return kind, summary


# ---- Merging ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeSide:
    """What the merge rules need to know of one record."""

    id: str
    kind: str
    live: bool
    national_id_index: str | None = None
    wechat_id: str = ""
    gender: str = ""
    birthday: date | None = None
    city: str = ""
    has_address: bool = False
    owner: str = ""


@dataclass(frozen=True)
class ProfileFill:
    """Blank survivor fields the merged record fills (True: take the merged record's value)."""

    national_id: bool = False
    wechat_id: bool = False
    gender: bool = False
    birthday: bool = False
    city: bool = False
    address: bool = False
    owner: bool = False

    @property
    def any(self) -> bool:
        return any(vars(self).values())


def check_merge(survivor: MergeSide, merged: MergeSide) -> None:
    """Refuse merges that cannot be right whatever the manager believes (409 with the reason)."""
    if survivor.id == merged.id:
        raise InvalidInput(
            "A customer cannot be merged into itself; name the duplicate record to merge.",
            errors=[{"field": "merged_customer_id", "rule": "differs"}],
        )
    for side, role in ((survivor, "surviving"), (merged, "duplicate")):
        if not side.live:
            raise Conflict(
                f"The {role} customer {side.id} was already merged into another record; "
                "merge into (or from) that record instead."
            )
    if survivor.kind != merged.kind:
        raise Conflict(
            f"Customer {survivor.id} is a {survivor.kind} and {merged.id} a {merged.kind}; "
            "a person and a company are not one customer."
        )
    if (
        survivor.national_id_index
        and merged.national_id_index
        and survivor.national_id_index != merged.national_id_index
    ):
        raise Conflict(
            f"Customers {survivor.id} and {merged.id} have different national ID numbers, so they "
            "are two people; they cannot be merged."
        )


def profile_fill(survivor: MergeSide, merged: MergeSide) -> ProfileFill:
    """The survivor keeps what it has; each blank is filled from the merged record."""
    return ProfileFill(
        national_id=not survivor.national_id_index and bool(merged.national_id_index),
        wechat_id=not survivor.wechat_id and bool(merged.wechat_id),
        gender=not survivor.gender and bool(merged.gender),
        birthday=survivor.birthday is None and merged.birthday is not None,
        city=not survivor.city and bool(merged.city),
        address=not survivor.has_address and merged.has_address,
        owner=not survivor.owner and bool(merged.owner),
    )


@dataclass(frozen=True)
class OwnedCar:
    """A vehicle row as the merge rules see it."""

    id: str
    vin: str
    plate: str = ""
    model_code: str = ""
    purchased_on: date | None = None


@dataclass(frozen=True)
class VehicleMove:
    move: tuple[str, ...]  # merged record's rows that now belong to the survivor
    # (merged row id, survivor row id, survivor row with its blanks filled) for a VIN both had
    collapse: tuple[tuple[str, str, OwnedCar], ...]


def plan_vehicle_move(survivor: Iterable[OwnedCar], merged: Iterable[OwnedCar]) -> VehicleMove:
    kept = {car.vin: car for car in survivor}
    move: list[str] = []
    collapse: list[tuple[str, str, OwnedCar]] = []
    for car in merged:
        same = kept.get(car.vin)
        if same is None:
            move.append(car.id)
            continue
        filled = replace(
            same,
            plate=same.plate or car.plate,
            model_code=same.model_code or car.model_code,
            purchased_on=same.purchased_on or car.purchased_on,
        )
        collapse.append((car.id, same.id, filled))
    return VehicleMove(tuple(move), tuple(collapse))
