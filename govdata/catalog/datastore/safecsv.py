"""CSV and TSV that spreadsheets open as data: the rule every CSV/TSV writer goes through
(data exports on both paths, the catalog export, and the exchange's and portal's downloads,
which reuse the datastore export).

- **Formulas** (OWASP, "CSV Injection"): a text cell that begins with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return is written with a leading ``'``, so Excel, WPS and
  LibreOffice show it as text instead of evaluating it. Text cells only: numbers stay
  numbers (``-3.5``), and dates, datetimes and flags never begin with these characters.
  Header cells are text (item titles are typed by people).
- **Line breaks**: every cell holding ``\\r`` or ``\\n`` is quoted. Python's ``csv`` quotes
  only the characters of its own line terminator, so with ``\\n`` rows a bare ``\\r`` would
  be written unquoted and a reader would split the row there.

``neutralise`` is the rule for one value, ``sql_neutralised`` the same rule in SQL (the
PostgreSQL ``COPY`` path; PostgreSQL's CSV output already quotes ``\\r`` and ``\\n``), and
``CsvWriter`` a ``csv`` writer that applies both.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # SQLAlchemy stays out of the loading process, which reads FORMULA_STARTS
    from sqlalchemy import ColumnElement

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet will show it literally."""
    return PREFIX + text if text.startswith(FORMULA_STARTS) else text


def sql_neutralised(value: ColumnElement) -> ColumnElement:
    """``neutralise`` as an SQL expression on a text value (PostgreSQL: ``ascii`` gives the
    code point of the first character)."""
    from sqlalchemy import Text, case, func, literal

    starts = [ord(character) for character in FORMULA_STARTS]
    return case((func.ascii(value).in_(starts), literal(PREFIX, Text()) + value),
                else_=value)


class CsvWriter:
    """``csv.writer`` with the two rules above. ``text`` says which columns hold text (all
    of them if not given); ``None`` cells are empty."""

    def __init__(self, out: TextIO, *, delimiter: str = ",", lineterminator: str = "\n",
                 text: Sequence[bool] | None = None) -> None:
        self.out = out
        self.lineterminator = lineterminator
        self.writer = csv.writer(out, delimiter=delimiter, lineterminator=lineterminator)
        self.text_columns = None if text is None else [i for i, t in enumerate(text) if t]
        self._side = io.StringIO()  # rows with a bare "\r" go through a writer that quotes it
        self._breaking = csv.writer(self._side, delimiter=delimiter, lineterminator="\r\n")
        self._quotes_breaks = "\r" in lineterminator and "\n" in lineterminator

    def header(self, labels: Sequence[str]) -> None:
        self.writerow(list(labels), text=True)

    def writerow(self, cells: list[str | None], *, text: bool = False) -> None:
        """Write one row; ``cells`` is changed in place (its text cells neutralised)."""
        breaks = False
        columns = range(len(cells)) if text or self.text_columns is None else self.text_columns
        for index in columns:
            value = cells[index]
            if value:
                if value.startswith(FORMULA_STARTS):
                    cells[index] = value = PREFIX + value
                if "\r" in value:
                    breaks = True
        if breaks and not self._quotes_breaks:
            self._breaking.writerow(cells)
            line = self._side.getvalue()
            self._side.seek(0)
            self._side.truncate()
            self.out.write(line[:-2] + self.lineterminator)
        else:
            self.writer.writerow(cells)
