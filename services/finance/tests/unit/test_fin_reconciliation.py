"""Bank reconciliation rules: reading statements, line keys, matching, the explanation entry."""

from __future__ import annotations

from datetime import date

import pytest

from marque_finance.domain.posting_rules.bank import explanation_entry
from marque_finance.domain.reconciliation import (
    BankBookLine,
    Match,
    MatchKind,
    OpenLine,
    Reason,
    StatementLine,
    auto_match,
    diagnose,
    line_keys,
    parse_statement,
    parse_yuan,
    references_agree,
)
from marque_kit.errors import InvalidInput

D = date(2026, 11, 3)


# --- reading ------------------------------------------------------------------------------------


def test_parses_english_headers_and_amounts_exactly() -> None:
    csv = (
        "date,amount,reference,counterparty,description\n"
        '2026-11-03,"1,234.50",WX20261103001,张三,定金\n'
        "2026-11-04,-300.00,PAY-77,上海配件有限公司,货款\n"
        "2026/11/5,0.01,,,\n"
    ).encode()
    lines = parse_statement(csv)
    assert lines == [
        StatementLine(2, date(2026, 11, 3), 123450, "WX20261103001", "张三", "定金"),
        StatementLine(3, date(2026, 11, 4), -30000, "PAY-77", "上海配件有限公司", "货款"),
        StatementLine(4, date(2026, 11, 5), 1, "", "", ""),
    ]


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1,234.50", 123450),
        ("-300.00", -30000),
        ("+12", 1200),
        ("0.5", 50),
        ("¥ 1,000,000.00", 100_000_000),
        ("CNY99.99", 9999),
    ],
)
def test_yuan_to_fen_never_float(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["12.345", "1,23.00", "abc", "", "1.2.3", "12,34"])
def test_bad_yuan_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not yuan"):
        parse_yuan(text)


def test_utf8_bom_and_chinese_headers() -> None:
    csv = (
        "\ufeff交易日期,金额(元),交易参考号,对方户名,摘要\n2026年11月03日,5000.00,WX1,李四,转账\n"
    ).encode()
    (line,) = parse_statement(csv)
    assert line == StatementLine(2, D, 500000, "WX1", "李四", "转账")


def test_gbk_with_preamble_income_expense_columns_and_footer() -> None:
    text = (
        "账号：6222 0000 1111,,,,,\n"
        "起止日期：20261101-20261130,,,,,\n"
        "交易日期,收入,支出,流水号,对方户名,摘要\n"
        "20261103,8000.00,,SN001,王五,定金\n"
        "20261104 10:22:11,,35.00,SN002,,手续费\n"
        "20261105,,-120.00,SN003,,年费\n"
        "合计,8000.00,155.00,,,\n"
    )
    lines = parse_statement(text.encode("gbk"))
    assert [(ln.row, ln.value_date, ln.amount_fen, ln.reference) for ln in lines] == [
        (4, date(2026, 11, 3), 800000, "SN001"),
        (5, date(2026, 11, 4), -3500, "SN002"),
        (6, date(2026, 11, 5), -12000, "SN003"),
    ]
    assert lines[1].description == "手续费"


def test_tab_separated_export() -> None:
    text = "交易日期\t金额\t流水号\n2026-11-03\t1,000.00\tT1\n"
    (line,) = parse_statement(text.encode("gb18030"))
    assert (line.amount_fen, line.reference) == (100000, "T1")


def test_every_bad_row_is_named_and_nothing_is_read() -> None:
    csv = (
        b"date,amount,reference\n"
        b"2026-11-03,100.00,OK1\n"
        b"2026-11-31,100.00,BADDATE\n"
        b"2026-11-04,12.345,BADAMOUNT\n"
        b"\n"
        b"yesterday,0,BOTH\n"
    )
    with pytest.raises(InvalidInput) as caught:
        parse_statement(csv)
    error = caught.value
    assert error.errors is not None
    assert [e["row"] for e in error.errors] == [3, 4, 6]
    assert "not a day of the calendar" in error.errors[0]["message"]
    assert "'12.345' is not yuan with at most 2 decimals" in error.errors[1]["message"]
    assert "yesterday" in error.errors[2]["message"] and "zero" in error.errors[2]["message"]
    assert "3 row(s)" in error.detail and "row 4:" in error.detail


def test_income_and_expense_both_filled_is_a_bad_row() -> None:
    csv = "交易日期,收入,支出\n2026-11-03,10.00,5.00\n".encode()
    with pytest.raises(InvalidInput, match="row 2: both 收入"):
        parse_statement(csv)


def test_no_header_or_no_lines() -> None:
    with pytest.raises(InvalidInput, match="No header row"):
        parse_statement(b"foo,bar\n1,2\n")
    with pytest.raises(InvalidInput, match="no lines"):
        parse_statement(b"date,amount\n")
    with pytest.raises(InvalidInput, match="not the other"):
        parse_statement("交易日期,收入\n2026-11-03,1.00\n".encode())
    with pytest.raises(InvalidInput, match="neither UTF-8 nor GBK"):
        parse_statement(b"\xff\xfe\x00d\x00a")


def test_line_keys_are_stable_and_count_identical_lines() -> None:
    a = StatementLine(2, D, 500, "R1", "X", "fee")
    twin = StatementLine(3, D, 500, "R1", "X", "other text")
    keys = line_keys([a, twin], "ICBC 1")
    assert keys[0] != keys[1]  # two identical lines are two lines
    # Another export of the same day: other row numbers and descriptions, same keys.
    moved = [StatementLine(9, D, 500, " r1 ", "x", ""), StatementLine(10, D, 500, "R1", "X", "")]
    assert line_keys(moved, "icbc 1") == keys
    assert line_keys([a], "BOC 2") != keys[:1]


# --- matching -----------------------------------------------------------------------------------


def book(jid: int, day: date, fen: int, memo: str = "", source_id: str = "") -> BankBookLine:
    return BankBookLine(jid, day, fen, memo, source_id)


def test_reference_agreement() -> None:
    b = book(1, D, 100, memo="WeChat WX20261103001", source_id="RC-SH01-000123")
    assert references_agree("wx20261103001 ", b)
    assert references_agree("RC-SH01-000123", b)
    assert not references_agree("", b)
    assert not references_agree("WX1", b)  # too short to count as contained
    assert references_agree("WX1", book(2, D, 100, memo="wx1"))


def test_exact_by_reference_beats_a_closer_fuzzy_candidate() -> None:
    lines = [OpenLine(10, D, 500000, "WX20261103001")]
    bank_book = [
        book(1, D, 500000, memo="other"),
        book(2, date(2026, 11, 5), 500000, memo="WX20261103001"),
    ]
    run = auto_match(lines, bank_book, 3)
    assert run.matches == (Match(10, 2, MatchKind.EXACT),)
    assert run.unmatched == ()


def test_fuzzy_by_amount_and_date() -> None:
    run = auto_match(
        [OpenLine(10, D, -30000, "BANKSERIAL9")], [book(7, date(2026, 11, 1), -30000)], 3
    )
    assert run.matches == (Match(10, 7, MatchKind.FUZZY),)


def test_sign_matters() -> None:
    run = auto_match([OpenLine(10, D, -30000)], [book(7, D, 30000)], 3)
    assert run.matches == ()
    assert run.unmatched[0].reason is Reason.NO_CANDIDATE


def test_closest_date_wins_only_if_unique() -> None:
    bank_book = [book(1, date(2026, 11, 2), 100), book(2, date(2026, 11, 5), 100)]
    run = auto_match([OpenLine(10, D, 100)], bank_book, 3)
    assert run.matches == (Match(10, 1, MatchKind.FUZZY),)
    tie = [book(1, date(2026, 11, 2), 100), book(2, date(2026, 11, 4), 100)]
    run = auto_match([OpenLine(10, D, 100)], tie, 3)
    assert run.matches == ()
    assert run.unmatched[0].reason is Reason.SEVERAL_CANDIDATES
    assert run.unmatched[0].candidates == (1, 2)


def test_outside_the_window_is_an_exception() -> None:
    run = auto_match([OpenLine(10, D, 100, "WX9")], [book(1, date(2026, 11, 7), 100, "WX9")], 3)
    assert run.matches == ()
    assert run.unmatched[0].reason is Reason.NO_CANDIDATE
    run = auto_match([OpenLine(10, D, 100, "WX9")], [book(1, date(2026, 11, 6), 100, "WX9")], 3)
    assert run.matches == (Match(10, 1, MatchKind.EXACT),)


def test_one_bank_book_line_matches_one_statement_line() -> None:
    lines = [OpenLine(10, D, 100), OpenLine(11, D, 100)]
    run = auto_match(lines, [book(1, D, 100)], 3)
    assert run.matches == (Match(10, 1, MatchKind.FUZZY),)
    assert [u.line_id for u in run.unmatched] == [11]


def test_exact_matches_are_settled_before_fuzzy_guesses() -> None:
    # Line 10 comes first in date order and would fuzzily take book line 1, which line 11 names.
    lines = [OpenLine(10, date(2026, 11, 2), 100), OpenLine(11, D, 100, "REF-000111")]
    bank_book = [book(1, date(2026, 11, 2), 100, "REF-000111"), book(2, D, 100)]
    run = auto_match(lines, bank_book, 3)
    assert set(run.matches) == {Match(11, 1, MatchKind.EXACT), Match(10, 2, MatchKind.FUZZY)}


def test_a_pair_a_person_undid_is_not_proposed_again() -> None:
    run = auto_match([OpenLine(10, D, 100, rejected=frozenset({1}))], [book(1, D, 100)], 3)
    assert run.matches == ()


def test_diagnosis_tells_the_person_what_to_do() -> None:
    line = OpenLine(10, D, -3500, "FEE-202611")
    near = [book(5, D, -3000, memo="FEE-202611")]
    told = diagnose(line, near, 3)
    assert told.reason is Reason.NO_CANDIDATE
    assert "-35.00 CNY" in told.message and "explain" in told.message
    assert told.near_misses[0].journal_line_id == 5
    assert "amount -30.00 instead of -35.00" in told.near_misses[0].why
    several = diagnose(OpenLine(11, D, 100), [book(1, D, 100), book(2, D, 100)], 3)
    assert several.reason is Reason.SEVERAL_CANDIDATES and several.candidates == (1, 2)
    one = diagnose(OpenLine(12, D, 100), [book(3, D, 100)], 3)
    assert one.reason is Reason.ONE_CANDIDATE and one.candidates == (3,)


# --- explaining ---------------------------------------------------------------------------------


def test_bank_fee_and_interest_entries() -> None:
    fee = explanation_entry(
        store_id="SH01",
        line_id=42,
        value_date=D,
        amount_fen=-3500,
        reference="SN002",
        counterparty="",
        account_code="6603",
        reason="手续费",
        actor="sh.finance",
    )
    assert [(ln.account, ln.debit, ln.credit, ln.memo) for ln in fee.lines] == [
        ("6603", 3500, 0, ""),
        ("1002", 0, 3500, "SN002"),
    ]
    assert (fee.source_type, fee.source_id, fee.source_event_id) == (
        "bank_statement_line",
        "42",
        "bank-line:42",
    )
    interest = explanation_entry(
        store_id="SH01",
        line_id=43,
        value_date=D,
        amount_fen=1288,
        reference="INT11",
        counterparty="ICBC",
        account_code="6603",
        reason="利息收入",
        actor="sh.finance",
    )
    assert [(ln.account, ln.debit, ln.credit) for ln in interest.checked().lines] == [
        ("1002", 1288, 0),
        ("6603", 0, 1288),
    ]
    with pytest.raises(InvalidInput, match="bank account itself"):
        explanation_entry(
            store_id="SH01",
            line_id=44,
            value_date=D,
            amount_fen=100,
            reference="",
            counterparty="",
            account_code="1002",
            reason="x",
            actor="a",
        )
    with pytest.raises(InvalidInput, match="Say what the line is"):
        explanation_entry(
            store_id="SH01",
            line_id=44,
            value_date=D,
            amount_fen=100,
            reference="",
            counterparty="",
            account_code="6603",
            reason="  ",
            actor="a",
        )
