"""Spreadsheets in and out: CSV (UTF-8 with or without BOM, or GBK/GB18030 as Chinese Excel
saves it) and XLSX (openpyxl), read into a header row plus numbered data rows; CSV written with a
UTF-8 BOM so that Excel opens Chinese text correctly, and XLSX written in write-only mode.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.exceptions import InvalidFileException

from marque_crm.domain.imports import MAX_FILE_BYTES, MAX_ROWS, cell_text
from marque_kit.errors import InvalidInput

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls


@dataclass(frozen=True)
class Table:
    """The header row and the data rows, each with its spreadsheet row number (header = 1)."""

    headers: list[str]
    rows: list[tuple[int, list[str]]]
    file_format: str  # csv | xlsx
    encoding: str = ""  # for CSV: utf-8 | utf-8-sig | gb18030


def read_table(data: bytes, filename: str = "", *, max_rows: int = MAX_ROWS) -> Table:
    """Parse an upload; 422 saying what to do when it is too big (more than `max_rows` data
    rows), empty or not CSV/XLSX."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(
            f"The file is {len(data) / 1024 / 1024:.1f} MiB; an import takes at most "
            f"{MAX_FILE_BYTES // 1024 // 1024} MiB. Split it into smaller files.",
            errors=[{"field": "file", "rule": "max_size"}],
        )
    if not data.strip():
        raise InvalidInput("The file is empty.", errors=[{"field": "file", "rule": "required"}])
    if data.startswith(_OLE_MAGIC) or filename.lower().endswith(".xls"):
        raise InvalidInput(
            "Old Excel .xls files are not read; save the sheet as .xlsx or CSV (UTF-8) first.",
            errors=[{"field": "file", "rule": "format"}],
        )
    table = _read_xlsx(data, max_rows) if data.startswith(_ZIP_MAGIC) else _read_csv(data)
    if len(table.rows) > max_rows:
        raise InvalidInput(
            f"The file has more than {max_rows:,} data rows; an import takes at most "
            f"{max_rows:,}. Split it into smaller files.",
            errors=[{"field": "file", "rule": "max_rows"}],
        )
    return table


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # GB18030 is a superset of GBK and GB2312, which Chinese Excel uses for "CSV".
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "The CSV file is neither UTF-8 nor GBK text; save it as CSV UTF-8 or as .xlsx.",
            errors=[{"field": "file", "rule": "encoding"}],
        ) from exc


def _read_csv(data: bytes) -> Table:
    text, encoding = _decode(data)
    if "\x00" in text:
        raise InvalidInput(
            "The file is not a CSV or XLSX spreadsheet.",
            errors=[{"field": "file", "rule": "format"}],
        )
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        lines = list(reader)
    except csv.Error as exc:
        raise InvalidInput(
            f"The CSV file cannot be read ({exc}); check its quotes.",
            errors=[{"field": "file", "rule": "format"}],
        ) from exc
    return _table(lines, "csv", encoding)


def _read_xlsx(data: bytes, max_rows: int) -> Table:
    not_a_workbook = InvalidInput(
        "The file looks like a ZIP but is not an .xlsx workbook we can read; save it as .xlsx "
        "(Excel 2007 or later) or CSV.",
        errors=[{"field": "file", "rule": "format"}],
    )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise not_a_workbook from exc
    lines: list[list[str]] = []
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            lines.append([cell_text(v) for v in values])
            if len(lines) > max_rows + 1:
                break  # enough to say it is too long; leading blank rows aside
    except Exception as exc:  # a damaged sheet: whatever openpyxl's XML parsing raises
        raise not_a_workbook from exc
    finally:
        book.close()
    return _table(lines, "xlsx", "")


def _table(lines: list[list[str]], file_format: str, encoding: str) -> Table:
    # Leading blank lines are tolerated; the header is the first non-blank row (numbered as such).
    start = 0
    while start < len(lines) and not any(c.strip() for c in lines[start]):
        start += 1
    if start == len(lines):
        raise InvalidInput(
            "The file has no header row.", errors=[{"field": "file", "rule": "required"}]
        )
    headers = [h.strip() for h in lines[start]]
    rows = [
        (start + n + 2, [_unguard(c.strip()) for c in cells])
        for n, cells in enumerate(lines[start + 1 :])
        if any(c.strip() for c in cells)
    ]
    return Table(headers=headers, rows=rows, file_format=file_format, encoding=encoding)


# Spreadsheet apps run a cell that starts with one of these as a formula (CSV injection):
# exports prefix such cells with an apostrophe, and imports take it off again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _unguard(cell: str) -> str:
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@":
        return cell[1:]
    return cell


def guard(value: Any) -> Any:
    """A cell value safe to open in Excel: text starting like a formula gets an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


# --- writing -------------------------------------------------------------------------------


class _Line:
    """A file-like sink for csv.writer that hands back what was written."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def csv_line(row: Sequence[Any]) -> bytes:
    """One CSV line (CRLF), cells guarded against formula injection."""
    sink = _Line()
    csv.writer(sink, lineterminator="\r\n").writerow([guard(v) for v in row])
    return sink.take().encode("utf-8")


def csv_header(headers: Sequence[str]) -> bytes:
    """The first chunk of an export: the UTF-8 BOM (so that Excel reads Chinese) and the header."""
    return b"\xef\xbb\xbf" + csv_line(headers)


def _xml_text(value: Any) -> Any:
    """XLSX is XML, which cannot hold most control characters (a pasted BEL or ESC in a lead's
    comment): they are dropped from the cell, where openpyxl would refuse the whole workbook."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def xlsx_bytes(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A one-sheet workbook; text columns stay text (mobiles and IDs do not become numbers)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(list(headers))
    for row in rows:
        sheet.append([_xml_text(guard(v)) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
