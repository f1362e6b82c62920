"""The conditions of ``q`` (each word in some text column) and of ``filters``, using what
the version's statistics tell (``stats``) when it has them.

Each condition comes with its ``tally``: how many rows it keeps, when the statistics tell
it without a scan (a word or value found only in one few-valued column: the sum of its
values' counts; a word no column can hold: 0), else ``None``.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Table, Text, and_, bindparam, false, func, not_, or_
from sqlalchemy import select as sql_select
from sqlalchemy.engine import Connection

from govdata.catalog.datastore import stats as statistics
from govdata.catalog.datastore.tables import ROW_ID, ColumnSpec
from govdata.catalog.models import DataVersion


@dataclass
class Condition:
    clause: ColumnElement
    tally: int | None = None


def contains(column: ColumnElement, word: str, dialect: str) -> ColumnElement:
    """Case-insensitive substring match. A word without cased letters (Chinese, digits)
    needs no case folding, and plain LIKE is much cheaper than ILIKE on PostgreSQL; SQLite's
    LIKE already ignores ASCII case (and folds nothing else, as its lower() does not)."""
    pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if dialect == "postgresql" and word.lower() != word.upper():
        return column.ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")


class LruCache:
    """A small least-recently-used map shared by the threads of a process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_STATS = LruCache(256)
_MATCHES = LruCache(4096)
_MISSING = object()


class Known:
    """What the statistics of a version tell, read once per process (versions never
    change); the few-valued columns' values containing a word are asked of the database
    (its own LIKE rules) once per word."""

    def __init__(self, connection: Connection, version: DataVersion) -> None:
        self.connection, self.version = connection, version
        self.key = (version.table_name, version.loaded_at)
        self._stats: Any = _MISSING

    @property
    def stats(self) -> Mapping[str, Any] | None:
        if self._stats is _MISSING:
            self._stats = _STATS.get(self.key, _MISSING)
            if self._stats is _MISSING:
                self._stats = self.connection.execute(
                    sql_select(DataVersion.column_stats)
                    .where(DataVersion.id == self.version.id)).scalar_one_or_none()
                _STATS.put(self.key, self._stats)
        return self._stats

    def column(self, spec: ColumnSpec) -> Mapping[str, Any] | None:
        stats = self.stats
        return stats.get(spec.column) if stats else None

    def may_contain(self, spec: ColumnSpec, word: str) -> bool:
        return statistics.may_contain(self.column(spec), word)

    def values(self, spec: ColumnSpec) -> dict[str, int] | None:
        return statistics.values_of(self.column(spec))

    def matching(self, spec: ColumnSpec, word: str) -> list[str]:
        """The values of a few-valued column that contain ``word``."""
        key = (*self.key, spec.column, word)
        found = _MATCHES.get(key)
        if found is None:
            found = _values_containing(self.connection, sorted(self.values(spec) or ()), word)
            _MATCHES.put(key, found)
        return found


def _values_containing(connection: Connection, values: list[str], word: str) -> list[str]:
    if not values:
        return []
    dialect = connection.dialect.name
    if dialect == "postgresql":
        source = func.unnest(bindparam("values", values, type_=ARRAY(Text))).table_valued(
            "v").render_derived()
        value = source.c.v
    else:
        source = func.json_each(bindparam("values", json.dumps(values))).table_valued("value")
        value = source.c.value
    statement = sql_select(value).select_from(source).where(contains(value, word, dialect))
    return list(connection.execute(statement).scalars())


def word_condition(table: Table, specs: Sequence[ColumnSpec], word: str, dialect: str,
                   known: Known | None) -> Condition:
    """``word`` in one of these text columns."""
    parts: list[ColumnElement] = []
    tallies: list[int | None] = []
    for spec in specs:
        column = table.c[spec.column]
        if known is not None and not known.may_contain(spec, word):
            continue
        values = known.values(spec) if known is not None else None
        if values is None:
            parts.append(contains(column, word, dialect))
            tallies.append(None)
            continue
        matches = known.matching(spec, word)
        if matches:
            parts.append(column == matches[0] if len(matches) == 1 else column.in_(matches))
            tallies.append(sum(values[value] for value in matches))
    if not parts:
        return Condition(table.c[ROW_ID].in_([]), 0)
    tally = tallies[0] if len(parts) == 1 else None
    return Condition(parts[0] if len(parts) == 1 else or_(*parts), tally)


def search_conditions(table: Table, q: Any, searchable: Sequence[ColumnSpec], usable,
                      problems: list, dialect: str, known: Known | None, *,
                      plain: bool = True) -> list[Condition]:
    """``q``: words (each in some searchable column), or ``{field: words}``. With ``plain``
    false, each text is a query in ``to_tsquery``'s syntax (CKAN's ``plain=false``)."""
    if q is None or q == "":
        return []

    def conditions_for(text: str, specs: Sequence[ColumnSpec], loc: list[str]):
        if plain:
            return [word_condition(table, specs, word, dialect, known) for word in text.split()]
        try:
            return QueryText(text, lambda word: word_condition(table, specs, word, dialect,
                                                               known)).conditions()
        except ValueError as error:
            problems.append({"loc": loc, "msg": f"检索式有误: {error} (bad query syntax)"})
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
            conditions += conditions_for(str(term), [spec], ["q", str(name)])
        return conditions
    if not isinstance(q, str):
        problems.append({"loc": ["q"], "msg": "应为文本或 {字段: 文本} (expected text)"})
        return []
    return conditions_for(q, searchable, ["q"])


_QUERY_TOKEN = re.compile(r"\s*(<\d*->|<\d+>|[&|!()]|[^\s&|!()<]+)")
_WORD_SUFFIX = re.compile(r":\*?[A-Da-d]*$")


class QueryText:
    """A ``to_tsquery`` text — words joined by ``&``, ``|``, ``<->`` (taken as ``&``:
    rows are matched, not positions), negated by ``!``, grouped by parentheses, a word's
    ``:*`` or weight ignored (words match inside values anyway) — as conditions, one per
    top-level ``&``. Words side by side are taken as ``&`` (``to_tsquery`` refuses them)."""

    def __init__(self, text: str, word: Any) -> None:
        self.tokens = self._tokens(text)
        self.word, self.at = word, 0

    @staticmethod
    def _tokens(text: str) -> list[str]:
        tokens, at = [], 0
        while at < len(text):
            match = _QUERY_TOKEN.match(text, at)
            if match is None:
                if text[at:].strip():
                    raise ValueError(f"无法识别 {text[at:].strip()[:20]!r}")
                break
            tokens.append(match.group(1))
            at = match.end()
        return tokens

    def _peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise ValueError("检索式不完整 (unexpected end)")
        self.at += 1
        return token

    def conditions(self) -> list[Condition]:
        if not self.tokens:
            return []
        alternatives = self._alternatives()
        if self._peek() is not None:
            raise ValueError(f"多余的 {self._peek()!r}")
        return alternatives[0] if len(alternatives) == 1 else [_any(alternatives)]

    def _alternatives(self) -> list[list[Condition]]:
        """``a | b | …``, each alternative the list of its ``&`` parts."""
        alternatives = [self._conjunction()]
        while self._peek() == "|":
            self._take()
            alternatives.append(self._conjunction())
        return alternatives

    def _conjunction(self) -> list[Condition]:
        parts = [self._operand()]
        while (token := self._peek()) is not None and token not in ("|", ")"):
            if token == "&" or token.startswith("<"):
                self._take()
            parts.append(self._operand())
        return parts

    def _operand(self) -> Condition:
        token = self._take()
        if token == "!":
            inner = self._operand()
            return Condition(not_(func.coalesce(inner.clause, false())))
        if token == "(":
            inner = _any(self._alternatives())
            if self._take() != ")":
                raise ValueError("括号不成对 (unbalanced parentheses)")
            return inner
        if token in ("&", "|", ")") or token.startswith("<"):
            raise ValueError(f"此处不应有 {token!r}")
        word = _WORD_SUFFIX.sub("", token)
        if not word:
            raise ValueError(f"空的检索词 {token!r}")
        return self.word(word)


def _any(alternatives: list[list[Condition]]) -> Condition:
    if len(alternatives) == 1:
        return _all(alternatives[0])
    return Condition(or_(*(_all(parts).clause for parts in alternatives)))


def _all(parts: list[Condition]) -> Condition:
    if len(parts) == 1:
        return parts[0]
    return Condition(and_(*(part.clause for part in parts)))


def filter_tally(spec: ColumnSpec | None, converted: Sequence[Any], want_null: bool,
                 known: Known | None, row_count: int) -> int | None:
    """How many rows a filter on a few-valued text column keeps, from the statistics."""
    if known is None or spec is None or spec.data_type != "C":
        return None
    values = known.values(spec)
    if values is None:
        return None
    tally = sum(values.get(value, 0) for value in set(converted))
    if want_null:
        tally += row_count - sum(values.values())
    return tally
