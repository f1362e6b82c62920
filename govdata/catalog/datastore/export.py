"""Streaming exports of a resource's current data: CSV, TSV, JSON, NDJSON and XLSX.

Two steps, because an HTTP response streams after the request's session is closed:

- ``plan_export(session, resource, …)`` checks the request (fields, filters, q, sort and
  masks, exactly as ``query_rows``) in the caller's session and returns an ``ExportPlan``
  holding only the SQL to run: errors are raised here, before the first byte;
- ``stream_export(bind, plan)`` runs it on its own connection (an ``Engine``, or a
  ``Connection`` already in a transaction) and yields bytes in chunks of about 256 KiB.

On PostgreSQL, CSV/TSV/JSON/NDJSON are produced by the server with
``COPY (SELECT …) TO STDOUT`` (masks and value formatting are SQL expressions), read with
psycopg's libpq calls in a tight loop: close to the speed of ``COPY`` itself. JSON rows are
``row_to_json``'s text, put together from each value's text (``_json_row``), copied as CSV
with quote and delimiter bytes JSON never contains. With
no explicit sort, rows are read in storage order, which for these write-once tables is
``_id`` order (synchronised and parallel scans are switched off for the statement). XLSX
and every format on SQLite go through Python rows fetched in batches (a server-side cursor
on PostgreSQL). Memory stays flat either way.

Values look the same on every path and in both databases: dates ``2024-05-01``, datetimes
``2024-05-01T08:30:00+08:00`` (China Standard Time), flags ``true``/``false``.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from select import select as wait_readable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from govdata.catalog.datastore import masks as masking
from govdata.catalog.datastore import safecsv, xlsx
from govdata.catalog.datastore.query import (
    CHINA_OFFSET,
    MAX_EXPORT_ROWS,
    Column,
    Masks,
    Selection,
    count_rows,
    current_version,
    json_value,
    local_time_text,
    moment,
    select_columns,
)
from govdata.catalog.models import Resource
from govdata.platform.errors import RuleViolation

FORMATS = ("csv", "tsv", "json", "ndjson", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK = 1 << 18
FETCH_ROWS = 1_000
JSON_QUOTE, JSON_DELIMITER = "\x01", "\x02"  # bytes JSON text never holds unescaped
FORMAT_VALUES = 99  # ``format``'s arguments after its format string


@dataclass(frozen=True)
class ExportPlan:
    resource_code: str
    version: int
    format: str
    selection: Selection
    labels: list[str]
    limit: int | None = None
    offset: int = 0
    bom: bool = False
    records: str = "objects"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def filename(self) -> str:
        return f"{self.resource_code.replace('/', '-')}-v{self.version}.{self.format}"

    @property
    def fields(self) -> list[dict[str, Any]]:
        return self.selection.fields()


def plan_export(
    session: Session,
    resource: Resource,
    *,
    format: str = "csv",
    fields: Any = None,
    filters: Mapping[str, Any] | None = None,
    q: Any = None,
    sort: Any = None,
    limit: int | None = None,
    offset: int = 0,
    masks: Masks | None = None,
    bom: bool = False,
    header: str = "name",
    records: str = "objects",
    items: Collection[str] | None = None,
    plain: bool = True,
) -> ExportPlan:
    """Check an export request (no permission check: the caller's) and plan it.

    ``header`` names CSV/TSV/XLSX columns by item ``name`` or Chinese ``title``;
    ``records`` ``lists`` gives CKAN's dump shape for JSON
    (``{"fields": […], "records": [[…], …]}``), ``objects`` an array of objects.
    ``items`` limits the data items to those the caller may see (``query_rows``);
    ``plain`` false reads ``q`` in ``to_tsquery``'s syntax."""
    problems = []
    if format not in FORMATS:
        problems.append({"loc": ["format"], "msg": f"格式只能是 {', '.join(FORMATS)}"})
    if header not in ("name", "title"):
        problems.append({"loc": ["header"], "msg": "header 只能是 name 或 title"})
    if records not in ("objects", "lists"):
        problems.append({"loc": ["records"], "msg": "records 只能是 objects 或 lists"})
    for name, value in (("limit", limit), ("offset", offset)):
        if value is not None and not 0 <= value <= MAX_EXPORT_ROWS:
            problems.append({"loc": [name], "msg": f"{name} 应在 0–{MAX_EXPORT_ROWS} 之间 "
                             f"(from 0 to {MAX_EXPORT_ROWS})"})
    if problems:
        raise RuleViolation("导出参数无效 (invalid export)", code="datastore_query_invalid",
                            errors=problems)
    version = current_version(session, resource)
    connection = session.connection()
    selection = select_columns(version, connection.dialect.name, fields=fields,
                               filters=filters, q=q, sort=sort, masks=masks, items=items,
                               plain=plain)
    masking.register_sqlite_functions(connection)
    _probe(connection, selection, limit, offset)
    if format == "xlsx":
        rows = planned_rows(connection, selection, limit=limit, offset=offset)
        if rows >= xlsx.MAX_ROWS:
            raise RuleViolation(f"XLSX 至多 {xlsx.MAX_ROWS - 1} 行, 本次 {rows} 行; 请用 CSV "
                                "(too many rows for XLSX; use CSV)", code="export_too_large")
    return ExportPlan(resource.code, version.version, format, selection,
                      _labels(selection, header), limit, offset, bom, records)


def _probe(connection: Connection, selection: Selection, limit: int | None,
           offset: int) -> None:
    """Run the export's query for no rows, in the request's session: whatever the database
    would refuse in its parameters fails here, before the first byte (and with the ledger
    entry rolled back), not in the middle of a download."""
    statement = selection.page(select(*[selection.expression(c) for c in selection.columns])
                               .select_from(selection.table), limit=limit, offset=offset)
    connection.execute(statement.limit(0)).close()


def planned_rows(connection: Connection, selection: Selection, *, limit: int | None,
                 offset: int) -> int:
    """How many rows the export of this selection holds."""
    rows = max(count_rows(connection, selection) - offset, 0)
    return rows if limit is None else min(rows, limit)


def _labels(selection: Selection, header: str) -> list[str]:
    labels: list[str] = []
    for column in selection.columns:
        label = column.name
        if header == "title" and column.spec is not None:
            label = column.spec.title
            if label in labels:
                label = f"{label} ({column.name})"
        labels.append(label)
    return labels


def stream_export(bind: Engine | Connection, plan: ExportPlan, *,
                  chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The export's bytes, read on ``bind``'s own connection (never the request's)."""
    with _reading(bind) as connection:
        if plan.bom and plan.format in ("csv", "tsv"):
            yield codecs.BOM_UTF8
        if connection.dialect.name == "postgresql" and plan.format != "xlsx":
            yield from _postgres(connection, plan, chunk_size)
        else:
            masking.register_sqlite_functions(connection)
            yield from _python(connection, plan, chunk_size)


@contextmanager
def _reading(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.connect() as connection, connection.begin() as transaction:
            yield connection
            transaction.rollback()
    else:
        savepoint = bind.begin_nested()
        try:
            yield bind
        finally:
            if savepoint.is_active:
                savepoint.rollback()


def _statement(plan: ExportPlan, expressions: list[ColumnElement], *, ordered: bool):
    selection = plan.selection
    return selection.page(select(*expressions).select_from(selection.table),
                          limit=plan.limit, offset=plan.offset, ordered=ordered)


# --- PostgreSQL: COPY ------------------------------------------------------------------

def _text_expression(selection: Selection, column: Column) -> ColumnElement:
    """The column as the text every CSV/TSV export shows (dates ISO, datetimes with
    +08:00, text that looks like a formula neutralised)."""
    value = selection.expression(column)
    kind = column.data_type
    if kind == "C":
        return safecsv.sql_neutralised(value) if _may_hold_formulas(column) else value
    if kind == "L":
        return case((value, literal("true")), (not_(value), literal("false")))
    if kind == "T":
        return _local_time_text(value, whole_seconds=_whole_seconds(column))
    return value


def _whole_seconds(column: Column) -> bool:
    """Whether the column's load found every value a whole second (``ColumnSpec``)."""
    return column.spec is not None and column.spec.whole_seconds is True


def _local_time_text(value: ColumnElement, *, whole_seconds: bool = False) -> ColumnElement:
    """``local_time_text``, but for a whole second (most values) the text PostgreSQL
    writes for a timestamp with the session in China Standard Time (``_postgres`` sets it),
    ``T`` and ``:00`` added: a third of the cost of ``to_char`` on a million rows. When
    the load found every value a whole second (``whole_seconds``), no value is tested
    (``date_trunc`` costs a tenth of the export's COPY), and the text is that of the local
    time (``timezone``) with ``+08:00`` added: a timestamp's text costs less to write than
    a timestamptz's (0.06 s CPU a million rows, half the cost of this text). The same
    bytes, as a load's values are all from the year 1 to 9999 (``validate``)."""
    if whole_seconds:
        local = cast(func.timezone(CHINA_OFFSET, value), Text)
        return func.replace(local, literal(" "), literal("T"), type_=Text()) + literal("+08:00")
    whole = func.replace(cast(value, Text), literal(" "), literal("T"), type_=Text())
    return case((value == func.date_trunc(literal("second"), value), whole + literal(":00")),
                else_=local_time_text(value))


def _json_expression(selection: Selection, column: Column) -> ColumnElement:
    return _text_expression(selection, column) if column.data_type == "T" else (
        selection.expression(column))


def _json_row(columns: list[Column], rows, *, lists: bool) -> ColumnElement:
    """A row of the subquery ``rows`` as the JSON text ``row_to_json`` (``lists``:
    ``array_to_json`` of ``to_json``) writes for it, byte for byte, put together by
    ``format`` from each value's own text. Those functions look up the type of every
    value of every row again, and ``row_to_json`` builds each row as a record and writes
    every key of every row again: on a million rows of 14 columns this takes a seventh
    (objects) to a third (lists) off the database's work. ``format`` takes at most 99
    values, so wider rows are joined from several."""
    values = [_json_value(column, rows.c[column.name]) for column in columns]
    slots = ["%s" if lists else f"{_json_key(column.name)}:%s" for column in columns]
    opening, closing = ("[", "]") if lists else ("{", "}")
    row = None
    for start in range(0, len(values), FORMAT_VALUES):
        end = start + FORMAT_VALUES
        text = ("," if start else opening) + ",".join(slots[start:end]) + (
            closing if end >= len(values) else "")
        part = func.format(literal(text, Text), *values[start:end], type_=Text())
        row = part if row is None else row + part
    return row if row is not None else literal(opening + closing, Text)


def _json_key(name: str) -> str:
    """``name`` as a JSON string (as PostgreSQL escapes it), ``%`` doubled for ``format``."""
    return json.dumps(name, ensure_ascii=False).replace("%", "%%")


def _json_value(column: Column, value: ColumnElement) -> ColumnElement:
    """The JSON text of one value of the export's subquery, as ``to_json`` writes it:
    numbers as their text (``NaN`` and infinities in quotes), flags ``true``/``false``,
    dates and datetimes (already text, ``_json_expression``) in quotes, text in quotes, as
    it is when its load found nothing in it to escape (``ColumnSpec.escapes``; a mask
    keeps parts of the text and adds stars), else through ``to_json``; ``null`` for NULL.
    ``to_json`` is four times the cost of quoting."""
    kind = column.data_type
    if kind == "I":
        shown = cast(value, Text)
    elif kind in ("N", "Y", "F"):
        finite = (value < literal_column("'Infinity'")) & (value > literal_column("'-Infinity'"))
        shown = case((finite, cast(value, Text)), else_=_quoted(cast(value, Text)))
    elif kind == "L":
        shown = case((value, literal("true")), (not_(value), literal("false")))
    elif kind in ("D", "T") or (kind == "C" and column.spec is not None
                                and column.spec.data_type == "C"
                                and column.spec.escapes is False):
        shown = _quoted(cast(value, Text))
    else:
        shown = cast(func.to_json(value), Text)
    return func.coalesce(shown, literal("null"), type_=Text())


def _quoted(text: ColumnElement) -> ColumnElement:
    return literal('"', Text) + text + literal('"', Text)


def _compile(connection: Connection, statement) -> tuple[str, dict[str, Any]]:
    compiled = statement.compile(dialect=connection.dialect,
                                 compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def _postgres(connection: Connection, plan: ExportPlan, chunk_size: int) -> Iterator[bytes]:
    selection = plan.selection
    connection.exec_driver_sql("SET LOCAL DateStyle = 'ISO, YMD'; "
                               "SET LOCAL TIME ZONE INTERVAL '+08:00' HOUR TO MINUTE")
    connection.exec_driver_sql("SET LOCAL extra_float_digits = 1")
    if not selection.sorted:
        connection.exec_driver_sql("SET LOCAL synchronize_seqscans = off")
        connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    if plan.format in ("csv", "tsv"):
        expressions = [_text_expression(selection, c).label(c.name) for c in selection.columns]
        sql, params = _compile(connection, _statement(plan, expressions, ordered=False))
        delimiter = "E'\\t'" if plan.format == "tsv" else "','"
        copy = (f"COPY ({sql}) TO STDOUT (FORMAT csv, DELIMITER {delimiter}, "
                "ENCODING 'UTF8')")
        yield _csv_header(plan)
        yield from _copy_out(connection, copy, params, chunk_size)
        return
    expressions = [_json_expression(selection, c).label(c.name) for c in selection.columns]
    rows = _statement(plan, expressions, ordered=False).subquery("r")
    row = _json_row(selection.columns, rows, lists=plan.format == "json"
                    and plan.records == "lists")
    sql, params = _compile(connection, select(row))
    copy = (f"COPY ({sql}) TO STDOUT (FORMAT csv, "
            f"DELIMITER E'\\x02', QUOTE E'\\x01', ENCODING 'UTF8')")
    lines = _copy_out(connection, copy, params, chunk_size)
    if plan.format == "ndjson":
        yield from lines
        return
    yield from _json_array(lines, _json_head(plan), _json_tail(plan))


def _json_head(plan: ExportPlan) -> bytes:
    if plan.records == "lists":
        fields = json.dumps(plan.fields, ensure_ascii=False)
        return f'{{"fields": {fields}, "records": [\n'.encode()
    return b"[\n"


def _json_tail(plan: ExportPlan) -> bytes:
    return b"]}\n" if plan.records == "lists" else b"]\n"


def _json_array(lines: Iterator[bytes], head: bytes, tail: bytes) -> Iterator[bytes]:
    """Whole lines of JSON values (one a line) into the items of a JSON array."""
    yield head
    pending = None
    for chunk in lines:
        if pending is not None:
            yield pending
        pending = chunk.replace(b"\n", b",\n")
    if pending:
        yield pending[:-2] + b"\n"
    yield tail


def _copy_out(connection: Connection, sql: str, params: dict[str, Any],
              chunk_size: int) -> Iterator[bytes]:
    """Run ``COPY … TO STDOUT`` and yield its data in chunks of whole rows. libpq hands
    out one row per call; this loop calls it directly instead of through psycopg's
    per-row generator machinery."""
    raw = connection.connection.driver_connection
    cursor = raw.cursor()
    with cursor.copy(sql, params or None):
        pgconn = raw.pgconn
        get, consume, socket = pgconn.get_copy_data, pgconn.consume_input, pgconn.socket
        buffer = bytearray()
        while True:
            size, data = get(1)
            if size > 0:
                buffer += data
                if len(buffer) >= chunk_size:
                    yield bytes(buffer)
                    buffer.clear()
            elif size == 0:
                wait_readable([socket], [], [])
                consume()
            else:
                break
        _copy_result(pgconn, socket)
        if buffer:
            yield bytes(buffer)


def _copy_result(pgconn: Any, socket: int) -> None:
    import psycopg
    from psycopg import pq

    results = []
    while True:
        if pgconn.is_busy():
            wait_readable([socket], [], [])
            pgconn.consume_input()
            continue
        result = pgconn.get_result()
        if result is None:
            break
        results.append(result)
    for result in results:
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise psycopg.errors.error_from_result(result)


# --- Python rows (SQLite, and XLSX everywhere) -----------------------------------------

def _python(connection: Connection, plan: ExportPlan, chunk_size: int) -> Iterator[bytes]:
    selection = plan.selection
    expressions = [selection.expression(c).label(c.name) for c in selection.columns]
    statement = _statement(plan, expressions, ordered=True)
    result = connection.execute(statement.execution_options(stream_results=True,
                                                            yield_per=FETCH_ROWS))
    kinds = [column.data_type for column in selection.columns]
    try:
        batches = result.partitions()
        if plan.format == "xlsx":
            typed = ([[_xlsx_value(kind, value) for kind, value in zip(kinds, row, strict=True)]
                      for row in batch] for batch in batches)
            yield from xlsx.workbook(plan.labels, kinds, typed, chunk_size=chunk_size)
        elif plan.format in ("csv", "tsv"):
            yield from _csv(plan, kinds, batches, chunk_size)
        else:
            yield from _json(plan, kinds, batches, chunk_size)
    finally:
        result.close()  # a server-side cursor: close it even when the client went away


def _xlsx_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "T":
        return moment(value)
    if kind in ("N", "Y") and isinstance(value, Decimal):
        return float(value)
    return value


def float_text(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def text_value(kind: str, value: Any) -> str | None:
    """A stored value as CSV text, the same as PostgreSQL's COPY shows it."""
    if value is None:
        return None
    if kind == "I":
        return str(int(value))
    if kind in ("N", "Y"):
        if isinstance(value, Decimal):
            return format(value, "f")
        return f"{value:.2f}" if kind == "Y" else float_text(value)
    if kind == "F":
        return float_text(value)
    if kind in ("D", "T"):
        return json_value(kind, value)
    if kind == "L":
        return "true" if value else "false"
    return str(value)


def _may_hold_formulas(column: Column) -> bool:
    return column.spec is None or column.spec.may_hold_formulas


def _csv_writer(plan: ExportPlan, out: io.StringIO) -> safecsv.CsvWriter:
    return safecsv.CsvWriter(out, delimiter="\t" if plan.format == "tsv" else ",",
                             text=[column.data_type == "C" and _may_hold_formulas(column)
                                   for column in plan.selection.columns])


def _csv_header(plan: ExportPlan) -> bytes:
    """The header row (both paths write it here: labels are text like any other)."""
    out = io.StringIO()
    _csv_writer(plan, out).header(plan.labels)
    return out.getvalue().encode()


def _csv(plan: ExportPlan, kinds: list[str], batches, chunk_size: int) -> Iterator[bytes]:
    text = io.StringIO()
    writer = _csv_writer(plan, text)
    writer.header(plan.labels)
    for batch in batches:
        for row in batch:
            writer.writerow([text_value(kind, value)
                             for kind, value in zip(kinds, row, strict=True)])
        if text.tell() >= chunk_size:
            yield text.getvalue().encode()
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode()


def _json(plan: ExportPlan, kinds: list[str], batches, chunk_size: int) -> Iterator[bytes]:
    names = [column.name for column in plan.selection.columns]
    lists = plan.format == "json" and plan.records == "lists"

    def lines() -> Iterator[bytes]:
        out: list[str] = []
        size = 0
        for batch in batches:
            for row in batch:
                values = [json_value(kind, value) for kind, value in zip(kinds, row, strict=True)]
                record = values if lists else dict(zip(names, values, strict=True))
                line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
                out.append(line)
                size += len(line)
                if size >= chunk_size:
                    yield "".join(out).encode()
                    out, size = [], 0
        if out:
            yield "".join(out).encode()

    if plan.format == "ndjson":
        yield from lines()
    else:
        yield from _json_array(lines(), _json_head(plan), _json_tail(plan))
