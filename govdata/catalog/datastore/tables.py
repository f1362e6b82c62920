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
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # the models are not imported by the loading process (``batches``)
    from govdata.catalog.models import DataItem, DataVersion

ROW_ID = "_id"
TABLE_PREFIX = "ds_"
DATA_TYPES = ("C", "N", "Y", "D", "T", "L", "I", "F")
# Field types as CKAN's datastore_search names them.
CKAN_TYPES = {"C": "text", "N": "numeric", "Y": "numeric", "D": "date", "T": "timestamp",
              "L": "bool", "I": "int", "F": "float8"}
TEXT_TYPES = frozenset({"C"})
_SQL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
CURRENCY_PRECISION, CURRENCY_SCALE = 20, 2
BRIN_PAGES = 16


@dataclass(frozen=True)
class ColumnSpec:
    """A data item as the datastore stores it: its name, title, SQL column and checks."""

    name: str
    title: str
    column: str
    data_type: str
    length: int | None = None
    required: bool = False
    sensitivity: str = "none"
    # Whether some value of a loaded version's text column begins like a spreadsheet
    # formula (``safecsv``): CSV exports neutralise only such columns. ``None``: not known
    # (item specs, versions loaded before it was recorded), so they are neutralised.
    formulas: bool | None = None
    # Whether some value of a loaded version's text column holds a character JSON writes
    # escaped (``"``, ``\`` or a control character): JSON exports on PostgreSQL quote the
    # text of the others as it is. ``None``: not known, escaped like any text.
    escapes: bool | None = None
    # Whether every value of a loaded version's datetime column is a whole second: exports
    # on PostgreSQL write the server's own text for them without testing each value first.
    # ``None``: not known (item specs, versions loaded before it was recorded), tested.
    whole_seconds: bool | None = None

    @property
    def may_hold_formulas(self) -> bool:
        return self.data_type != "C" or self.formulas is not False

    @property
    def ckan_type(self) -> str:
        return CKAN_TYPES[self.data_type]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSpec:
        return cls(**{key: data.get(key) for key in
                      ("name", "title", "column", "data_type", "length", "required",
                       "sensitivity", "formulas", "escapes", "whole_seconds")})


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
