"""Reading a resource's current data: ``datastore_search`` semantics (CONTRACTS.md §2).

``query_rows`` is the service the exchange and the open portal call; they decide who may
read what and pass the masks that apply. Every field, filter and sort name is checked
against the version's columns (unknown → ``RuleViolation datastore_query_invalid``) and
only then turned into SQL through SQLAlchemy, never pasted into it.

- ``fields``: names (a list or ``"a,b"``); default ``_id`` and every column not dropped.
- ``filters``: ``{name: value}``, a list value means IN, ``None`` means IS NULL; values are
  checked like uploaded cells (``"2024-01-01"`` for a date, ``"是"``/``true`` for a flag).
- ``q``: text; each word must occur (case-insensitive) in some text column; or
  ``{name: text}`` per text column.
- ``sort``: ``"a, b desc"``; ties are broken by ``_id`` so pages are stable.
- ``items``: the data items the caller may see (the exchange passes a grant's); the others
  are absent, as if the version had no such column. ``None``: every item.
- ``masks``: ``None`` is raw data (stewards, grants naming the items); otherwise
  ``{item name: sensitivity}`` (``sensitivities(resource)`` gives the catalog's), and an
  item missing from it keeps the sensitivity recorded with the version. A masked item is
  shown masked and cannot be filtered, sorted or searched (that would reveal it); a
  ``secret`` item is not there at all.

What makes it fast (a version's table never changes after its load):

- the ``Table`` of a version is built once per process, so SQLAlchemy compiles each query
  shape once;
- ``total`` of a filtered or searched query is kept per version and condition
  (``COUNTS``): only the first such query of a version counts its rows;
- on PostgreSQL the page's records come back from the database as one JSON text
  (``QueryResult.records_json``), which a route can pass on without building Python
  objects per row; ``records`` parses it when asked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    Text,
    case,
    cast,
    func,
    inspect,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from govdata.catalog.datastore import masks as masking
from govdata.catalog.datastore.matching import (
    Condition,
    Known,
    LruCache,
    filter_tally,
    search_conditions,
)
from govdata.catalog.datastore.sortindex import SORT_INDEXES
from govdata.catalog.datastore.tables import ROW_ID, ColumnSpec, build_table
from govdata.catalog.datastore.validate import CHINA, Invalid, filter_value, sqlite_datetime
from govdata.catalog.models import DataVersion, Resource
from govdata.platform.errors import NotFound, RuleViolation
from govdata.platform.settings import get_settings

DEFAULT_LIMIT = 100
MAX_LIMIT = 32_000
MAX_EXPORT_ROWS = 1_000_000_000  # an export's limit and offset: far past any table
MAX_IN_VALUES = 1_000
SHORT_RANGE = 1_000
FORMATTED_ROWS = 1_000  # pages from this size are put together by format(), _page_json
SET_ISO_DATES = "SET LOCAL DateStyle = 'ISO'"  # the output style only: the field order stays
INT64_MAX = 2**63 - 1
_UNUSABLE = re.compile("[\x00\ud800-\udfff]")  # neither database takes these as text
Masks = Mapping[str, str]
_SORT_PART = re.compile(r'^\s*"?([^"\s]+)"?(?:\s+(asc|desc))?\s*$', re.IGNORECASE)
ID_FIELD = {"id": ROW_ID, "type": "int"}
CHINA_OFFSET = literal_column("INTERVAL '8 hours'")  # fixed, as validate.CHINA (no LMT in 0001)


class QueryResult:
    """One page of records. ``fields`` as CKAN lists them (``_id`` first when selected),
    each with ``info`` (title, data type, sensitivity, whether masked). The records are
    given as a list (``records``) or as a JSON array ready to send (``records_json``);
    each is made from the other when first asked for."""

    __slots__ = ("fields", "total", "limit", "offset", "version", "total_was_estimated",
                 "_records", "_records_json")

    def __init__(self, fields: list[dict[str, Any]], records: list[Any] | None, total: int | None,
                 limit: int, offset: int, version: int, *, total_was_estimated: bool = False,
                 records_json: bytes | None = None) -> None:
        if records is None and records_json is None:
            raise ValueError("records or records_json")
        self.fields, self.total, self.limit, self.offset = fields, total, limit, offset
        self.version, self.total_was_estimated = version, total_was_estimated
        self._records, self._records_json = records, records_json

    @property
    def records(self) -> list[Any]:
        if self._records is None:
            self._records = orjson.loads(self._records_json)
        return self._records

    @property
    def records_json(self) -> bytes:
        if self._records_json is None:
            self._records_json = orjson.dumps(self._records)
        return self._records_json


def current_version(session: Session, resource: Resource) -> DataVersion:
    """The resource's current version: as loaded with it (``Resource.current_data``), else
    asked for."""
    if "current_data" not in inspect(resource).unloaded:
        version = resource.current_data
    else:
        version = session.scalar(select(DataVersion).where(
            DataVersion.resource_id == resource.id, DataVersion.is_current))
    if version is None:
        raise NotFound(f"信息资源 {resource.code} 还没有加载数据 (no data loaded)",
                       code="data_not_loaded")
    return version


def sensitivities(resource: Resource) -> dict[str, str]:
    """The catalog's sensitivity of each data item: the masks of every public path."""
    return {item.name: item.sensitivity or "none" for item in resource.items}


# --- the selection shared by queries and exports ---------------------------------------

@dataclass
class Column:
    """A selected output column: ``spec`` is ``None`` for ``_id``; ``sensitivity`` is the
    mask applied (``none`` for raw)."""

    name: str
    spec: ColumnSpec | None
    sensitivity: str = "none"

    @property
    def masked(self) -> bool:
        return masking.is_masked(self.sensitivity)

    @property
    def data_type(self) -> str:
        return "I" if self.spec is None else ("C" if self.masked else self.spec.data_type)

    def field(self) -> dict[str, Any]:
        if self.spec is None:
            return dict(ID_FIELD)
        return {"id": self.name, "type": "text" if self.masked else self.spec.ckan_type,
                "info": {"label": self.spec.title, "data_type": self.spec.data_type,
                         "sensitivity": self.spec.sensitivity, "masked": self.masked}}


@dataclass
class Selection:
    version: DataVersion
    table: Table
    dialect: str
    columns: list[Column]
    where: list[ColumnElement] = field(default_factory=list)
    tallies: list[int | None] = field(default_factory=list)  # rows each condition keeps
    order_by: list[ColumnElement] = field(default_factory=list)
    sorted: bool = False  # an explicit sort other than ``_id`` ascending was asked for
    distinct: bool = False  # only distinct rows (CKAN's ``distinct``)
    sorted_by: list[str] = field(default_factory=list)  # the stored columns ``sort`` names
    condition: Hashable = None  # what ``where`` was built from: the key of its row count
    ordering: list[tuple[str, bool]] = field(default_factory=list)  # (name, descending)

    def stored(self, column: Column) -> ColumnElement:
        """The column as stored."""
        return self.table.c[ROW_ID if column.spec is None else column.spec.column]

    def shown(self, column: Column, value: ColumnElement) -> ColumnElement:
        """``value`` (the column, as stored) as the caller may see it."""
        if column.masked:
            return masking.sql_mask(column.sensitivity, value, self.dialect)
        return value

    def expression(self, column: Column) -> ColumnElement:
        return self.shown(column, self.stored(column))

    def fields(self) -> list[dict[str, Any]]:
        return [column.field() for column in self.columns]

    def add(self, condition: Condition) -> None:
        self.where.append(condition.clause)
        self.tallies.append(condition.tally)

    def known_total(self) -> int | None:
        """The rows the conditions keep, when the statistics tell it without a scan."""
        if any(tally == 0 for tally in self.tallies):
            return 0
        return self.tallies[0] if len(self.tallies) == 1 else None

    def page(self, statement: Select, *, limit: int | None, offset: int,
             ordered: bool = True) -> Select:
        """Add the filters, the order and the page. Unfiltered pages in ``_id`` order are
        ``_id`` ranges (``_id`` is 1…n without gaps): no rows are skipped one by one."""
        row_id = self.table.c[ROW_ID]
        statement = statement.where(*self.where)
        if self.distinct:
            statement = statement.distinct()
        if not self.where and not self.sorted:
            if offset:
                statement = statement.where(row_id > offset)
            if limit is not None:
                statement = statement.where(row_id <= offset + limit)
            return statement.order_by(row_id) if ordered else statement
        if ordered or self.sorted:
            statement = statement.order_by(*self.order_by)
        if limit is not None:
            statement = statement.limit(limit)
        return statement.offset(offset) if offset else statement


def version_shape(version: DataVersion, dialect: str) -> tuple[tuple[ColumnSpec, ...], Table]:
    """A version's column specs and ``Table``, built once per process (a version's columns
    never change): the same ``Table`` object lets SQLAlchemy reuse the compiled form of each
    query shape."""
    key = (version.table_name, version.loaded_at, dialect)
    shape = _SHAPES.get(key)
    if shape is None:
        specs = tuple(ColumnSpec.from_dict(column) for column in version.columns)
        shape = specs, build_table(version.table_name, specs, dialect)
        _SHAPES.put(key, shape)
    return shape


def select_columns(version: DataVersion, dialect: str, *, fields: Any = None,
                   filters: Mapping[str, Any] | None = None, q: Any = None, sort: Any = None,
                   masks: Masks | None = None, items: Collection[str] | None = None,
                   known: Known | None = None, plain: bool = True,
                   distinct: bool = False) -> Selection:
    """Check the request against the version's columns and build the selection
    (``known``: the version's statistics, to search fewer columns and count fewer rows;
    ``plain`` false: ``q`` in ``to_tsquery``'s syntax; ``distinct``: distinct rows only)."""
    problems = unusable_text(fields=fields, filters=filters, q=q, sort=sort)
    if problems:
        raise RuleViolation("查询参数无效 (invalid query)", code="datastore_query_invalid",
                            errors=problems)
    specs, table = version_shape(version, dialect)
    specs = tuple(spec for spec in specs if items is None or spec.name in items)
    applied = {spec.name: _sensitivity(spec, masks) for spec in specs}
    available = {spec.name: spec for spec in specs if not masking.is_dropped(applied[spec.name])}

    names = _names(fields, "fields", problems)
    if names is None:
        names = [ROW_ID, *available]
    columns: list[Column] = []
    for name in names:
        if name == ROW_ID:
            columns.append(Column(ROW_ID, None))
        elif name in available:
            columns.append(Column(name, available[name], applied[name] if masks is not None
                                  else "none"))
        else:
            problems.append({"loc": ["fields", name], "msg": f"没有字段 {name} (unknown field)"})
    selection = Selection(version, table, dialect, columns)

    def usable(name: str, part: str) -> ColumnSpec | None | bool:
        """The column a filter/sort/q names: its spec, ``None`` for _id, ``False`` if bad."""
        if name == ROW_ID:
            return None
        spec = available.get(name)
        if spec is None:
            problems.append({"loc": [part, name], "msg": f"没有字段 {name} (unknown field)"})
            return False
        if masks is not None and masking.is_masked(applied[name]):
            problems.append({"loc": [part, name],
                             "msg": f"字段 {name} 已脱敏, 不能用于过滤、排序或检索 (masked field)"})
            return False
        return spec

    if filters is not None and not isinstance(filters, Mapping):
        problems.append({"loc": ["filters"], "msg": "应为 {字段: 值} (expected an object)"})
        filters = None
    for name, value in (filters or {}).items():
        spec = usable(str(name), "filters")
        if spec is not False:
            condition = _filter(table, spec, value, dialect, problems, known)
            if condition is not None:
                selection.add(condition)
    searchable = [spec for spec in available.values() if spec.data_type == "C"
                  and not (masks is not None and masking.is_masked(applied[spec.name]))]
    for condition in search_conditions(table, q, searchable, usable, problems, dialect, known,
                                       plain=plain):
        selection.add(condition)
    if selection.where:
        selection.condition = _canonical({"filters": filters, "q": q, "plain": plain,
                                          "searchable": [s.column for s in searchable]})
    for name, descending in _sort(sort, problems):
        spec = usable(name, "sort")
        if spec is False:
            continue
        column = table.c[ROW_ID if spec is None else spec.column]
        selection.sorted_by.append(column.name)
        selection.ordering.append((name, descending))
        selection.order_by.append(column.desc().nulls_first() if descending
                                  else column.asc().nulls_last())
        if spec is not None or descending:
            selection.sorted = True
    if distinct:
        _make_distinct(selection, problems)
    if problems:
        raise RuleViolation("查询参数无效 (invalid query)", code="datastore_query_invalid",
                            errors=problems)
    if not distinct and not any(_is_row_id(clause) for clause in selection.order_by):
        selection.order_by.append(table.c[ROW_ID].asc())
    return selection


def _make_distinct(selection: Selection, problems: list) -> None:
    """Distinct rows of the selected columns, sorted by the sort asked for and then by
    every selected column (a distinct query can only sort by what it selects). Masked
    columns cannot take part: distinct masked values would tell how many values hide
    behind them."""
    for column in selection.columns:
        if column.masked:
            problems.append({"loc": ["distinct"], "msg": f"字段 {column.name} 已脱敏, 不能用于 "
                             "distinct (masked field)"})
    selected = [selection.stored(column) for column in selection.columns]
    if not set(selection.sorted_by) <= {column.name for column in selected}:
        problems.append({"loc": ["sort"], "msg": "distinct 时只能按所选字段排序 "
                         "(with distinct, sort only by selected fields)"})
    selection.order_by += [column.asc().nulls_last() for column in selected
                           if column.name not in selection.sorted_by]
    selection.distinct = selection.sorted = True
    selection.condition = _canonical({"of": selection.condition,
                                      "distinct": [c.name for c in selection.columns]})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


def unusable_text(**parameters: Any) -> list[dict[str, Any]]:
    """Problems for text that no query can use: a NUL character or a lone surrogate. The
    databases would fail on them (PostgreSQL refuses NUL in text, a surrogate cannot be
    encoded), mid-export; the problem does not repeat the text (it could not be shown)."""
    problems = []
    for name, value in parameters.items():
        texts = [value] if isinstance(value, str) else []
        if isinstance(value, Mapping):
            texts = [*map(str, value), *_strings(value.values())]
        elif isinstance(value, list | tuple):
            texts = list(_strings(value))
        if any(_UNUSABLE.search(text) for text in texts):
            problems.append({"loc": [name], "msg": "含有空字符 (NUL) 或无效的 Unicode 代理字符 "
                             "(contains a NUL character or a lone surrogate)"})
    return problems


def _strings(values: Any) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, list | tuple):
            yield from (item for item in value if isinstance(item, str))


def _is_row_id(clause: ColumnElement) -> bool:
    element = clause
    while hasattr(element, "element"):
        element = element.element
    return getattr(element, "name", None) == ROW_ID


def _sensitivity(spec: ColumnSpec, masks: Masks | None) -> str:
    if masks is None:
        return "none"
    return masks.get(spec.name) or spec.sensitivity or "none"


def _names(value: Any, part: str, problems: list) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        parts = [piece.strip() for piece in value.split(",") if piece.strip()]
    elif isinstance(value, Sequence):
        parts = [str(piece).strip() for piece in value]
    else:
        problems.append({"loc": [part], "msg": "应为字段名列表 (expected a list of names)"})
        return []
    if not parts:
        problems.append({"loc": [part], "msg": "没有列出任何字段: 省略此参数即为全部字段 "
                         "(no field named; leave it out for all fields)"})
    return [piece.strip('"') for piece in parts]


def _db_value(spec: ColumnSpec | None, value: Any, dialect: str) -> Any:
    if spec is None:
        return value
    sqlite = dialect == "sqlite"
    kind = spec.data_type
    if kind in ("N", "Y"):
        return float(value) if sqlite else Decimal(value)
    if kind == "D" and sqlite:
        return value.isoformat()
    if kind == "T" and sqlite:
        return sqlite_datetime(value)
    return value


def _filter(table: Table, spec: ColumnSpec | None, value: Any, dialect: str,
            problems: list, known: Known | None) -> Condition | None:
    name = ROW_ID if spec is None else spec.name
    column = table.c[ROW_ID if spec is None else spec.column]
    values = list(value) if isinstance(value, list | tuple) else [value]
    if len(values) > MAX_IN_VALUES:
        problems.append({"loc": ["filters", name],
                         "msg": f"至多 {MAX_IN_VALUES} 个值 (too many values)"})
        return None
    converted: list[Any] = []
    want_null = False
    for raw in values:
        if raw is None:
            want_null = True
            continue
        try:
            if spec is None:
                row_id = int(str(raw))
                if not 0 <= row_id <= INT64_MAX:
                    raise ValueError("超出 _id 的范围 (out of range)")
                converted.append(row_id)
            else:
                converted.append(_db_value(spec, filter_value(spec, raw), dialect))
        except (Invalid, ValueError) as exc:
            problems.append({"loc": ["filters", name], "msg": f"{raw!r}: {exc}"})
            return None
    conditions: list[ColumnElement] = []
    if converted:
        conditions.append(column == converted[0] if len(converted) == 1
                          else column.in_(converted))
    if want_null:
        conditions.append(column.is_(None))
    if not conditions:
        return Condition(column.in_([]), 0)
    tally = None if known is None else filter_tally(spec, converted, want_null, known,
                                                    known.version.row_count)
    return Condition(conditions[0] if len(conditions) == 1 else or_(*conditions), tally)


def _sort(value: Any, problems: list) -> list[tuple[str, bool]]:
    if value is None or value == "":
        return []
    parts = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for part in parts:
        match = _SORT_PART.match(str(part))
        if not match:
            problems.append({"loc": ["sort"], "msg": f"无法识别的排序 {part!r} (bad sort)"})
            continue
        out.append((match[1], (match[2] or "asc").lower() == "desc"))
    return out


def in_storage_order(connection: Connection, *, iso: bool = True) -> None:
    """Let PostgreSQL scans return rows in storage order, which for these write-once tables
    is ``_id`` order: no scan joining another one midway, no parallel workers. A page in
    ``_id`` order then needs no sort: an ``_id`` range comes in order from the BRIN index's
    bitmap scan, and a filtered page stops at its last match instead of sorting every
    match (there is no btree on ``_id``, see ``tables.build_table``). For the rest of the
    transaction (``SET LOCAL``): neither setting changes any result. ``iso`` False: also
    dates written as ISO text (``SET_ISO_DATES``), which formatted pages need."""
    connection.exec_driver_sql("SET LOCAL synchronize_seqscans = off; "
                               "SET LOCAL max_parallel_workers_per_gather = 0"
                               + ("" if iso else "; " + SET_ISO_DATES))


# --- values ----------------------------------------------------------------------------

def json_value(data_type: str, value: Any) -> Any:
    """A stored value as JSON shows it."""
    if value is None:
        return None
    if data_type == "I":
        return int(value)
    if data_type in ("N", "Y", "F"):
        return float(value)
    if data_type == "D":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if data_type == "T":
        return moment(value).isoformat()
    if data_type == "L":
        return bool(value)
    return value


def moment(value: Any) -> dt.datetime:
    """A stored datetime in China Standard Time (SQLite keeps it as naive text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=CHINA)
    return value.astimezone(CHINA)


def query_rows(
    session: Session,
    resource: Resource,
    *,
    fields: Any = None,
    filters: Mapping[str, Any] | None = None,
    q: Any = None,
    sort: Any = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    include_total: bool = True,
    masks: Masks | None = None,
    records_format: str = "objects",
    items: Collection[str] | None = None,
    plain: bool = True,
    distinct: bool = False,
) -> QueryResult:
    """One page of the resource's current data (no permission check: the caller's)."""
    if not 0 <= limit <= MAX_LIMIT or offset < 0:
        raise RuleViolation(f"limit 应在 0–{MAX_LIMIT} 之间, offset 不能为负 (bad paging)",
                            code="datastore_query_invalid",
                            errors=[{"loc": ["limit"], "msg": "0 ≤ limit ≤ 32000, offset ≥ 0"}])
    if records_format not in ("objects", "lists"):
        raise RuleViolation("records_format 只能是 objects 或 lists",
                            code="datastore_query_invalid",
                            errors=[{"loc": ["records_format"], "msg": "objects|lists"}])
    version = current_version(session, resource)
    connection = session.connection()
    dialect = connection.dialect.name
    selection = select_columns(version, dialect, fields=fields, filters=filters, q=q,
                               sort=sort, masks=masks, items=items,
                               known=Known(connection, version), plain=plain,
                               distinct=distinct)
    masking.register_sqlite_functions(connection)
    if dialect == "postgresql":
        _want_sort_indexes(connection, version, selection)
        records_json = _postgres_page(connection, selection, limit=limit, offset=offset,
                                      lists=records_format == "lists")
        records = None
    else:
        records_json = None
        records = _python_page(connection, selection, limit=limit, offset=offset,
                               lists=records_format == "lists")
    total = count_rows(connection, selection) if include_total else None
    return QueryResult(selection.fields(), records, total, limit, offset, version.version,
                       records_json=records_json)


def _want_sort_indexes(connection: Connection, version: DataVersion,
                       selection: Selection) -> None:
    """A large version sorted by columns: indexes for them, built beside (``sortindex``)."""
    least = get_settings().datastore_sort_index_min_rows
    if selection.sorted_by and least and version.row_count >= least:
        SORT_INDEXES.want(connection.engine, version.table_name, selection.sorted_by)


def _page_statement(selection: Selection, expressions: list[ColumnElement], *, limit: int,
                    offset: int, ordered: bool) -> Select:
    return selection.page(select(*expressions).select_from(selection.table), limit=limit,
                          offset=offset, ordered=ordered)




def _python_page(connection: Connection, selection: Selection, *, limit: int, offset: int,
                 lists: bool) -> list[Any]:
    if not limit:
        return []
    expressions = [selection.expression(c).label(c.name) for c in selection.columns]
    rows = connection.execute(_page_statement(selection, expressions, limit=limit,
                                              offset=offset, ordered=True)).all()
    types = [column.data_type for column in selection.columns]
    names = [column.name for column in selection.columns]
    records: list[Any] = []
    for row in rows:
        values = [json_value(kind, value) for kind, value in zip(types, row, strict=True)]
        records.append(values if lists else dict(zip(names, values, strict=True)))
    return records


def local_time_text(value: ColumnElement) -> ColumnElement:
    """A stored datetime as ISO 8601 text in China Standard Time, as ``json_value`` shows
    it: ``2024-05-01T08:30:00+08:00`` (microseconds only when there are some)."""
    local = func.to_char(func.timezone(CHINA_OFFSET, value),
                         literal('YYYY-MM-DD"T"HH24:MI:SS.US'), type_=Text())
    return func.replace(local, literal(".000000"), literal(""), type_=Text()) + literal("+08:00")


def _local_time_cast(value: ColumnElement, *, whole_seconds: bool = False) -> ColumnElement:
    """``local_time_text``, but for a whole second from the year 1 on (nearly every value)
    the text PostgreSQL writes for the local time (``DateStyle`` ISO), ``T`` and
    ``+08:00`` added: half the cost of ``to_char``. Infinities and years before 1
    (``to_char``: null, or no ``BC``) keep ``local_time_text``. ``whole_seconds``: the
    load found every value a whole second (``ColumnSpec``), so that is not tested."""
    local = func.timezone(CHINA_OFFSET, value)
    whole = func.replace(cast(local, Text), literal(" "), literal("T"), type_=Text())
    usual = ((local >= literal_column("TIMESTAMP '0001-01-01'"))
             & (value < literal_column("TIMESTAMPTZ 'infinity'")))
    if not whole_seconds:
        usual = (value == func.date_trunc(literal("second"), value)) & usual
    return case((usual, whole + literal("+08:00")), else_=local_time_text(value))


def _postgres_page(connection: Connection, selection: Selection, *, limit: int, offset: int,
                   lists: bool) -> bytes:
    """The page as one JSON array made by PostgreSQL (``json_value``'s values: numbers as
    numbers, dates ISO, datetimes in China Standard Time). Its statement is kept per
    version and request (``PAGES``): building it costs more than running it."""
    if not limit:
        return b"[]"
    # A short _id range is cheaper to sort than to ask for the storage-order settings.
    storage_order = not selection.sorted and (bool(selection.where) or limit > SHORT_RANGE)
    formatted = limit >= FORMATTED_ROWS
    key = (selection.version.table_name, selection.version.loaded_at,
           tuple((column.name, column.sensitivity) for column in selection.columns),
           selection.condition, tuple(selection.ordering), selection.distinct, limit, offset,
           lists)
    statement = PAGES.get(key)
    if statement is None:
        statement = _page_json(selection, limit=limit, offset=offset, lists=lists,
                               ordered=not storage_order, formatted=formatted)
        PAGES.put(key, statement)
    iso = not formatted or _dates_in_iso(connection)
    if storage_order:
        in_storage_order(connection, iso=iso)
    elif not iso:
        connection.exec_driver_sql(SET_ISO_DATES)
    return connection.execute(statement).scalar_one().encode()


def _dates_in_iso(connection: Connection) -> bool:
    """Whether the session writes dates and datetimes as ISO text (PostgreSQL's default
    ``DateStyle``), known without a round trip: the server reports every change of it."""
    style = connection.connection.driver_connection.info.parameter_status("DateStyle")
    return bool(style) and style.upper().startswith("ISO")


def _page_json(selection: Selection, *, limit: int, offset: int, lists: bool,
               ordered: bool, formatted: bool = False) -> Select:
    """Masks and formats apply to the page's rows only, outside the subquery that filters,
    sorts and limits: in its select list they would be computed for every row the sort
    reads. ``formatted``: each row put together by ``format`` from its values' own text
    (the JSON exports' ``_json_row``), the same bytes as ``row_to_json`` / ``to_json``,
    which look up the type of every value of every row again: a 32,000-row page costs
    the database a quarter to a third less. It needs dates written as ISO text
    (``DateStyle``)."""
    stored = [selection.stored(column).label(column.name) for column in selection.columns]
    page = _page_statement(selection, stored, limit=limit, offset=offset,
                           ordered=ordered).subquery("p")
    shown = []
    for column in selection.columns:
        value = selection.shown(column, page.c[column.name])
        if column.data_type == "T" and formatted:
            value = _local_time_cast(value, whole_seconds=column.spec.whole_seconds is True)
        elif column.data_type == "T":
            value = local_time_text(value)
        shown.append(value.label(column.name))
    rows = select(*shown).select_from(page).subquery("r")
    if formatted:
        from govdata.catalog.datastore.export import _json_row  # export imports this module

        row = _json_row(selection.columns, rows, lists=lists)
    elif lists:
        row = cast(func.array_to_json(pg_array([func.to_json(c) for c in rows.c])), Text)
    else:
        row = cast(func.row_to_json(rows.table_valued()), Text)
    # Rows joined as text: a tenth to a quarter cheaper than json_agg on 32,000-row pages.
    joined = func.string_agg(row, literal(","), type_=Text())
    records = literal("[") + func.coalesce(joined, literal("")) + literal("]")
    return select(records).select_from(rows)


def count_rows(connection: Connection, selection: Selection) -> int:
    """How many rows the selection's conditions keep (kept per version and condition)."""
    version = selection.version
    if not selection.where and not selection.distinct:
        return version.row_count
    known = None if selection.distinct else selection.known_total()
    if known is not None:
        return known
    key = (version.table_name, version.loaded_at, selection.condition)
    total = COUNTS.get(key)
    if total is None:
        statement = select(func.count()).select_from(selection.table).where(*selection.where)
        if selection.distinct:
            rows = select(*[selection.stored(c) for c in selection.columns]).distinct()
            statement = select(func.count()).select_from(rows.where(*selection.where)
                                                         .subquery())
        total = connection.execute(statement).scalar_one()
        COUNTS.put(key, total)
    return total


COUNTS = LruCache(4096)
PAGES = LruCache(1024)
_SHAPES = LruCache(256)
