"""Reading an uploaded XLSX workbook's first sheet with bounded memory, whatever it holds.

A few hundred kilobytes of zip can inflate to gigabytes of XML, and openpyxl (even
read-only) keeps the elements it does not handle and reads some parts whole; its XML parser
holds a text node whole: a 300 KB workbook with one 300 MB cell took the server past 1.6 GB
before it answered 422. This reader streams the parts it needs (``iterparse``) and
refuses, before the parser sees them, whatever no real workbook holds:

- a part inflating past its bound (``zipfile`` never inflates past the size the archive
  declares, and checks the CRC): ``MAX_SHEET_BYTES`` for the sheet, ``MAX_PART_BYTES`` for
  the others;
- a document type declaration, comment, CDATA section or processing instruction (``<!``,
  ``<?`` after the XML declaration): OOXML needs none of them, and entity expansion bombs
  and external entities (XXE) need a DTD;
- more than ``MAX_TOKEN_BYTES`` without markup (a cell's text: Excel's own limit is
  32,767 characters) or XML that is not UTF-8;
- nesting deeper than ``MAX_DEPTH``, a row of more than ``MAX_UNIT_ELEMENTS`` elements,
  more than ``MAX_OTHER_ELEMENTS`` elements outside the rows, cells past Excel's last row
  or column.

Each element is dropped once read. Values are what openpyxl's ``values_only`` gives (its
rules for dates and their number formats, both epochs): ``str``, ``int``, ``float``,
``bool``, ``datetime``/``date``/``time``/``timedelta`` or ``None``.
"""

from __future__ import annotations

import codecs
import posixpath
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, iterparse

import numpy as np


class UnreadableWorkbook(Exception):
    """Not a workbook this reader will read; the message says why (Chinese, then English)."""


MAX_SHEET_BYTES = 4 << 30  # inflated worksheet XML: about a million rows of twenty columns
MAX_PART_BYTES = 64 << 20  # shared strings, styles, workbook, relationships
MAX_TOKEN_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_UNIT_ELEMENTS = 200_000  # in one row (16,384 cells and their values), or one list
# Outside the units read (a sheet's rows): column widths, merged cells, links and the like.
# Without a bound, a sheet whose elements are not rows (say, outside the spreadsheet
# namespace) was parsed to its end: 117 KB zipped, 4 million cells, 35 s of CPU.
MAX_OTHER_ELEMENTS = 200_000
MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384  # Excel's own limits
CHUNK = 1 << 16

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
REL_TYPES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
OFFICE_DOCUMENT = REL_TYPES + "officeDocument"
_LT = 0x3C


def _refuse(message: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(f"不是可读取的 XLSX 文件: {message}")


class _CheckedPart:
    """A part's bytes as the XML parser reads them, checked chunk by chunk first."""

    def __init__(self, stream: IO[bytes], name: str) -> None:
        self.stream, self.name = stream, name
        self.since_markup = 0  # bytes since the last "<"
        self.previous = b""  # the last byte read, for a "<!" across two chunks
        self.first = True

    def read(self, size: int = CHUNK) -> bytes:
        chunk = self.stream.read(min(size, CHUNK) if size and size > 0 else CHUNK)
        if chunk:
            self._check(chunk)
        return chunk

    def _check(self, chunk: bytes) -> None:
        window = self.previous + chunk
        if self.first:
            self.first = False
            window = self._after_declaration(chunk)
        if b"<!" in window or b"<?" in window:
            raise _refuse(f"{self.name} 含有 DTD、注释、CDATA 或处理指令 (DTD, comment, CDATA "
                          "or processing instruction in an XML part)")
        positions = np.flatnonzero(np.frombuffer(chunk, np.uint8) == _LT)
        if positions.size:
            longest = self.since_markup + int(positions[0])
            if positions.size > 1:
                longest = max(longest, int(np.diff(positions).max()))
            self.since_markup = len(chunk) - 1 - int(positions[-1])
        else:
            longest = self.since_markup = self.since_markup + len(chunk)
        if max(longest, self.since_markup) > MAX_TOKEN_BYTES:
            raise _refuse(f"{self.name} 中有超过 {MAX_TOKEN_BYTES >> 20} MiB 的单元格文本或标记 "
                          "(a cell or tag above the limit)")
        self.previous = chunk[-1:]

    def _after_declaration(self, chunk: bytes) -> bytes:
        if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in chunk[:4]:
            raise _refuse(f"{self.name} 不是 UTF-8 编码 (XML parts must be UTF-8)")
        text = chunk.removeprefix(codecs.BOM_UTF8).lstrip()
        if text.startswith(b"<?xml"):
            end = text.find(b"?>")
            if end < 0:
                raise _refuse(f"{self.name} 的 XML 声明不完整 (unterminated XML declaration)")
            return text[end + 2:]
        return text


class Workbook:
    """The first worksheet of an XLSX file: ``rows()`` and, once known, ``max_row``."""

    def __init__(self, source: str | IO[bytes]) -> None:
        try:
            self.archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise _refuse(f"不是 zip 文件 (not a zip archive): {exc}") from None
        self.max_row = 0
        try:
            self._read_workbook()
        except BaseException:
            self.archive.close()
            raise

    def close(self) -> None:
        self.archive.close()

    # -- parts ----------------------------------------------------------------------------

    def _elements(self, name: str, *units: str, limit: int | None = None
                  ) -> Iterator[Element]:
        """The elements of a part named in ``units`` (qualified tags), each whole when
        yielded and dropped after; every other element is dropped as soon as it ends."""
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise _refuse(f"缺少 {name} (missing part)") from None
        limit = limit or MAX_PART_BYTES
        if info.file_size > limit:
            raise _refuse(f"{name} 解压后 {info.file_size} 字节, 超过 {limit} 字节的上限 "
                          "(part too large once inflated)")
        stack: list[Element] = []
        in_unit = 0  # elements in the current unit so far, 0 outside one
        others = 0  # elements outside the units
        try:
            with self.archive.open(info) as stream:
                for event, element in iterparse(_CheckedPart(stream, name),
                                                events=("start", "end")):
                    if event == "start":
                        stack.append(element)
                        if len(stack) > MAX_DEPTH:
                            raise _refuse(f"{name} 的 XML 嵌套过深 (nested too deeply)")
                        if in_unit or element.tag in units:
                            in_unit += 1
                            if in_unit > MAX_UNIT_ELEMENTS:
                                raise _refuse(f"{name} 中一个元素含有过多的子元素 "
                                              "(an element with too many children)")
                        else:
                            others += 1
                            if others > MAX_OTHER_ELEMENTS:
                                raise _refuse(f"{name} 中行以外的元素过多 "
                                              "(too many elements outside the rows)")
                        continue
                    stack.pop()
                    if element.tag in units:
                        yield element
                        in_unit = 0
                    if not in_unit:
                        element.clear()
                        if stack:
                            stack[-1].remove(element)
        except ParseError as exc:
            raise _refuse(f"{name} 的 XML 无法解析 (malformed XML): {exc}") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                RuntimeError) as exc:  # bad CRC, unknown compression, encryption
            raise _refuse(f"{name} 无法解压 (cannot inflate): {exc}") from None

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """A part's relationships: id → (type, target part name)."""
        folder, base = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", base + ".rels")
        found = {}
        for rel in self._elements(rels, f"{PKG_REL}Relationship"):
            target = rel.get("Target") or ""
            if target.startswith("/"):
                target = target[1:]
            else:
                target = posixpath.normpath(posixpath.join(folder, target))
            found[rel.get("Id") or ""] = (rel.get("Type") or "", target)
        return found

    def _read_workbook(self) -> None:
        from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH

        package = self._relationships("")
        book = next((target for kind, target in package.values()
                     if kind == OFFICE_DOCUMENT), "xl/workbook.xml")
        self.epoch = WINDOWS_EPOCH
        sheet_id = None
        for element in self._elements(book, f"{MAIN}workbookPr", f"{MAIN}sheet"):
            if element.tag == f"{MAIN}workbookPr":
                if element.get("date1904") in ("1", "true"):
                    self.epoch = MAC_EPOCH
            elif sheet_id is None:
                sheet_id = element.get(f"{DOC_REL}id")
        if sheet_id is None:
            raise _refuse("没有工作表 (no worksheet)")
        parts = self._relationships(book)
        if sheet_id not in parts:
            raise _refuse("找不到第一个工作表 (first worksheet not found)")
        self.sheet = parts[sheet_id][1]
        by_type = {kind.rsplit("/", 1)[-1]: target for kind, target in parts.values()}
        self.strings = self._shared_strings(by_type.get("sharedStrings"))
        self.dates, self.durations = self._date_styles(by_type.get("styles"))

    def _shared_strings(self, part: str | None) -> list[str]:
        if part is None or part not in self.archive.NameToInfo:
            return []
        # openpyxl's reading of Excel's "_x005F_" escape, kept so values read the same
        return [_text(si).replace("x005F_", "") for si in self._elements(part, f"{MAIN}si")]

    def _date_styles(self, part: str | None) -> tuple[set[int], set[int]]:
        """The cell styles whose number format shows a date, and a duration."""
        from openpyxl.styles.numbers import (
            BUILTIN_FORMATS,
            is_date_format,
            is_timedelta_format,
        )

        if part is None or part not in self.archive.NameToInfo:
            return set(), set()
        custom: dict[int, str] = {}
        dates: set[int] = set()
        durations: set[int] = set()
        for element in self._elements(part, f"{MAIN}numFmt", f"{MAIN}cellXfs"):
            if element.tag == f"{MAIN}numFmt":
                custom[_int(element.get("numFmtId"), -1)] = element.get("formatCode") or ""
                continue
            for index, xf in enumerate(element.iter(f"{MAIN}xf")):
                number_format = _int(xf.get("numFmtId"), 0)
                code = custom.get(number_format) or BUILTIN_FORMATS.get(number_format,
                                                                         "General")
                if is_date_format(code):
                    dates.add(index)
                if is_timedelta_format(code):
                    durations.add(index)
        return dates, durations

    # -- rows -----------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Every row from the first, blank ones as ``()``, each up to its last cell."""
        number = 0
        for element in self._elements(self.sheet, f"{MAIN}dimension", f"{MAIN}row",
                                      limit=MAX_SHEET_BYTES):
            if element.tag == f"{MAIN}dimension":
                digits = (element.get("ref") or "").rpartition(":")[2].lstrip(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$")
                self.max_row = int(digits) if digits.isdigit() else 0  # progress only
                continue
            row = element
            at = _int(row.get("r"), number + 1)
            if not number < at <= MAX_ROWS:
                raise _refuse(f"行号 {row.get('r')} 无效 (bad row number)")
            while number + 1 < at:
                number += 1
                yield ()
            number = at
            yield self._values(row)

    def _values(self, row: Element) -> tuple[Any, ...]:
        values: list[Any] = []
        for cell in row.iter(f"{MAIN}c"):
            reference = cell.get("r")
            column = _column(reference) if reference else len(values) + 1
            if not len(values) < column <= MAX_COLUMNS:
                raise _refuse(f"单元格位置 {reference} 无效 (bad cell reference)")
            values.extend([None] * (column - 1 - len(values)))
            values.append(self._value(cell))
        return tuple(values)

    def _value(self, cell: Element) -> Any:
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        kind = cell.get("t", "n")
        if kind == "inlineStr":
            inline = cell.find(f"{MAIN}is")
            return None if inline is None else _text(inline)
        raw = cell.findtext(f"{MAIN}v") or None
        if raw is None:
            return None
        try:
            if kind == "s":
                return self.strings[int(raw)]
            if kind == "b":
                return bool(int(raw))
            if kind == "d":
                return from_ISO8601(raw)
            if kind in ("str", "e"):
                return raw
            number = float(raw) if any(c in raw for c in ".eE") else int(raw)
            style = _int(cell.get("s"), 0)
            if style in self.dates:
                try:
                    return from_excel(number, self.epoch, timedelta=style in self.durations)
                except (OverflowError, ValueError):
                    return "#VALUE!"  # what openpyxl gives for a date out of range
            return number
        except (ValueError, IndexError, OverflowError):
            raise _refuse(f"单元格 {cell.get('r') or ''} 的值无效 (bad value {raw[:20]!r})"
                          ) from None


def _text(element: Element) -> str:
    """A rich text's plain text: its ``t`` and runs' ``t``, without phonetic runs."""
    parts = []
    for child in element:
        if child.tag == f"{MAIN}t":
            parts.append(child.text or "")
        elif child.tag == f"{MAIN}r":
            parts.append(child.findtext(f"{MAIN}t") or "")
    return "".join(parts)


def _int(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise _refuse(f"数值属性无效 (bad number {value[:20]!r})") from None


def _column(reference: str) -> int:
    letters = reference.rstrip("0123456789").upper()
    if not letters or len(letters) > 3 or not letters.isascii() or not letters.isalpha():
        raise _refuse(f"单元格位置 {reference[:20]!r} 无效 (bad cell reference)")
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    return column
