"""ADF/XML 1.0 lead intake (domain.adf): a real document, a missing phone, malformed or unsafe
XML, and a document carrying two prospects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from marque_crm.domain.adf import parse_adf
from marque_crm.domain.leads import TradeIn
from marque_kit.errors import InvalidInput

RECEIVED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

# Shaped like what US-built lead sources send (ADF 1.0), with a Chinese customer.
SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<?adf version="1.0"?>
<adf>
  <prospect status="new">
    <id sequence="1" source="LeadHub">LH-2026-000123</id>
    <requestdate>2026-03-02T10:15:00+08:00</requestdate>
    <vehicle interest="buy" status="new">
      <year>2026</year>
      <make>Volkswagen</make>
      <model>ID.4</model>
      <trim>Pro</trim>
      <finance><method>finance</method></finance>
    </vehicle>
    <vehicle interest="trade-in" status="used">
      <year>2018</year>
      <make>Toyota</make>
      <model>Corolla</model>
      <odometer status="original" units="mi">50000</odometer>
    </vehicle>
    <customer>
      <contact primarycontact="1">
        <name part="first">伟</name>
        <name part="last">王</name>
        <email>wang.wei@example.com</email>
        <phone type="voice" time="day">021-5555-0101</phone>
        <phone type="cellphone">+86 138 0013 8000</phone>
      </contact>
      <timeframe>
        <description>Within two weeks</description>
        <latestdate>2026-03-14</latestdate>
      </timeframe>
      <comments>Wants a white one, prefers Saturday test drive.</comments>
    </customer>
    <vendor>
      <vendorname>Marque VW Shanghai Pudong</vendorname>
    </vendor>
    <provider>
      <name part="full">LeadHub Inc.</name>
      <id>PRV-77</id>
    </provider>
  </prospect>
</adf>
""".encode()


def prospect(name: str, phone: str, ident: str = "", provider: str = "LeadHub") -> str:
    return f"""
  <prospect>
    {f"<id>{ident}</id>" if ident else ""}
    <requestdate>2026-03-02T09:00:00+08:00</requestdate>
    <vehicle interest="lease"><year>2026</year><make>Audi</make><model>Q5L</model></vehicle>
    <customer><contact>
      <name part="full">{name}</name>
      {f'<phone type="cellphone">{phone}</phone>' if phone else ""}
    </contact></customer>
    <provider><name>{provider}</name></provider>
  </prospect>"""


def document(*prospects: str) -> bytes:
    return f'<?xml version="1.0"?><adf>{"".join(prospects)}</adf>'.encode()


def test_a_real_adf_sample_becomes_lead_intake_fields() -> None:
    (lead,) = parse_adf(SAMPLE, received_at=RECEIVED)
    assert lead.index == 1
    assert lead.name == "王伟"
    assert lead.mobile == "+8613800138000"  # the cellphone, not the landline
    assert lead.email == "wang.wei@example.com"
    assert lead.source_ref == "LH-2026-000123"
    assert lead.request_date == datetime(2026, 3, 2, 2, 15, tzinfo=UTC)
    assert lead.provider == "LeadHub Inc." and lead.vendor == "Marque VW Shanghai Pudong"
    assert lead.channel is None  # not a known lead portal: the caller decides
    details = lead.details
    assert (details.model_code, details.trim_code) == ("ID.4", "Pro")
    assert details.payment_intention == "loan"
    assert details.timeframe == "within_15_days"  # 12 days after the request
    assert details.trade_in == TradeIn("Toyota", "Corolla", 2018, 80467)  # 50,000 miles in km
    assert details.comments.startswith("Wants a white one")
    assert "[ADF: vehicle 2026 Volkswagen ID.4 Pro; provider LeadHub Inc." in details.comments
    assert details.checked().grade == "A"


def test_two_prospects_make_two_leads_in_order() -> None:
    leads = parse_adf(
        document(
            prospect("Li Lei", "13900139001", "A-1"),
            prospect("韩梅梅", "0086-139-0013-9002", "A-2", provider="汽车之家"),
        ),
        received_at=RECEIVED,
    )
    assert [(p.index, p.name, p.mobile, p.source_ref) for p in leads] == [
        (1, "Li Lei", "+8613900139001", "A-1"),
        (2, "韩梅梅", "+8613900139002", "A-2"),
    ]
    assert [p.channel for p in leads] == [None, "autohome"]
    assert {p.details.payment_intention for p in leads} == {"lease"}
    assert {p.details.model_code for p in leads} == {"Q5L"}


def test_a_prospect_without_a_phone_is_422_naming_it() -> None:
    with pytest.raises(InvalidInput, match="ADF prospect 2 has no <phone>") as caught:
        parse_adf(
            document(prospect("Li Lei", "13900139001"), prospect("No Phone", "")),
            received_at=RECEIVED,
        )
    assert caught.value.errors == [
        {"field": "prospect[2].customer.contact.phone", "rule": "required", "location": "body"}
    ]


def test_only_a_fax_is_no_phone() -> None:
    doc = SAMPLE.replace(b'<phone type="voice" time="day">021-5555-0101</phone>', b"").replace(
        b'<phone type="cellphone">', b'<phone type="fax">'
    )
    with pytest.raises(InvalidInput, match="has no <phone>"):
        parse_adf(doc, received_at=RECEIVED)


def test_an_unreachable_phone_says_why() -> None:
    with pytest.raises(InvalidInput, match=r"ADF prospect 1: '12345' is not a Chinese mobile"):
        parse_adf(document(prospect("Li Lei", "12345")), received_at=RECEIVED)


def test_a_prospect_without_a_name_is_422() -> None:
    doc = document(prospect("", "13900139001"))
    with pytest.raises(InvalidInput, match="no <name>"):
        parse_adf(doc, received_at=RECEIVED)


def test_malformed_xml_is_422_with_the_position() -> None:
    with pytest.raises(InvalidInput, match=r"not well-formed XML \(line 1, column \d+\)") as c:
        parse_adf(b"<adf><prospect></adf>", received_at=RECEIVED)
    assert c.value.errors == [{"field": "body", "rule": "xml", "location": "body"}]


def test_entity_expansion_is_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE adf [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<adf><prospect><customer><contact><name>&b;</name></contact></customer></prospect></adf>"""
    with pytest.raises(InvalidInput, match="refuses for safety"):
        parse_adf(bomb, received_at=RECEIVED)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"<lead><prospect/></lead>", "root element is <lead>"),
        (b"<adf></adf>", "no <prospect>"),
        (b"<adf><prospect><customer/></prospect></adf>", "no <customer><contact>"),
    ],
)
def test_documents_without_a_lead_say_what_is_missing(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_adf(body, received_at=RECEIVED)


def test_a_bad_year_is_422() -> None:
    doc = SAMPLE.replace(b"<year>2018</year>", b"<year>18</year>")
    with pytest.raises(InvalidInput, match="not a 4-digit year"):
        parse_adf(doc, received_at=RECEIVED)
