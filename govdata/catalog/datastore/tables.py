"""One typed table per resource version (the datastore, like CKAN's DataStore).

A load of resource data creates ``ds_<first 16 hex digits of the resource id>_v<version>``
with an ``_id`` row number (1…n in file order) and one column per data item,
typed from the item's data type. The columns are recorded on the ``DataVersion`` row, so a
version keeps its shape even if the catalog entry changes after the load.

Tables live outside ``Base.metadata`` (``govdata.metadata`` leaves ``ds_*`` out of the
models-vs-migrations check): each is built on its own ``MetaData`` from those columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from govdata.catalog.datastore.columns import DATA_TYPES, ROW_ID, ColumnSpec

if TYPE_CHECKING:  # for type hints only
    from govdata.catalog.models import DataItem, DataVersion

TABLE_PREFIX = "ds_"
_SQL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
CURRENCY_PRECISION, CURRENCY_SCALE = 20, 2
BRIN_PAGES = 16


def specs_for_items(items: Iterable[DataItem]) -> list[ColumnSpec]:
    """Column specs for a resource's data items, in their catalog order."""
    specs: list[ColumnSpec] = []
    used: set[str] = {ROW_ID}
    for position, item in enumerate(sorted(items, key=lambda i: i.position)):
        column = item.name if _SQL_NAME.match(item.name) else f"c{position + 1}"
        while column in used:
            column = f"{column}_"
        used.add(column)
        data_type = item.data_type if item.data_type in DATA_TYPES else "C"
        specs.append(ColumnSpec(name=item.name, title=item.title or item.name, column=column,
                                data_type=data_type, length=item.length,
                                required=bool(item.required),
                                sensitivity=item.sensitivity or "none"))
    return specs


def specs_of(version: DataVersion) -> list[ColumnSpec]:
    return [ColumnSpec.from_dict(column) for column in version.columns]


def table_name(resource_id: str, version: int) -> str:
    return f"{TABLE_PREFIX}{resource_id.replace('-', '')[:16].lower()}_v{version}"


def sql_type(spec: ColumnSpec, dialect: str) -> TypeEngine:
    """The SQL type of a column. SQLite has no decimal type: numbers are REAL there, and
    dates and datetimes are ISO text (datetimes in China Standard Time, without offset)."""
    sqlite = dialect == "sqlite"
    kind = spec.data_type
    if kind == "I":
        return BigInteger()
    if kind == "N":
        return Double() if sqlite else Numeric()
    if kind == "Y":
        return Double() if sqlite else Numeric(CURRENCY_PRECISION, CURRENCY_SCALE)
    if kind == "F":
        return Double()
    if kind == "D":
        return String(10) if sqlite else Date()
    if kind == "T":
        return String(26) if sqlite else DateTime(timezone=True)
    if kind == "L":
        return Boolean(create_constraint=False)
    return String(spec.length) if spec.length else Text()


def build_table(name: str, specs: Sequence[ColumnSpec], dialect: str) -> Table:
    """The table object for a version (on a private MetaData: never part of migrations).

    ``_id`` numbers the rows 1…n without gaps, in storage order, and tables are never
    changed after their load, so a page in ``_id`` order is an ``_id`` range. On SQLite
    ``_id`` is the rowid; on PostgreSQL it carries a BRIN index built after the load
    (``index_statements``): a btree kept up during ``COPY`` would cost more than a third of
    the load, and the BRIN index finds any ``_id`` range in a few pages (``BRIN_PAGES``
    pages a range: a page of 100 rows reads 16 pages and skips about 900 rows; with the
    default 128 it read 128 pages and skipped 8,000)."""
    if dialect == "sqlite":
        id_column = Column(ROW_ID, Integer(), primary_key=True, autoincrement=False)
    else:
        id_column = Column(ROW_ID, BigInteger(), nullable=False)
    columns = [id_column]
    columns += [Column(spec.column, sql_type(spec, dialect), nullable=not spec.required)
                for spec in specs]
    return Table(name, MetaData(), *columns)


def index_statements(name: str, dialect: str, quote) -> list[str]:
    """What to run after a table's rows are in: its ``_id`` index, and quick statistics
    (a small sample, so the planner knows the table's size and ``_id`` range at once;
    autovacuum refines them later)."""
    if dialect != "postgresql":
        return []
    return [f"CREATE INDEX {quote(f'{name}__id')} ON {quote(name)} USING brin ({ROW_ID}) "
            f"WITH (pages_per_range = {BRIN_PAGES})",
            "SET LOCAL default_statistics_target = 10",
            f"ANALYZE {quote(name)}",
            "SET LOCAL default_statistics_target TO DEFAULT"]


def version_table(version: DataVersion, dialect: str) -> Table:
    return build_table(version.table_name, specs_of(version), dialect)
