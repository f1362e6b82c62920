"""The catalog's search index, independent of the database's locale.

Text is tokenised here, in Python: every CJK character alone and every pair of neighbouring
CJK characters (bigrams), and every lower-cased ASCII word or number (after NFKC, so
full-width ＡＢＣ１２ counts as abc12). ``Resource.search_text`` holds a resource's tokens in
three sections, ``" <name> | <item titles, tags> # <summary, department> "``, each token in
the first section it occurs in.

``index`` keeps the tables of migration 0003 in step with every change of a resource:
``catalog_search_fts_doc``, one narrow row per resource with what search filters, counts and
sorts on (the five vocabulary facets packed into one integer, ``pack_facets``), and the
token index — on PostgreSQL GIN indexes over ``to_tsvector('simple', …)`` of the doc row's
``search_text`` (whole, name section, name and items sections; the tokens are already
words, the parser only splits on spaces), on SQLite three FTS5 tables with the ``ascii``
tokenizer (``catalog_search_fts``, ``…_name``, ``…_head``). Rows are keyed by ``doc_id``, 60
bits of the resource's UUID (SQLite's own rowids may be renumbered by VACUUM).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    false,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Session

from govdata.catalog.models import Resource
from govdata.catalog.vocab import OPEN_TYPES, RESOURCE_CLASSES, SHARE_TYPES, THEMES, UPDATE_CYCLES

NAME_SORT_LENGTH = 600
MAX_QUERY_TOKENS = 32
NAME_MARK, ITEM_MARK = " | ", " # "
DOC_FIELDS = ("code", "name", "name_sort", "status", "format", "resource_class", "theme",
              "share_type", "open_type", "update_cycle")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUN = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
SIMPLE = literal_column("'simple'::regconfig")



# --- tokens ----------------------------------------------------------------------------

def _runs(value: str) -> Iterable[str]:
    return _RUN.findall(unicodedata.normalize("NFKC", value).lower())


def tokens(value: str | None) -> list[str]:
    """Document tokens of a text, in order of first appearance, each once."""
    out: dict[str, None] = {}
    for run in _runs(value or ""):
        if run[0].isascii():
            out[run] = None
            continue
        for index, char in enumerate(run):
            out[char] = None
            if index + 1 < len(run):
                out[run[index:index + 2]] = None
    return list(out)


def query_tokens(value: str | None) -> list[str]:
    """The tokens a resource must hold to match a query (a bigram implies its characters,
    so a CJK run of two or more characters asks for its bigrams only)."""
    out: dict[str, None] = {}
    for run in _runs(value or ""):
        if run[0].isascii() or len(run) == 1:
            out[run] = None
        else:
            for index in range(len(run) - 1):
                out[run[index:index + 2]] = None
    return list(out)[:MAX_QUERY_TOKENS]


def search_text(*, name: str, item_titles: Iterable[str], tags: Iterable[str],
                summary: str, department_name: str) -> str:
    """The indexed text: name, then item titles and tags, then summary and department."""
    seen: set[str] = set()
    sections = []
    for texts in ([name], [*item_titles, *tags], [summary, department_name]):
        section = []
        for value in texts:
            for token in tokens(value):
                if token not in seen:
                    seen.add(token)
                    section.append(token)
        sections.append(" ".join(section))
    return f" {sections[0]}{NAME_MARK}{sections[1]}{ITEM_MARK}{sections[2]} "


def sections(value: str) -> tuple[str, str, str]:
    """``search_text`` split into its name, items and other sections."""
    name, _, rest = value.partition(NAME_MARK)
    items, _, other = rest.partition(ITEM_MARK)
    return name.strip(), items.strip(), other.strip()


def name_sort(name: str) -> str:
    """Pinyin sort key: syllables with tone numbers, so 阿 (a1) < 安 (an1) < 北 (bei3)."""
    from pypinyin import Style, lazy_pinyin  # 50 MB of dictionaries: only where names change

    syllables = lazy_pinyin(unicodedata.normalize("NFKC", name), style=Style.TONE3,
                            neutral_tone_with_five=True)
    return " ".join(s.strip().lower() for s in syllables if s.strip())[:NAME_SORT_LENGTH]


def fill(resource: Resource, department_name: str) -> None:
    """Set the search and sort columns of a resource from its fields and items."""
    resource.search_text = search_text(
        name=resource.name, item_titles=[item.title for item in resource.items],
        tags=resource.tags or [], summary=resource.summary, department_name=department_name)
    resource.name_sort = name_sort(resource.name)


# --- the index tables ------------------------------------------------------------------

# The vocabulary facets packed into ``catalog_search_fts_doc.facets`` (mixed radix, the
# first one varying slowest), so the facet counts group on one integer column.
PACKED = (("resource_class", RESOURCE_CLASSES), ("theme", (None, *THEMES)),
          ("share_type", SHARE_TYPES), ("open_type", OPEN_TYPES),
          ("update_cycle", UPDATE_CYCLES))
_PLACE = {name: (i, [str(v) if v is not None else None for v in values])
          for i, (name, values) in enumerate(PACKED)}
_WEIGHTS = [1] * len(PACKED)
for _i in range(len(PACKED) - 2, -1, -1):
    _WEIGHTS[_i] = _WEIGHTS[_i + 1] * len(PACKED[_i + 1][1])

_meta = MetaData()  # outside the models' MetaData on purpose: made by migration 0003
DOC = Table("catalog_search_fts_doc", _meta,
            Column("doc_id", BigInteger, primary_key=True), Column("resource_id", String(36)),
            Column("code", String), Column("name", String), Column("name_sort", String),
            Column("status", String), Column("department", String), Column("format", String),
            Column("facets", Integer), Column("search_text", Text))
# SQLite: one FTS5 table per searchable part of search_text, keyed by the doc_id (rowid).
_fts5_meta = MetaData()
FTS5 = {section: Table(name, _fts5_meta, Column("rowid", BigInteger, primary_key=True),
                       Column("tokens", Text))
        for section, name in ((None, "catalog_search_fts"), ("name", "catalog_search_fts_name"),
                              ("head", "catalog_search_fts_head"))}
SECTION_END = {"name": NAME_MARK, "head": ITEM_MARK}


def pack_facets(values: Mapping[str, Any]) -> int:
    packed = 0
    for (name, _), weight in zip(PACKED, _WEIGHTS, strict=True):
        packed += _PLACE[name][1].index(values.get(name)) * weight
    return packed


def unpack_facets(packed: int) -> dict[str, str | None]:
    return {name: _PLACE[name][1][packed // weight % len(values)]
            for (name, values), weight in zip(PACKED, _WEIGHTS, strict=True)}


def facet_equals(name: str, value: str) -> ColumnElement[bool]:
    """``facets`` holds this value for one of the packed fields (a never-true condition
    for a value outside the vocabulary)."""
    position, values = _PLACE[name]
    if value not in values:
        return false()
    weight = _WEIGHTS[position]
    return DOC.c.facets // weight % len(values) == values.index(value)


def doc_id(resource_id: str) -> int:
    return int(resource_id.replace("-", "")[:15], 16)


def row_of(resource: Resource) -> dict[str, Any]:
    """What ``index_rows`` needs of a resource."""
    return {"id": resource.id, "search_text": resource.search_text,
            "department": resource.department.code,
            **{name: getattr(resource, name) for name in DOC_FIELDS}}


def index(session: Session, resource: Resource) -> None:
    """Write (or rewrite) the index rows of one resource."""
    unindex(session, resource.id)
    index_rows(session, [row_of(resource)])


def index_rows(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Index resources not indexed yet, given as ``row_of`` dicts (bulk loads use this)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    docs, texts = [], []
    for row in rows:
        key = doc_id(row["id"])
        docs.append({"doc_id": key, "resource_id": row["id"], "code": row["code"],
                     "name": row["name"], "name_sort": row["name_sort"],
                     "status": str(row["status"]), "department": row["department"],
                     "format": row["format"], "facets": pack_facets(row),
                     **({"search_text": row["search_text"]} if postgres else {})})
        if not postgres:
            name, items, other = sections(row["search_text"])
            texts.append({"rowid": key, "name": name, "items": items, "other": other})
    if not docs:
        return
    session.execute(DOC.insert(), docs)
    if texts:
        for section, table in FTS5.items():
            session.execute(table.insert(), [
                {"rowid": t["rowid"], "tokens": _section_tokens(t, section)} for t in texts])


def _section_tokens(text: Mapping[str, str], section: str | None) -> str:
    if section == "name":
        return text["name"]
    if section == "head":
        return f"{text['name']} {text['items']}"
    return f"{text['name']} {text['items']} {text['other']}"


def unindex(session: Session, resource_id: str) -> None:
    """Drop the index rows of a resource (the doc row also goes when the resource is
    deleted)."""
    key = doc_id(resource_id)
    if session.get_bind().dialect.name == "sqlite":
        for table in FTS5.values():
            session.execute(delete(table).where(table.c.rowid == key))
    session.execute(delete(DOC).where(DOC.c.doc_id == key))


def reindex_all(session: Session, *, batch: int = 2_000) -> int:
    """Rebuild the index from ``catalog_resource`` (after a restore, or a department
    renamed), refilling ``search_text`` and ``name_sort`` first. Returns the count."""
    if session.get_bind().dialect.name == "sqlite":
        for table in FTS5.values():
            session.execute(delete(table))
    session.execute(delete(DOC))
    count = 0
    pending: list[dict[str, Any]] = []
    query = select(Resource).order_by(Resource.code).execution_options(yield_per=batch)
    for resource in session.scalars(query):
        fill(resource, resource.department.name)
        pending.append(row_of(resource))
        if len(pending) >= batch:
            session.flush()
            index_rows(session, pending)
            count, pending = count + len(pending), []
    session.flush()
    index_rows(session, pending)
    return count + len(pending)


# --- matching --------------------------------------------------------------------------

def holding(session: Session, query: list[str], section: str | None = None, *,
            test: bool = False) -> ColumnElement[bool]:
    """Doc rows holding every token of the query: anywhere, in the ``name`` section, or in
    the name and items sections (``head``).

    By default the token index drives the query (GIN on PostgreSQL, FTS5 on SQLite). With
    ``test`` the condition is a cheap check of each row read some other way (in name order
    through an index, or for ``NOT``): on SQLite a lookup in the match computed once, on
    PostgreSQL the token's place in the row's own ``search_text`` (each token occurs once
    there, in the first section that has it).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and not test:
        vector = func.to_tsvector(SIMPLE, _pg_text(DOC, section))
        return vector.op("@@")(func.plainto_tsquery(SIMPLE, " ".join(query)))
    if postgres:
        places = [func.strpos(DOC.c.search_text, f" {token} ") for token in query]
        if section is None:
            return and_(*(place > 0 for place in places))
        end = func.strpos(DOC.c.search_text, SECTION_END[section])
        return and_(*(place.between(1, end) for place in places))
    key = DOC.c.doc_id + 0 if test else DOC.c.doc_id  # "+ 0": not driven by the rowid
    return key.in_(_fts5_match(query, section))


def _fts5_match(query: list[str], section: str | None):
    table = FTS5[section]
    phrases = " ".join(f'"{token}"' for token in query)  # implicitly ANDed
    return select(table.c.rowid).where(literal_column(table.name).op("MATCH")(phrases))


def size_bound(session: Session, query: list[str], section: str | None, cap: int) -> int:
    """How many resources hold every token (in a section), whoever may see them, counted
    up to ``cap``: tells an empty or small match from a large one cheaply."""
    if session.get_bind().dialect.name == "postgresql":
        hits = select(DOC.c.doc_id).where(holding(session, query, section))
    else:
        hits = _fts5_match(query, section)
    return session.scalar(select(func.count()).select_from(hits.limit(cap).subquery())) or 0


def _pg_text(table, section: str | None):
    """The text under the GIN index of a section: the very expressions of migration 0003."""
    if section is None:
        return table.c.search_text
    return func.split_part(table.c.search_text, literal_column(f"'{SECTION_END[section]}'"),
                           literal_column("1"))
