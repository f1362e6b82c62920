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
- ``masks``: ``None`` is raw data (stewards, grants naming the items); otherwise
  ``{item name: sensitivity}`` (``sensitivities(resource)`` gives the catalog's), and an
  item missing from it keeps the sensitivity recorded with the version. A masked item is
  shown masked and cannot be filtered, sorted or searched (that would reveal it); a
  ``secret`` item is not there at all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from govdata.catalog.datastore import masks as masking
from govdata.catalog.datastore.tables import ROW_ID, ColumnSpec, specs_of, version_table
from govdata.catalog.datastore.validate import CHINA, Invalid, filter_value, sqlite_datetime
from govdata.catalog.models import DataVersion, Resource
from govdata.platform.errors import NotFound, RuleViolation

DEFAULT_LIMIT = 100
MAX_LIMIT = 32_000
MAX_IN_VALUES = 1_000
Masks = Mapping[str, str]
_SORT_PART = re.compile(r'^\s*"?([^"\s]+)"?(?:\s+(asc|desc))?\s*$', re.IGNORECASE)
ID_FIELD = {"id": ROW_ID, "type": "int"}


@dataclass(frozen=True)
class QueryResult:
    """One page of records. ``fields`` as CKAN lists them (``_id`` first when selected),
    each with ``info`` (title, data type, sensitivity, whether masked)."""

    fields: list[dict[str, Any]]
    records: list[Any]
    total: int | None
    limit: int
    offset: int
    version: int
    total_was_estimated: bool = False


def current_version(session: Session, resource: Resource) -> DataVersion:
    version = session.scalar(select(DataVersion).where(DataVersion.resource_id == resource.id,
                                                       DataVersion.is_current))
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
    order_by: list[ColumnElement] = field(default_factory=list)
    sorted: bool = False  # an explicit sort other than ``_id`` ascending was asked for

    def expression(self, column: Column) -> ColumnElement:
        if column.spec is None:
            return self.table.c[ROW_ID]
        value = self.table.c[column.spec.column]
        if column.masked:
            return masking.sql_mask(column.sensitivity, value, self.dialect)
        return value

    def fields(self) -> list[dict[str, Any]]:
        return [column.field() for column in self.columns]

    def page(self, statement: Select, *, limit: int | None, offset: int,
             ordered: bool = True) -> Select:
        """Add the filters, the order and the page. Unfiltered pages in ``_id`` order are
        ``_id`` ranges (``_id`` is 1…n without gaps): no rows are skipped one by one."""
        row_id = self.table.c[ROW_ID]
        statement = statement.where(*self.where)
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


def select_columns(version: DataVersion, dialect: str, *, fields: Any = None,
                   filters: Mapping[str, Any] | None = None, q: Any = None, sort: Any = None,
                   masks: Masks | None = None) -> Selection:
    """Check the request against the version's columns and build the selection."""
    specs = specs_of(version)
    problems: list[dict[str, Any]] = []
    applied = {spec.name: _sensitivity(spec, masks) for spec in specs}
    available = {spec.name: spec for spec in specs if not masking.is_dropped(applied[spec.name])}
    table = version_table(version, dialect)

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
            condition = _filter(table, spec, value, dialect, problems)
            if condition is not None:
                selection.where.append(condition)
    searchable = [table.c[spec.column] for spec in available.values()
                  if spec.data_type == "C"
                  and not (masks is not None and masking.is_masked(applied[spec.name]))]
    selection.where += _search(table, q, searchable, usable, problems, dialect)
    for name, descending in _sort(sort, problems):
        spec = usable(name, "sort")
        if spec is False:
            continue
        column = table.c[ROW_ID if spec is None else spec.column]
        selection.order_by.append(column.desc().nulls_first() if descending
                                  else column.asc().nulls_last())
        if spec is not None or descending:
            selection.sorted = True
    if problems:
        raise RuleViolation("查询参数无效 (invalid query)", code="datastore_query_invalid",
                            errors=problems)
    if not any(_is_row_id(clause) for clause in selection.order_by):
        selection.order_by.append(table.c[ROW_ID].asc())
    return selection


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
            problems: list) -> ColumnElement | None:
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
                converted.append(int(str(raw)))
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
        return column.in_([])
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def contains(column: ColumnElement, word: str, dialect: str) -> ColumnElement:
    """Case-insensitive substring match. A word without cased letters (Chinese, digits)
    needs no case folding, and plain LIKE is much cheaper than ILIKE on PostgreSQL; SQLite's
    LIKE already ignores ASCII case (and folds nothing else, as its lower() does not)."""
    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if dialect == "postgresql" and word.lower() != word.upper():
        return column.ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")


def _search(table: Table, q: Any, searchable: Sequence[ColumnElement], usable,
            problems: list, dialect: str) -> list[ColumnElement]:
    if q is None or q == "":
        return []
    if isinstance(q, Mapping):
        conditions = []
        for name, term in q.items():
            spec = usable(str(name), "q")
            if spec is False:
                continue
            if spec is None or spec.data_type != "C":
                problems.append({"loc": ["q", str(name)],
                                 "msg": f"字段 {name} 不是文本 (not a text field)"})
                continue
            for word in str(term).split():
                conditions.append(contains(table.c[spec.column], word, dialect))
        return conditions
    if not isinstance(q, str):
        problems.append({"loc": ["q"], "msg": "应为文本或 {字段: 文本} (expected text)"})
        return []
    words = q.split()
    if not searchable:
        return [table.c[ROW_ID].in_([])] if words else []
    return [or_(*[contains(column, word, dialect) for column in searchable])
            for word in words]


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


STORAGE_ORDER_SETTINGS = ("synchronize_seqscans", "max_parallel_workers_per_gather")


@contextmanager
def storage_order(connection: Connection) -> Iterator[None]:
    """Let a PostgreSQL scan return rows in storage order, which for these write-once tables
    is ``_id`` order: no scan joining another one midway, no parallel workers. A filtered
    page in ``_id`` order then stops at its last row instead of sorting every match (there
    is no btree on ``_id``, see ``tables.build_table``)."""
    connection.exec_driver_sql("SET LOCAL synchronize_seqscans = off")
    connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    yield  # after an error the transaction is lost anyway, and its settings with it
    for name in STORAGE_ORDER_SETTINGS:
        connection.exec_driver_sql(f"SET LOCAL {name} TO DEFAULT")


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
                               sort=sort, masks=masks)
    masking.register_sqlite_functions(connection)
    in_storage_order = dialect == "postgresql" and bool(selection.where) and not selection.sorted
    statement = selection.page(
        select(*[selection.expression(c).label(c.name) for c in selection.columns])
        .select_from(selection.table), limit=limit, offset=offset,
        ordered=not in_storage_order)
    rows: Sequence[Any] = []
    if limit and in_storage_order:
        with storage_order(connection):
            rows = connection.execute(statement).all()
    elif limit:
        rows = connection.execute(statement).all()
    types = [column.data_type for column in selection.columns]
    names = [column.name for column in selection.columns]
    records: list[Any] = []
    for row in rows:
        values = [json_value(kind, value) for kind, value in zip(types, row, strict=True)]
        records.append(dict(zip(names, values, strict=True)) if records_format == "objects"
                       else values)
    total = None
    if include_total:
        if selection.where:
            total = connection.execute(select(func.count()).select_from(selection.table)
                                       .where(*selection.where)).scalar_one()
        else:
            total = version.row_count
    return QueryResult(selection.fields(), records, total, limit, offset, version.version)
