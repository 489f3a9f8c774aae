"""Tags (标签), auto-tagging rules and segments (客户分群): the rulebook, pure Python.

Tags
- A tag has a name (1-40 characters), an optional colour (`#RRGGBB`) and a kind: `manual` (people
  put it on customers) or `auto` (only the rules put it on and take it off). A tag belongs to one
  store, or to the whole group when its store is empty; the auto tags are group tags.
- A customer carries a tag once, with its source: `manual` (someone tagged them) or `rule`.
  Re-running the rules only adds and removes `rule` tags; a tag put on by hand stays.

Auto-tagging rules (evaluated over `CustomerFacts`, parameters group-wide in `TagRuleParams`)
- `loan_intention` 贷款意向: a lead (not closed as invalid) says they will pay by loan or lease.
- `first_car` 首购: the customer owns no vehicle we know of, and says this is their first purchase.
- `vip` VIP: lifetime spend with the group is above `vip_lifetime_spend_fen` (fen). Spend is not
  known to CRM yet: sales and aftersales events will add to the `lifetime_spend_fen` fact.
- `churn_risk` 流失风险: no visit or service for `churn_months` months (12 by default). A customer
  who never visited counts from the day they became known; a customer known for less than that
  is not at risk.

Segments
- A segment is a saved filter, validated here: unknown fields and bad values are refused (422)
  with one error per problem, so a person can fix them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from marque_crm.domain import customers, leads
from marque_crm.domain.store_rules import GRADES
from marque_kit.errors import InvalidInput

TAG_KINDS = ("manual", "auto")
TAG_SOURCES = ("manual", "rule")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
MAX_TAG_NAME = 40
# Dates a segment filter may name: wide enough for any customer, narrow enough that the day's
# start in the store's time zone is still a storable instant (0001-01-01 and 9999-12-31 are not).
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
_DAY_RANGE = f"a date from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}"


@dataclass(frozen=True)
class AutoTag:
    rule: str
    name: str
    colour: str
    description: str


# The rules, and the group tag each one maintains (names are what people see).
AUTO_TAGS: dict[str, AutoTag] = {
    tag.rule: tag
    for tag in (
        AutoTag(
            "loan_intention",
            "贷款意向 loan intention",
            "#2F80ED",
            "A lead says the car will be paid by loan or lease.",
        ),
        AutoTag(
            "first_car",
            "首购 first car",
            "#27AE60",
            "Owns no vehicle we know of and says this is their first purchase.",
        ),
        AutoTag(
            "vip",
            "VIP",
            "#F2C94C",
            "Lifetime spend with the group above the VIP threshold.",
        ),
        AutoTag(
            "churn_risk",
            "流失风险 churn risk",
            "#EB5757",
            "No visit or service for the churn period (12 months by default).",
        ),
    )
}
RULES = tuple(AUTO_TAGS)
LOAN_INTENTIONS = frozenset({"loan", "lease"})

# Default VIP threshold: ¥300,000 spent with the group, in fen.
DEFAULT_VIP_SPEND_FEN = 30_000_000
DEFAULT_CHURN_MONTHS = 12


def check_tag_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_TAG_NAME:
        raise InvalidInput(
            f"A tag name is 1 to {MAX_TAG_NAME} characters.",
            errors=[{"field": "name", "rule": "length"}],
        )
    return name


def check_colour(colour: str) -> str:
    """`#RRGGBB` (upper-cased) or empty for the default colour."""
    colour = (colour or "").strip()
    if colour and not _COLOUR.match(colour):
        raise InvalidInput(
            f"Colour {colour!r} is not of the form #RRGGBB, e.g. #2F80ED.",
            errors=[{"field": "colour", "rule": "format"}],
        )
    return colour.upper()


@dataclass(frozen=True)
class TagRuleParams:
    """The auto-tagging parameters, one set for the whole group."""

    vip_lifetime_spend_fen: int = DEFAULT_VIP_SPEND_FEN
    churn_months: int = DEFAULT_CHURN_MONTHS
    enabled: tuple[str, ...] = RULES

    def __post_init__(self) -> None:
        errors: list[dict[str, Any]] = []
        if not isinstance(self.vip_lifetime_spend_fen, int) or self.vip_lifetime_spend_fen <= 0:
            errors.append({"field": "vip_lifetime_spend_fen", "rule": "positive integer fen"})
        if not isinstance(self.churn_months, int) or not 1 <= self.churn_months <= 120:
            errors.append({"field": "churn_months", "rule": "range 1-120"})
        unknown = [r for r in self.enabled if r not in AUTO_TAGS]
        if unknown:
            errors.append({"field": "enabled", "rule": "enum", "unknown": unknown})
        if errors:
            raise InvalidInput(
                "Auto-tag parameters: the VIP threshold is a positive amount in fen, the churn "
                f"period 1-120 months, and rules are among {', '.join(RULES)}.",
                errors=errors,
            )


@dataclass(frozen=True)
class CustomerFacts:
    """What the rules look at for one customer, gathered from leads, vehicles, the timeline and
    the `customer_facts` table."""

    customer_id: str
    known_since: datetime
    payment_intentions: frozenset[str] = frozenset()
    vehicles_owned: int = 0
    # The customer said this is their first car (首次购车); None when nobody asked.
    first_purchase: bool | None = None
    lifetime_spend_fen: int = 0
    # Latest store visit (到店) or service; None when never.
    last_visit_at: datetime | None = None


def months_before(at: datetime, months: int) -> datetime:
    """The same wall time `months` calendar months earlier (31 March - 1 month = 28/29 Feb)."""
    total = at.year * 12 + (at.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    day = min(at.day, _days_in_month(year, month))
    return at.replace(year=year, month=month, day=day)


def _days_in_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - date(year, month, 1)).days


def applicable_rules(facts: CustomerFacts, params: TagRuleParams, now: datetime) -> frozenset[str]:
    """The enabled rules whose auto tag this customer should carry now."""
    found: set[str] = set()
    if facts.payment_intentions & LOAN_INTENTIONS:
        found.add("loan_intention")
    if facts.vehicles_owned == 0 and facts.first_purchase is True:
        found.add("first_car")
    if facts.lifetime_spend_fen > params.vip_lifetime_spend_fen:
        found.add("vip")
    cutoff = months_before(now, params.churn_months)
    last_seen = facts.last_visit_at or facts.known_since
    if last_seen < cutoff:
        found.add("churn_risk")
    return frozenset(found & set(params.enabled))


@dataclass(frozen=True)
class TagChanges:
    add: frozenset[str]
    remove: frozenset[str]


def reconcile(
    rule_tagged: Iterable[str], manual_tagged: Iterable[str], wanted: Iterable[str]
) -> TagChanges:
    """What a rules run changes for one customer (rule keys): add what applies and is not there in
    any form; remove only what a rule put on and no longer applies. Running it twice changes
    nothing the second time."""
    have_rule, have_manual, want = set(rule_tagged), set(manual_tagged), set(wanted)
    return TagChanges(
        add=frozenset(want - have_rule - have_manual),
        remove=frozenset(have_rule - want),
    )


# ---- Segments -------------------------------------------------------------------------------

LEAD_STATUSES = leads.STATUSES
LEAD_GRADES = GRADES
CONSENT_CHANNELS = customers.CONSENT_CHANNELS
_LIST_LIMIT = 100

SEGMENT_FIELDS = {
    "stores": "store ids whose customers are in scope (required; preferred store or a lead there)",
    "tags_all": "tag ids the customer carries, all of them",
    "tags_any": "tag ids the customer carries, at least one",
    "lead_status": "a lead (in the stores) in one of these funnel statuses",
    "lead_grade": "a lead (in the stores) of one of these intent grades H/A/B/C/N",
    "model_interest": "a lead (in the stores) interested in one of these model codes",
    "city": "the customer's city is one of these",
    "consent_channel": "the customer has granted marketing consent on this channel",
    "created_from": "known since this business date (inclusive), YYYY-MM-DD",
    "created_to": "known until this business date (inclusive), YYYY-MM-DD",
}


@dataclass(frozen=True)
class SegmentFilter:
    """A validated segment: every condition present must hold (lead conditions on one lead)."""

    stores: tuple[str, ...]
    tags_all: tuple[str, ...] = ()
    tags_any: tuple[str, ...] = ()
    lead_status: tuple[str, ...] = ()
    lead_grade: tuple[str, ...] = ()
    model_interest: tuple[str, ...] = ()
    city: tuple[str, ...] = ()
    consent_channel: str | None = None
    created_from: date | None = None
    created_to: date | None = None

    @property
    def has_lead_conditions(self) -> bool:
        return bool(self.lead_status or self.lead_grade or self.model_interest)

    @property
    def tag_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.tags_all + self.tags_any))

    def to_json(self) -> dict[str, Any]:
        """The stored form: only the conditions that are set."""
        out: dict[str, Any] = {"stores": list(self.stores)}
        for name in ("tags_all", "tags_any", "lead_status", "lead_grade", "model_interest", "city"):
            value = getattr(self, name)
            if value:
                out[name] = list(value)
        if self.consent_channel:
            out["consent_channel"] = self.consent_channel
        if self.created_from:
            out["created_from"] = self.created_from.isoformat()
        if self.created_to:
            out["created_to"] = self.created_to.isoformat()
        return out

    def within(self, stores: Iterable[str]) -> SegmentFilter:
        """The same filter narrowed to `stores` (a campaign sending for some of its stores)."""
        narrowed = tuple(s for s in self.stores if s in set(stores))
        return SegmentFilter(
            stores=narrowed,
            tags_all=self.tags_all,
            tags_any=self.tags_any,
            lead_status=self.lead_status,
            lead_grade=self.lead_grade,
            model_interest=self.model_interest,
            city=self.city,
            consent_channel=self.consent_channel,
            created_from=self.created_from,
            created_to=self.created_to,
        )


def _strings(
    raw: Any, name: str, errors: list[dict[str, Any]], *, allowed: Iterable[str] | None = None
) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
        errors.append({"field": name, "rule": "a list of non-empty strings"})
        return ()
    if len(raw) > _LIST_LIMIT:
        errors.append({"field": name, "rule": f"at most {_LIST_LIMIT} values"})
        return ()
    values = tuple(dict.fromkeys(v.strip() for v in raw))
    if allowed is not None:
        options = tuple(allowed)
        bad = [v for v in values if v not in options]
        if bad:
            errors.append({"field": name, "rule": "enum", "unknown": bad, "allowed": list(options)})
            return ()
    return values


def _date(raw: Any, name: str, errors: list[dict[str, Any]]) -> date | None:
    if raw is None:
        return None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            pass
        else:
            if EARLIEST_DAY <= day <= LATEST_DAY:
                return day
            errors.append({"field": name, "rule": _DAY_RANGE})
            return None
    errors.append({"field": name, "rule": "a date YYYY-MM-DD"})
    return None


def parse_segment_filter(raw: Mapping[str, Any] | None) -> SegmentFilter:
    """The filter as a `SegmentFilter`, or InvalidInput naming every unknown field and bad value."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(
            "A segment filter is an object; its fields are: " + ", ".join(SEGMENT_FIELDS) + ".",
            errors=[{"field": "filter", "rule": "object"}],
        )
    errors: list[dict[str, Any]] = []
    unknown = sorted(k for k in raw if k not in SEGMENT_FIELDS)
    for name in unknown:
        errors.append({"field": name, "rule": "unknown field"})
    stores = _strings(raw.get("stores"), "stores", errors)
    if not stores and not any(e["field"] == "stores" for e in errors):
        errors.append({"field": "stores", "rule": "required: at least one store id"})
    consent = raw.get("consent_channel")
    if consent is not None and consent not in CONSENT_CHANNELS:
        errors.append(
            {"field": "consent_channel", "rule": "enum", "allowed": list(CONSENT_CHANNELS)}
        )
        consent = None
    created_from = _date(raw.get("created_from"), "created_from", errors)
    created_to = _date(raw.get("created_to"), "created_to", errors)
    if created_from and created_to and created_from > created_to:
        errors.append({"field": "created_to", "rule": "not before created_from"})
    spec = SegmentFilter(
        stores=stores,
        tags_all=_strings(raw.get("tags_all"), "tags_all", errors),
        tags_any=_strings(raw.get("tags_any"), "tags_any", errors),
        lead_status=_strings(raw.get("lead_status"), "lead_status", errors, allowed=LEAD_STATUSES),
        lead_grade=_strings(raw.get("lead_grade"), "lead_grade", errors, allowed=LEAD_GRADES),
        model_interest=_strings(raw.get("model_interest"), "model_interest", errors),
        city=_strings(raw.get("city"), "city", errors),
        consent_channel=consent,
        created_from=created_from,
        created_to=created_to,
    )
    if errors:
        if unknown:
            detail = (
                f"The segment filter has unknown field(s) {', '.join(unknown)}; "
                f"a filter may use: {', '.join(SEGMENT_FIELDS)}."
            )
        else:
            detail = "The segment filter has values that cannot be used; see errors for each."
        raise InvalidInput(detail, errors=errors)
    return spec
