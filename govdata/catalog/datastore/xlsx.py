"""A streaming XLSX writer: one worksheet, rows in, bytes out, constant memory.

openpyxl's write-only mode keeps memory low but can only save a finished workbook; this
writes the sheet's XML into a zip entry as rows arrive (``zipfile`` on a non-seekable sink
uses data descriptors), so the first bytes leave before the last row is read. Strings are
inline (no shared-string table to hold), dates and datetimes are real Excel dates, the
header row is bold and frozen.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

MAX_ROWS = 1_048_576  # Excel's limit, header included
MAX_CELL_TEXT = 32_767
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
LARGEST_EXACT = 10**15  # larger integers are written as text, Excel would round them
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

STATIC_PARTS = {
    "[Content_Types].xml": XML + (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": XML + (
        f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": XML + (
        f'<Relationships xmlns="{PKG}">'
        f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/>'
        '</Relationships>'),
    "xl/styles.xml": XML + (
        f'<styleSheet xmlns="{MAIN}">'
        '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
        '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        '</cellStyleXfs><cellXfs count="4">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
        '</cellStyles></styleSheet>'),
}
WORKBOOK = XML + (
    f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
    '<sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')
SHEET_HEAD = XML + (
    f'<worksheet xmlns="{MAIN}"><sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '</sheetView></sheetViews><sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"
DATE_STYLE, DATETIME_STYLE, HEADER_STYLE = 1, 2, 3
CARRIAGE_RETURN = {"\r": "&#13;"}  # a raw one would be read back as a line feed


class _Sink:
    """A write-only, non-seekable file: ``zipfile`` writes into it, we drain it."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _text(value: str) -> str:
    value = _ILLEGAL.sub("", value)[:MAX_CELL_TEXT]
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    return f"<is><t{space}>{escape(value, CARRIAGE_RETURN)}</t></is>"


def cell(ref: str, kind: str, value: Any) -> str:
    """One ``<c>`` element; ``kind`` is the data item's type (masked values are ``C``)."""
    if value is None:
        return ""
    if kind == "L":
        return f'<c r="{ref}" t="b"><v>{1 if value else 0}</v></c>'
    if kind in ("I", "N", "Y", "F") and not isinstance(value, str):
        if kind == "I" and abs(value) >= LARGEST_EXACT:
            return f'<c r="{ref}" t="inlineStr">{_text(str(value))}</c>'
        number = format(value, "f") if isinstance(value, Decimal) else repr(value)
        return f'<c r="{ref}"><v>{number}</v></c>'
    if kind == "D":
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        serial = (day - EXCEL_EPOCH.date()).days
        return f'<c r="{ref}" s="{DATE_STYLE}"><v>{serial}</v></c>'
    if kind == "T" and isinstance(value, dt.datetime):
        naive = value.replace(tzinfo=None)
        serial = (naive - EXCEL_EPOCH) / dt.timedelta(days=1)
        return f'<c r="{ref}" s="{DATETIME_STYLE}"><v>{serial!r}</v></c>'
    return f'<c r="{ref}" t="inlineStr">{_text(str(value))}</c>'


def workbook(header: Sequence[str], kinds: Sequence[str],
             batches: Iterable[Sequence[Sequence[Any]]], *, chunk_size: int = 1 << 18,
             sheet_name: str = "data") -> Iterator[bytes]:
    """The bytes of an XLSX file with ``header`` and the rows of ``batches``; ``kinds`` are
    the columns' data types (datetimes already in the wanted time zone). Text is always
    written as text, never as a formula, whatever it begins with."""
    sink = _Sink()
    letters = [column_letters(i) for i in range(len(header))]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, content in STATIC_PARTS.items():
            book.writestr(name, content)
        book.writestr("xl/workbook.xml",
                      WORKBOOK.replace("{name}", escape(sheet_name[:31], {'"': "&quot;"})))
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = "".join(f'<c r="{letter}1" t="inlineStr" s="{HEADER_STYLE}">{_text(label)}</c>'
                           for letter, label in zip(letters, header, strict=True))
            sheet.write((SHEET_HEAD + f'<row r="1">{head}</row>').encode())
            number = 1
            for rows in batches:
                lines = []
                for row in rows:
                    number += 1
                    if number > MAX_ROWS:
                        break
                    cells = "".join(cell(f"{letter}{number}", kind, value)
                                    for letter, kind, value in zip(letters, kinds, row,
                                                                   strict=True))
                    lines.append(f'<row r="{number}">{cells}</row>')
                sheet.write("".join(lines).encode())
                if sink.size >= chunk_size:
                    yield sink.drain()
                if number > MAX_ROWS:
                    break
            sheet.write(SHEET_TAIL.encode())
    yield sink.drain()
