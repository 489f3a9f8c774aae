"""ADF/XML 1.0 (Auto-lead Data Format) intake: US-built lead sources still send leads this way.

One document holds one or more `<prospect>`s; each becomes one lead::

    <?xml version="1.0"?><?adf version="1.0"?>
    <adf><prospect>
      <id sequence="1" source="LeadPortal">ABC-123</id>          → source_ref (resends dedupe)
      <requestdate>2026-03-02T10:15:00+08:00</requestdate>
      <vehicle interest="buy" status="new">                      → model_code / trim_code
        <year>2026</year><make>Volkswagen</make><model>ID.4</model><trim>Pro</trim>
        <finance><method>finance</method></finance>               → payment_intention loan
      </vehicle>
      <vehicle interest="trade-in"><year/><make/><model/><odometer units="km"/></vehicle>
      <customer>
        <contact><name part="first"/><name part="last"/><phone type="cellphone"/><email/></contact>
        <timeframe><latestdate>2026-03-20</latestdate></timeframe> → timeframe within_30_days
        <comments/>
      </customer>
      <vendor><vendorname/></vendor><provider><name/><id/></provider>
    </prospect></adf>

A prospect needs a name and a phone Marque can reach (a Chinese mobile, or another country's
number with its country code); the whole document is refused (422, naming the prospect and the
missing element) when any prospect lacks them, so that a document is never half taken in. The
XML is parsed with defusedxml: entity expansion, DTDs and external references are refused.

Pure: no framework, no database.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from marque_crm.domain.contact import normalise_mobile
from marque_crm.domain.leads import LeadDetails, TradeIn
from marque_kit.errors import DomainError, InvalidInput

MAX_PROSPECTS = 500
MAX_BYTES = 2_000_000
MILES_TO_KM = 1.609344
# Lead portals recognised by the provider's name; anything else arrives as a website lead.
PORTALS = {
    "autohome": "autohome",
    "汽车之家": "autohome",
    "yiche": "yiche",
    "bitauto": "yiche",
    "易车": "yiche",
    "dongchedi": "dongchedi",
    "懂车帝": "dongchedi",
}
FINANCE_METHODS = {"cash": "cash", "finance": "loan", "loan": "loan", "lease": "lease"}
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class AdfLead:
    """One prospect of an ADF document, ready for lead intake."""

    index: int  # 1-based position in the document
    name: str
    mobile: str  # E.164
    email: str
    details: LeadDetails
    source_ref: str  # the prospect's <id>; "" when the source gave none
    request_date: datetime | None
    provider: str
    vendor: str
    channel: str | None  # a recognised lead portal, else None (the caller decides)


def _problem(message: str, field: str, rule: str = "required") -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field, "rule": rule, "location": "body"}])


def _text(element: ET.Element | None) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


def parse_adf(document: bytes, *, received_at: datetime) -> list[AdfLead]:
    """Every prospect of the document as an `AdfLead`; 422 explaining what is wrong otherwise.

    `received_at` (timezone-aware) stands in for a missing `<requestdate>` when the timeframe is
    worked out from `<latestdate>`.
    """
    if not document or not document.strip():
        raise _problem("The ADF document is empty; send the <adf> XML as the body.", "body")
    if len(document) > MAX_BYTES:
        raise _problem(
            f"The ADF document is larger than {MAX_BYTES} bytes; split it into several posts.",
            "body",
            "size",
        )
    try:
        root = fromstring(document)
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise _problem(
            f"The ADF document is not well-formed XML (line {line}, column {column}): "
            f"{str(exc).split(':')[0]}.",
            "body",
            "xml",
        ) from exc
    except DefusedXmlException as exc:
        raise _problem(
            "The ADF document declares a DTD, entities or external references, which Marque "
            "refuses for safety; send plain ADF XML.",
            "body",
            "xml_unsafe",
        ) from exc
    if root.tag != "adf":
        raise _problem(
            f"The document's root element is <{root.tag}>, not <adf>; is this an ADF lead?",
            "adf",
            "root",
        )
    prospects = root.findall("prospect")
    if not prospects:
        raise _problem("The ADF document has no <prospect>; there is no lead in it.", "prospect")
    if len(prospects) > MAX_PROSPECTS:
        raise _problem(
            f"The ADF document has {len(prospects)} prospects; send at most {MAX_PROSPECTS} "
            "per post.",
            "prospect",
            "size",
        )
    return [_prospect(p, i, received_at) for i, p in enumerate(prospects, start=1)]


def _prospect(prospect: ET.Element, index: int, received_at: datetime) -> AdfLead:
    where = f"prospect[{index}]"
    customer = prospect.find("customer")
    if customer is None:
        raise _problem(f"ADF prospect {index} has no <customer>.", f"{where}.customer")
    contact = customer.find("contact")
    if contact is None:
        raise _problem(
            f"ADF prospect {index} has no <customer><contact>: Marque needs a name and a phone.",
            f"{where}.customer.contact",
        )
    name = _name(contact)
    if not name:
        raise _problem(
            f"ADF prospect {index} has no <name> in <customer><contact>; Marque needs the "
            "customer's name.",
            f"{where}.customer.contact.name",
        )
    mobile = _phone(contact, index, where)
    request_date = _datetime(_text(prospect.find("requestdate")))
    wanted, trade_in, lease, finance = _vehicles(prospect, index, where)
    payment = finance or ("lease" if lease else "")
    timeframe = _timeframe(customer.find("timeframe"), request_date or received_at)
    provider = _name(prospect.find("provider")) or _text(prospect.find("provider/name"))
    vendor = _text(prospect.find("vendor/vendorname"))
    comments = _comments(customer, wanted, provider, vendor)
    source_ref = _text(prospect.find("id"))[:120]
    _year_wanted, make, model, trim = wanted
    details = LeadDetails(
        model_code=(model or make)[:60],
        trim_code=trim[:60],
        timeframe=timeframe,
        payment_intention=payment,
        trade_in=trade_in,
        comments=comments,
    )
    return AdfLead(
        index=index,
        name=name[:200],
        mobile=mobile,
        email=_text(contact.find("email"))[:200],
        details=details,
        source_ref=source_ref,
        request_date=request_date,
        provider=provider,
        vendor=vendor,
        channel=_portal(provider, prospect),
    )


def _name(contact: ET.Element | None) -> str:
    if contact is None:
        return ""
    parts: dict[str, str] = {}
    for element in contact.findall("name"):
        parts.setdefault(element.get("part", "full"), _text(element))
    if parts.get("full"):
        return parts["full"]
    first, last = parts.get("first", ""), parts.get("last", "")
    if _CJK.search(first + last):
        return f"{last}{first}"  # 王 + 伟 → 王伟
    return " ".join(p for p in (first, parts.get("middle", ""), last) if p)


def _phone(contact: ET.Element, index: int, where: str) -> str:
    phones = [(p.get("type", "voice"), _text(p)) for p in contact.findall("phone")]
    phones = [(kind, number) for kind, number in phones if number and kind not in ("fax", "pager")]
    if not phones:
        raise _problem(
            f"ADF prospect {index} has no <phone> in <customer><contact>; Marque needs a mobile "
            "number to know who the customer is.",
            f"{where}.customer.contact.phone",
        )
    phones.sort(key=lambda p: p[0] != "cellphone")  # a mobile first
    problem: DomainError | None = None
    for _kind, number in phones:
        try:
            return normalise_mobile(number, field=f"{where}.customer.contact.phone")
        except InvalidInput as exc:
            problem = problem or exc
    assert problem is not None
    raise InvalidInput(
        f"ADF prospect {index}: {problem.detail}", errors=problem.errors
    ) from problem


def _vehicles(
    prospect: ET.Element, index: int, where: str
) -> tuple[tuple[int | None, str, str, str], TradeIn | None, bool, str]:
    wanted: tuple[int | None, str, str, str] = (None, "", "", "")
    trade_in: TradeIn | None = None
    lease = False
    finance = ""
    for vehicle in prospect.findall("vehicle"):
        interest = vehicle.get("interest", "buy").strip().lower()
        year = _year(_text(vehicle.find("year")), index, where)
        make, model = _text(vehicle.find("make")), _text(vehicle.find("model"))
        if interest in ("trade-in", "sell"):
            if trade_in is None:
                trade_in = TradeIn(
                    brand=make[:60],
                    model=model[:60],
                    year=year,
                    mileage_km=_odometer(vehicle.find("odometer"), index, where),
                )
            continue
        if wanted == (None, "", "", ""):
            wanted = (year, make, model, _text(vehicle.find("trim")))
            lease = interest == "lease"
            method = _text(vehicle.find("finance/method")).lower()
            finance = FINANCE_METHODS.get(method, "")
    return wanted, trade_in, lease, finance


def _year(text: str, index: int, where: str) -> int | None:
    if not text:
        return None
    if not re.fullmatch(r"\d{4}", text):
        raise _problem(
            f"ADF prospect {index}: vehicle <year> {text!r} is not a 4-digit year.",
            f"{where}.vehicle.year",
            "format",
        )
    return int(text)


def _odometer(element: ET.Element | None, index: int, where: str) -> int | None:
    text = _text(element).replace(",", "")
    if element is None or not text:
        return None
    if not re.fullmatch(r"\d{1,9}", text):
        raise _problem(
            f"ADF prospect {index}: trade-in <odometer> {text!r} is not a whole number.",
            f"{where}.vehicle.odometer",
            "format",
        )
    value = int(text)
    units = element.get("units", "km").strip().lower()
    return round(value * MILES_TO_KM) if units in ("mi", "miles") else value


def _datetime(text: str) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _date(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _timeframe(element: ET.Element | None, since: datetime) -> str:
    """The ADF `<timeframe>` as a purchase-timeframe bucket, by `<latestdate>` (else earliest)."""
    if element is None:
        return "unknown"
    by = _date(_text(element.find("latestdate"))) or _date(_text(element.find("earliestdate")))
    if by is None:
        return "unknown"
    days = (by - since.date()).days
    for limit, bucket in (
        (7, "within_7_days"),
        (15, "within_15_days"),
        (30, "within_30_days"),
        (90, "within_90_days"),
    ):
        if days <= limit:
            return bucket
    return "over_90_days"


def _comments(
    customer: ET.Element,
    wanted: tuple[int | None, str, str, str],
    provider: str,
    vendor: str,
) -> str:
    year, make, model, trim = wanted
    vehicle = " ".join(str(p) for p in (year, make, model, trim) if p)
    notes = [_text(customer.find("comments"))]
    provenance = "; ".join(
        p
        for p in (
            f"vehicle {vehicle}" if vehicle else "",
            f"provider {provider}" if provider else "",
            f"vendor {vendor}" if vendor else "",
        )
        if p
    )
    if provenance:
        notes.append(f"[ADF: {provenance}]")
    return " ".join(n for n in notes if n)[:2000]


def _portal(provider: str, prospect: ET.Element) -> str | None:
    ident = prospect.find("id")
    source = ident.get("source", "") if ident is not None else ""
    haystack = f"{provider} {source}".lower()
    for word, channel in PORTALS.items():
        if word in haystack:
            return channel
    return None
