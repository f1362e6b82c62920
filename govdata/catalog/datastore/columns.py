"""What a datastore column is (``ColumnSpec``), apart from its SQL table (``tables``).

The loading process (``batches``, ``readers``, ``validate``, ``stats``) needs the specs and
not the tables: this module keeps SQLAlchemy out of it, so that the fork server, which lives
as long as its worker, is smaller and ready sooner (SQLAlchemy was half of its imports:
0.13 of 0.27 s before a worker's first load could start).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

ROW_ID = "_id"
DATA_TYPES = ("C", "N", "Y", "D", "T", "L", "I", "F")
# Field types as CKAN's datastore_search names them.
CKAN_TYPES = {"C": "text", "N": "numeric", "Y": "numeric", "D": "date", "T": "timestamp",
              "L": "bool", "I": "int", "F": "float8"}
TEXT_TYPES = frozenset({"C"})


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
