"""Streaming readers for uploaded data: CSV, XLSX, and JSON (an array of objects, or one
object per line). Each yields batches of string columns keyed by data item name, with the
file's row numbers, so memory stays flat whatever the file's size.

The header (CSV, XLSX) or the keys (JSON) name the data items, by name (case-insensitive)
or by Chinese title; ``_id`` (a column of our own exports) is ignored. Unknown, duplicated,
unnamed and missing required columns are reported. Row 1 is the first row after the header.

CSV: UTF-8 with or without BOM, or GB18030/GBK (what Excel writes on Chinese Windows),
detected from the first 64 KiB; comma, tab or semicolon separated; quoted values may hold
newlines. Parsing is pyarrow's streaming reader, every column read as text.
"""

from __future__ import annotations

import abc
import codecs
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from govdata.catalog.datastore import safexlsx
from govdata.catalog.datastore.columns import ROW_ID, ColumnSpec
from govdata.catalog.datastore.validate import CellError, Rows, shown

FORMATS = ("csv", "xlsx", "json")
EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".json": "json",
              ".ndjson": "json", ".jsonl": "json"}
MEDIA_TYPES = {"text/csv": "csv", "text/tab-separated-values": "csv", "text/plain": "csv",
               "application/csv": "csv", "application/json": "json",
               "application/x-ndjson": "json", "application/jsonl": "json",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}
CSV_BLOCK = 1 << 20  # pyarrow reads a few dozen blocks ahead: small blocks, small memory
CSV_BATCH_BYTES = 4 << 20  # blocks are grouped into batches of about this size
ROW_BATCH = 20_000
SNIFF_BYTES = 64 << 10
MAX_COLUMNS = 2_000


class ReadError(Exception):
    """The file cannot be read at all (not CSV/XLSX/JSON, bad encoding, broken syntax)."""


class RowTooLarge(ReadError):
    """A CSV row longer than the reader's block: read the file again with larger blocks."""


@dataclass
class Batch:
    """Some rows of the file: string columns by item name, their row numbers, and problems
    the reader itself found in them (wrong column counts, nested JSON values, …)."""

    columns: dict[str, pa.Array]
    rows: Rows
    errors: list[CellError] = field(default_factory=list)
    progress: int = 0


def detect_format(path: Path, *, filename: str | None = None, content_type: str | None = None,
                  explicit: str | None = None) -> str:
    """csv, xlsx or json: as asked, else by extension, media type, then by content."""
    if explicit:
        kind = explicit.lower().strip().lstrip(".")
        kind = {"ndjson": "json", "jsonl": "json", "tsv": "csv"}.get(kind, kind)
        if kind not in FORMATS:
            raise ReadError(f"不支持的格式 {explicit} (use csv, xlsx or json)")
        return kind
    for name in (filename, path.name):
        if name and Path(name).suffix.lower() in EXTENSIONS:
            return EXTENSIONS[Path(name).suffix.lower()]
    if content_type:
        media = content_type.split(";")[0].strip().lower()
        if media in MEDIA_TYPES:
            return MEDIA_TYPES[media]
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    stripped = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if stripped[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def open_reader(path: Path, kind: str, specs: Sequence[ColumnSpec], *,
                block_size: int = CSV_BLOCK) -> Reader:
    if kind == "csv":
        return CsvReader(path, specs, block_size=block_size)
    return (XlsxReader if kind == "xlsx" else JsonReader)(path, specs)


# --- header ----------------------------------------------------------------------------

class Header:
    """Resolves column names (or JSON keys) to data items."""

    IGNORED = object()

    def __init__(self, specs: Sequence[ColumnSpec]) -> None:
        self.specs = list(specs)
        self.by_name = {spec.name.casefold(): spec for spec in specs}
        self.by_title = {spec.title.strip(): spec for spec in specs}

    def resolve(self, label: Any) -> ColumnSpec | object | None:
        text = "" if label is None else str(label).replace("\ufeff", "").strip()
        if text == ROW_ID:
            return self.IGNORED
        return self.by_name.get(text.casefold()) or self.by_title.get(text)

    def map(self, labels: Sequence[Any]) -> tuple[list[ColumnSpec | None], list[CellError]]:
        """Each column's item (``None`` for ignored ones) and the header's problems."""
        mapping: list[ColumnSpec | None] = []
        errors: list[CellError] = []
        seen: dict[str, Any] = {}
        for index, label in enumerate(labels):
            text = "" if label is None else str(label).replace("\ufeff", "").strip()
            target = self.resolve(label)
            if not text:
                errors.append(CellError(None, f"第 {index + 1} 列", None,
                                        "列名为空 (column without a name)"))
                mapping.append(None)
            elif target is self.IGNORED:
                mapping.append(None)
            elif target is None:
                errors.append(CellError(None, text, None, "未知的列: 不是本资源的信息项名称"
                                        "或中文名称 (unknown column)"))
                mapping.append(None)
            else:
                assert isinstance(target, ColumnSpec)
                if target.name in seen:
                    errors.append(CellError(None, text, None,
                                            f"与 {seen[target.name]} 重复, 都指向信息项 "
                                            f"{target.name} (duplicate column)"))
                    mapping.append(None)
                else:
                    seen[target.name] = text
                    mapping.append(target)
        errors += self.missing(seen)
        return mapping, errors

    def missing(self, present: Any) -> list[CellError]:
        return [CellError(None, spec.name, None,
                          f"缺少必填信息项 {spec.title} 的列 (missing required column)")
                for spec in self.specs if spec.required and spec.name not in present]


class Reader(abc.ABC):
    header_errors: list[CellError]
    total: int  # progress units of the whole file (bytes or rows)

    @abc.abstractmethod
    def __iter__(self) -> Iterator[Batch]:
        ...

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


# --- CSV -------------------------------------------------------------------------------

def sniff_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    try:
        head.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        return "utf-8"


def sniff_delimiter(first_line: str) -> str:
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class CsvReader(Reader):
    def __init__(self, path: Path, specs: Sequence[ColumnSpec], *,
                 block_size: int = CSV_BLOCK) -> None:
        self.path = path
        self.total = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
        self.encoding = sniff_encoding(head)
        text = head.decode(self.encoding, errors="ignore").lstrip("\ufeff")
        first_line = next(iter(text.splitlines()), "")
        self.delimiter = sniff_delimiter(first_line)
        self.skipped: set[int] = set()
        self.row_errors: list[CellError] = []
        self.stream = pa.OSFile(str(path), "rb")
        try:
            self.reader = pcsv.open_csv(
                self.stream,
                read_options=pcsv.ReadOptions(use_threads=False, block_size=block_size,
                                              autogenerate_column_names=True,
                                              encoding=self.encoding),
                parse_options=pcsv.ParseOptions(delimiter=self.delimiter,
                                                newlines_in_values=True,
                                                invalid_row_handler=self._invalid_row),
                convert_options=pcsv.ConvertOptions(
                    column_types={f"f{i}": pa.string() for i in range(MAX_COLUMNS)},
                    strings_can_be_null=False, quoted_strings_can_be_null=False),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            self.stream.close()
            raise _read_error(exc) from None
        self._first: pa.RecordBatch | None = self._next()
        labels = [] if self._first is None or self._first.num_rows == 0 else [
            column[0].as_py() for column in self._first.columns]
        if not labels:
            self.stream.close()
            raise ReadError("CSV 文件是空的, 没有表头 (empty file)")
        self.mapping, self.header_errors = Header(specs).map(labels)
        self._first = self._first.slice(1)

    def _invalid_row(self, row: Any) -> str:
        number = row.number - 1 if row.number and row.number > 0 else None
        if number is not None:
            self.skipped.add(number)
        self.row_errors.append(CellError(
            number, None, shown(row.text),
            f"列数不对: 应有 {row.expected_columns} 列, 实有 {row.actual_columns} 列 "
            f"(expected {row.expected_columns} columns, got {row.actual_columns})"))
        return "skip"

    def _next(self) -> pa.RecordBatch | None:
        try:
            return self.reader.read_next_batch()
        except StopIteration:
            return None
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _read_error(exc) from None

    def _batches(self) -> Iterator[pa.RecordBatch]:
        """The parsed blocks, grouped: fewer, larger batches to check and copy. The first
        block goes alone, so that the database has rows to parse sooner."""
        pending: list[pa.RecordBatch] = []
        size = 0
        batch, self._first = self._first, None
        if batch is not None and batch.num_rows:
            yield batch
            batch = self._next()
        while batch is not None:
            if batch.num_rows:
                pending.append(batch)
                size += batch.nbytes
            if size >= CSV_BATCH_BYTES:
                yield _combine(pending)
                pending, size = [], 0
            batch = self._next()
        if pending:
            yield _combine(pending)

    def __iter__(self) -> Iterator[Batch]:
        next_row = 1
        for batch in self._batches():
            count = batch.num_rows
            numbers = None
            if self.skipped and any(next_row <= n < next_row + count + len(self.skipped)
                                    for n in self.skipped):
                numbers = np.empty(count, np.int64)
                for index in range(count):
                    while next_row in self.skipped:
                        next_row += 1
                    numbers[index] = next_row
                    next_row += 1
                rows = Rows(int(numbers[0]) if count else next_row, count, numbers)
            else:
                rows = Rows(next_row, count)
                next_row += count
            while next_row in self.skipped:
                next_row += 1
            columns = {spec.name: batch.column(index)
                       for index, spec in enumerate(self.mapping) if spec is not None}
            errors, self.row_errors = self.row_errors, []
            yield Batch(columns, rows, errors, progress=self.stream.tell())
        if self.row_errors:
            yield Batch({}, Rows(next_row, 0), self.row_errors, progress=self.total)
            self.row_errors = []

    def close(self) -> None:
        self.stream.close()


def _combine(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _read_error(exc: BaseException) -> ReadError:
    if "straddl" in str(exc):
        return RowTooLarge("CSV 文件中有一行过长 (a row is longer than the read block)")
    return ReadError(f"无法读取 CSV 文件: {_arrow_message(exc)}")


def _arrow_message(exc: BaseException) -> str:
    message = str(exc)
    if "UTF8" in message or "utf-8" in message.lower():
        return "不是有效的 UTF-8 或 GB18030 文本 (invalid text encoding)"
    return message.splitlines()[0][:300]


# --- XLSX ------------------------------------------------------------------------------

def cell_text(value: Any) -> str | None:
    """A spreadsheet or JSON value as the text a CSV would hold."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


class XlsxReader(Reader):
    """The first worksheet; its first non-empty row is the header. Row numbers count from
    the row after the header, blank rows included (so row n is sheet row header + n)."""

    def __init__(self, path: Path, specs: Sequence[ColumnSpec]) -> None:
        try:
            self.book = safexlsx.Workbook(str(path))
        except safexlsx.UnreadableWorkbook as exc:
            raise ReadError(str(exc)) from None
        self.rows = self._rows()
        self.sheet_row = 0
        labels: list[Any] = []
        for values in self.rows:
            self.sheet_row += 1
            if any(value is not None and str(value).strip() for value in values):
                labels = list(values)
                break
        while labels and (labels[-1] is None or not str(labels[-1]).strip()):
            labels.pop()
        if not labels:
            self.close()
            raise ReadError("XLSX 工作表是空的, 没有表头 (empty worksheet)")
        self.header_row = self.sheet_row
        self.total = self.book.max_row
        self.mapping, self.header_errors = Header(specs).map(labels)

    def __iter__(self) -> Iterator[Batch]:
        targets = [(index, spec.name) for index, spec in enumerate(self.mapping) if spec]
        width = len(self.mapping)
        while True:
            columns: dict[str, list[str | None]] = {name: [] for _, name in targets}
            numbers: list[int] = []
            errors: list[CellError] = []
            for values in self.rows:
                self.sheet_row += 1
                if all(value is None or value == "" for value in values):
                    continue
                number = self.sheet_row - self.header_row
                extra = [value for value in values[width:] if value is not None and value != ""]
                if extra:
                    errors.append(CellError(number, None, shown(extra[0]), "表头以外的列有值 "
                                            "(value outside the header's columns)"))
                numbers.append(number)
                for index, name in targets:
                    columns[name].append(cell_text(values[index]) if index < len(values)
                                         else None)
                if len(numbers) >= ROW_BATCH:
                    break
            if not numbers:
                if errors:
                    yield Batch({}, Rows(0, 0), errors, progress=self.sheet_row)
                return
            rows = Rows(numbers[0], len(numbers), np.asarray(numbers, np.int64))
            yield Batch({name: pa.array(values, pa.string()) for name, values in columns.items()},
                        rows, errors, progress=self.sheet_row)

    def _rows(self) -> Iterator[tuple[Any, ...]]:
        try:
            yield from self.book.rows()
        except safexlsx.UnreadableWorkbook as exc:
            raise ReadError(str(exc)) from None

    def close(self) -> None:
        self.book.close()


# --- JSON ------------------------------------------------------------------------------

def too_deep(where: str) -> ReadError:
    return ReadError(f"{where}的 JSON 嵌套过深 (JSON nested too deeply)")


class JsonReader(Reader):
    """An array of objects (streamed, never loaded whole) or NDJSON (one object a line).
    Keys name the items; unknown keys are reported once, with the first row holding one."""

    CHUNK = 1 << 20
    MAX_ELEMENT = 16 << 20  # one element (row) of an array, as text

    def __init__(self, path: Path, specs: Sequence[ColumnSpec]) -> None:
        self.total = path.stat().st_size
        self.handle = open(path, "rb")  # noqa: SIM115 - closed by close()
        head = self.handle.read(SNIFF_BYTES)
        self.handle.seek(0)
        start = head.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
        if start == b"[":
            self.mode = "array"
        elif start == b"{":
            self.mode = "lines"
        else:
            self.handle.close()
            raise ReadError("JSON 必须是对象数组, 或每行一个对象 (NDJSON) "
                            "(expected an array of objects or NDJSON)")
        self.header = Header(specs)
        self.keys: dict[str, ColumnSpec | None] = {}
        self.present: set[str] = set()
        self.header_errors = []
        self.specs = list(specs)

    def _objects(self) -> Iterator[tuple[int, Any]]:
        return self._array() if self.mode == "array" else self._lines()

    def _lines(self) -> Iterator[tuple[int, Any]]:
        for number, raw in enumerate(self.handle, start=1):
            line = raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw
            if not line.strip():
                continue
            try:
                yield number, json.loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                raise ReadError(f"第 {number} 行不是有效的 UTF-8 文本 (invalid UTF-8)") from None
            except RecursionError:
                raise too_deep(f"第 {number} 行") from None
            except json.JSONDecodeError as exc:
                raise ReadError(f"第 {number} 行不是有效的 JSON: {exc.msg} "
                                f"(invalid JSON on line {number})") from None

    def _array(self) -> Iterator[tuple[int, Any]]:
        decoder = json.JSONDecoder()
        text_decoder = codecs.getincrementaldecoder("utf-8-sig")()
        buffer, position, done = "", 0, False
        state = "start"  # start → value → comma → value … → end
        number = 0

        def more() -> bool:
            nonlocal buffer, position, done
            if done:
                return False
            chunk = self.handle.read(self.CHUNK)
            try:
                text = text_decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError:
                raise ReadError("JSON 不是有效的 UTF-8 文本 (invalid UTF-8)") from None
            done = not chunk
            buffer, position = buffer[position:] + text, 0
            return bool(chunk) or bool(text)

        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                position += 1
            if position >= len(buffer):
                if not more():
                    raise ReadError("JSON 数组没有结束 (unterminated array)")
                continue
            char = buffer[position]
            if state == "start":
                if char != "[":
                    raise ReadError("JSON 必须是对象数组 (expected an array)")
                position += 1
                state = "first"
                continue
            if state in ("first", "comma") and char == "]":
                return
            if state == "comma":
                if char != ",":
                    raise ReadError(f"第 {number} 个元素之后缺少逗号 (expected ',')")
                position += 1
                state = "value"
                continue
            try:
                value, end = decoder.raw_decode(buffer, position)
            except RecursionError:
                raise too_deep(f"第 {number + 1} 个元素") from None
            except json.JSONDecodeError as exc:
                # Perhaps the element is cut by the end of the buffer: read on, but not
                # without end (a syntax error must not pull the rest of the file in).
                if not done and len(buffer) - position < self.MAX_ELEMENT and more():
                    continue
                raise ReadError(f"第 {number + 1} 个元素附近 JSON 语法错误: {exc.msg} "
                                f"(invalid JSON near element {number + 1})") from None
            if end >= len(buffer) and not done:
                # A number or literal may continue in the next chunk: read on first.
                more()
                continue
            number += 1
            position = end
            state = "comma"
            yield number, value

    def _spec(self, key: str, row: int, errors: list[CellError]) -> ColumnSpec | None:
        if key not in self.keys:
            target = self.header.resolve(key)
            if target is Header.IGNORED:
                self.keys[key] = None
            elif target is None:
                self.keys[key] = None
                errors.append(CellError(row, key, None, "未知的字段: 不是本资源的信息项名称"
                                        "或中文名称 (unknown key)"))
            else:
                assert isinstance(target, ColumnSpec)
                self.keys[key] = target
        return self.keys[key]

    def __iter__(self) -> Iterator[Batch]:
        objects = self._objects()
        exhausted = False
        while not exhausted:
            columns: dict[str, list[str | None]] = {spec.name: [] for spec in self.specs}
            numbers: list[int] = []
            errors: list[CellError] = []
            for number, value in objects:
                if not isinstance(value, dict):
                    errors.append(CellError(number, None, shown(json.dumps(value,
                                                                           ensure_ascii=False)),
                                            "不是 JSON 对象 (not an object)"))
                    continue
                numbers.append(number)
                row = dict.fromkeys(columns)
                for key, cell in value.items():
                    spec = self._spec(str(key), number, errors)
                    if spec is None:
                        continue
                    if isinstance(cell, dict | list):
                        nested = shown(json.dumps(cell, ensure_ascii=False))
                        errors.append(CellError(number, spec.name, nested,
                                                "不能是嵌套的对象或数组 (nested value)"))
                        continue
                    row[spec.name] = cell_text(cell)
                for name, cell in row.items():
                    columns[name].append(cell)
                if len(numbers) >= ROW_BATCH:
                    break
            else:
                exhausted = True
            if numbers:
                rows = Rows(numbers[0], len(numbers), np.asarray(numbers, np.int64))
                yield Batch({name: pa.array(values, pa.string())
                             for name, values in columns.items()}, rows, errors,
                            progress=self.handle.tell() if not self.handle.closed else self.total)
            elif errors:
                yield Batch({}, Rows(0, 0), errors, progress=self.total)

    def close(self) -> None:
        self.handle.close()
