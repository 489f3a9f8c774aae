"""Credit notes (红字发票 / 红字信息表): correcting an invoice that was already issued.

An issued invoice never changes. A wrong or cancelled one is corrected by a credit note: a
negative invoice that names the original and the lines it takes back. The rules:

- A credit note has a reason (price adjustment, sale cancelled, goods returned, wrong details)
  and may carry a free-text note. It credits either the whole invoice (`full`: what is left of
  every line) or chosen lines, each by a VAT-inclusive amount in positive whole fen.
- A line can never be credited beyond what is left of it: its gross less every earlier credit
  note's amount on it. Asking for more is refused (409) with the line and what is left.
- The VAT split follows the original line. Crediting what is left of a line takes exactly what is
  left of its net and VAT, so the credits of a line always add up to the original to the fen.
  A partial credit is split the way `price_line` splits (13%, halves up), kept within what is
  left of the line's net and VAT so a later credit never goes negative.
- Money: the credit first reduces what the customer still owes on the invoice (its open amount).
  Whatever the credit exceeds that by was already paid: it is released from the receipts that
  paid the invoice (newest first) and waits for the customer in advances (预收 2203), where the
  refund flow can pay it out or a later invoice for the same order can take it.
- An invoice credited in full has status `credited`; otherwise its status follows what was paid
  against what is still due (total less credits), see `receivables.invoice_status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from marque_finance.domain.accounts import BusinessLine
from marque_finance.domain.money import format_yuan, split_vat
from marque_finance.domain.receivables import MAX_LINES, PricedLine, allocate, check_amount
from marque_kit.errors import Conflict, InvalidInput

MAX_NOTE = 500


class CreditReason(StrEnum):
    PRICE_ADJUSTMENT = "price_adjustment"  # 价格调整
    SALE_CANCELLED = "sale_cancelled"  # 销售取消
    GOODS_RETURNED = "goods_returned"  # 退货
    WRONG_DETAILS = "wrong_details"  # 开票有误


def parse_reason(value: str) -> CreditReason:
    try:
        return CreditReason(value)
    except ValueError:
        allowed = ", ".join(r.value for r in CreditReason)
        raise InvalidInput(
            f"Credit reason {value!r} is unknown; use one of: {allowed}.",
            errors=[{"field": "reason", "rule": "one_of", "allowed": allowed}],
        ) from None


def check_note(note: str) -> str:
    cleaned = note.strip()
    if len(cleaned) > MAX_NOTE:
        raise InvalidInput(
            f"note is at most {MAX_NOTE} characters ({len(cleaned)} given).",
            errors=[{"field": "note", "rule": "max_length"}],
        )
    return cleaned


@dataclass(frozen=True)
class CreditableLine:
    """An original invoice line and what earlier credit notes already took of it."""

    line_no: int
    description: str
    business_line: BusinessLine
    gross: int
    net: int
    vat: int
    model_code: str = ""
    vin: str = ""
    credited_gross: int = 0
    credited_net: int = 0
    credited_vat: int = 0

    @property
    def left(self) -> int:
        """What can still be credited on this line, VAT included."""
        return self.gross - self.credited_gross


@dataclass(frozen=True)
class CreditAsk:
    """The caller asks to credit `gross` fen (VAT included) of original line `line_no`."""

    line_no: object
    gross: object


@dataclass(frozen=True)
class CreditLine:
    line_no: int
    priced: PricedLine


@dataclass(frozen=True)
class CreditPlan:
    lines: tuple[CreditLine, ...]

    @property
    def total(self) -> int:
        return sum(c.priced.gross for c in self.lines)

    @property
    def net(self) -> int:
        return sum(c.priced.net for c in self.lines)

    @property
    def vat(self) -> int:
        return sum(c.priced.vat for c in self.lines)


def credit_line(line: CreditableLine, gross: int) -> PricedLine:
    """`gross` fen of the line, split like the original; the last credit takes the remainder."""
    if gross <= 0 or gross > line.left:
        raise ValueError("a line's credit must be positive and within what is left of it")
    net_left = line.net - line.credited_net
    vat_left = line.vat - line.credited_vat
    if gross == line.left:
        net, vat = net_left, vat_left
    else:
        # The same rule as price_line, kept within what is left of the line's net and VAT.
        vat = min(max(split_vat(gross).vat, gross - net_left, 0), vat_left, gross)
        net = gross - vat
    return PricedLine(
        description=line.description,
        business_line=line.business_line,
        gross=gross,
        net=net,
        vat=vat,
        model_code=line.model_code,
        vin=line.vin,
    )


def _line_no(value: object, index: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(
            f"lines[{index}].line_no must be the number of a line of the invoice (1, 2, ...).",
            errors=[{"field": f"lines[{index}].line_no", "rule": "line_number"}],
        )
    return value


def plan_credit(
    invoice_number: str,
    lines: Sequence[CreditableLine],
    *,
    full: bool,
    asks: Sequence[CreditAsk] | None,
) -> CreditPlan:
    """What a credit note takes back, line by line: all that is left (`full`) or the asks."""
    by_no = {line.line_no: line for line in lines}
    if full and asks:
        raise InvalidInput(
            "Give either full: true (credit what is left of the whole invoice) or lines, not both.",
            errors=[{"field": "lines", "rule": "either_full_or_lines"}],
        )
    if full:
        out = tuple(
            CreditLine(line.line_no, credit_line(line, line.left))
            for line in sorted(lines, key=lambda x: x.line_no)
            if line.left > 0
        )
        if not out:
            raise Conflict(
                f"Invoice {invoice_number} is already credited in full; nothing is left to credit.",
                errors=[{"field": "full", "rule": "creditable", "creditable_fen": 0}],
            )
        return CreditPlan(out)
    if not asks:
        raise InvalidInput(
            "Say what to credit: full: true for the whole invoice, or lines "
            "([{line_no, amount_fen}]) for part of it.",
            errors=[{"field": "lines", "rule": "required"}],
        )
    if len(asks) > MAX_LINES:
        raise InvalidInput(
            f"A credit note has at most {MAX_LINES} lines ({len(asks)} given).",
            errors=[{"field": "lines", "rule": "max_items"}],
        )
    seen: set[int] = set()
    out_lines: list[CreditLine] = []
    for index, ask in enumerate(asks):
        no = _line_no(ask.line_no, index)
        line = by_no.get(no)
        if line is None:
            raise InvalidInput(
                f"Invoice {invoice_number} has no line {no} (it has lines 1 to {len(lines)}).",
                errors=[{"field": f"lines[{index}].line_no", "rule": "exists"}],
            )
        if no in seen:
            raise InvalidInput(
                f"Line {no} is named twice; credit each line once with its whole amount.",
                errors=[{"field": f"lines[{index}].line_no", "rule": "unique"}],
            )
        seen.add(no)
        gross = check_amount(ask.gross, f"lines[{index}].amount_fen")
        if gross > line.left:
            raise Conflict(
                f"Line {no} of invoice {invoice_number} ({line.description}) has only "
                f"{format_yuan(line.left)} CNY left to credit (of {format_yuan(line.gross)} CNY; "
                f"{format_yuan(line.credited_gross)} CNY credited already). "
                f"Asked to credit {format_yuan(gross)} CNY.",
                errors=[
                    {
                        "field": f"lines[{index}].amount_fen",
                        "rule": "creditable",
                        "line_no": no,
                        "creditable_fen": line.left,
                    }
                ],
            )
        out_lines.append(CreditLine(no, credit_line(line, gross)))
    return CreditPlan(tuple(out_lines))


@dataclass(frozen=True)
class Settlement:
    """How a credit meets the invoice's money: `reduces_open` comes off what is still owed,
    `released` was already paid and goes to the customer's advances (2203)."""

    reduces_open: int
    released: int


def settle(credit: int, *, total: int, paid: int, credited: int) -> Settlement:
    """The credit first reduces the invoice's open amount; the rest was paid and is released."""
    open_amount = total - paid - credited
    if credit <= 0 or credit > total - credited:
        raise ValueError("a credit must be positive and within what is left of the invoice")
    reduces = min(credit, max(open_amount, 0))
    return Settlement(reduces_open=reduces, released=credit - reduces)


def release_from(released: int, paid_by: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Which receipts give back the released money: `paid_by` is (receipt id, what it still pays
    on this invoice), newest first; each gives back up to that."""
    allocations, left = allocate(released, paid_by)
    if left:
        raise ValueError("the receipts paying the invoice cover less than the released amount")
    return [(a.target, a.amount) for a in allocations]
