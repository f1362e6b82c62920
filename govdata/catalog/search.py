"""Catalog search: Chinese and English, ranked, filtered and faceted — with the same rows in
the same order on SQLite and on PostgreSQL.

The query is tokenised like the resources (``textindex``); a resource matches when it holds
every query token. Matches are ranked in four tiers, the ``score``:

    4  the name is the query
    3  every query token is in the name
    2  every query token is in the name, the item titles or the tags
    1  the rest (some token only in the summary or the department's name)

and within a tier by ``name_sort`` (pinyin) and then by code, compared byte-wise on both
databases. The total and the facet counts come from one grouped scan of the narrow index
rows. A small match is ranked whole; a large one is read tier by tier in name order,
stopping when the page is full.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

from sqlalchemy import ColumnElement, and_, case, false, func, not_, or_, select, true, tuple_
from sqlalchemy.orm import Session

from govdata.catalog import access
from govdata.catalog.models import Resource
from govdata.catalog.textindex import (
    DOC,
    facet_equals,
    holding,
    query_tokens,
    size_bound,
    unpack_facets,
)
from govdata.platform import jurisdiction
from govdata.platform.errors import RuleViolation
from govdata.platform.models import Department
from govdata.platform.principal import Principal

FACETS = ("department", "resource_class", "theme", "share_type", "open_type", "update_cycle",
          "format")
SORTS = ("relevance", "name")
MAX_LIMIT = 1_000
EXACT, IN_NAME, IN_HEAD, ELSEWHERE = 4, 3, 2, 1
# A match larger than this is paged tier by tier, in name order through an index,
# reading WALK_CHUNK rows at first (a tier that large is at least 2% of 100,000 rows).
LARGE = 2_000
WALK_CHUNK = 1_000
FACET_SCAN_FROM = 20_000
ORDER_INDEX = "ix_catalog_search_fts_doc_order"


@dataclass
class SearchResult:
    hits: list[tuple[Resource, int | None]]  # (resource, score; None without a query)
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def byte_order(session: Session, column: ColumnElement[str]) -> ColumnElement[str]:
    """Order text by code point on both databases (SQLite's BINARY is PostgreSQL's "C")."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")
    return column


def _visible(principal: Principal) -> ColumnElement[bool]:
    if access.sees_all_drafts(principal):
        return true()
    visible = [DOC.c.status.in_(access.PUBLIC_STATUSES)]
    if principal.department is not None:
        visible.append(DOC.c.department == principal.department)
    if principal.has("admin"):
        governed = select(Department.code).where(
            jurisdiction.covers_clause(principal, Department.division_code))
        visible.append(DOC.c.department.in_(governed))
    return or_(*visible)


FacetValue = str | Sequence[str] | None


def _facet_filter(name: str, value: str | Sequence[str]) -> ColumnElement[bool]:
    if isinstance(value, str):
        return facet_equals(name, value)
    return or_(false(), *(facet_equals(name, one) for one in value))


def _column_filter(column: ColumnElement, value: str | Sequence[str]) -> ColumnElement[bool]:
    return column == value if isinstance(value, str) else column.in_(list(value))


class Filters(TypedDict, total=False):
    """The facet filters of a search: each one value or a list (any of them)."""

    department: FacetValue
    resource_class: FacetValue
    theme: FacetValue
    share_type: FacetValue
    open_type: FacetValue
    update_cycle: FacetValue
    format: FacetValue
    status: FacetValue


def _filters(principal: Principal, where: Sequence[ColumnElement[bool]],
             filters: Filters) -> list[ColumnElement[bool]]:
    unknown = set(filters) - set(Filters.__annotations__)
    if unknown:
        raise TypeError(f"unknown search filters: {sorted(unknown)}")
    conditions = [_visible(principal), *where]
    for name in ("resource_class", "theme", "share_type", "open_type", "update_cycle"):
        value = filters.get(name)
        if value is not None:
            conditions.append(_facet_filter(name, value))
    fmt = filters.get("format")
    if isinstance(fmt, str):
        fmt = fmt.lower()
    elif fmt is not None:
        fmt = [one.lower() for one in fmt]
    for column, value in ((DOC.c.department, filters.get("department")),
                          (DOC.c.status, filters.get("status")), (DOC.c.format, fmt)):
        if value is not None:
            conditions.append(_column_filter(column, value))
    return conditions


def match_conditions(session: Session, principal: Principal, *, q: str | None = None,
                     where: Sequence[ColumnElement[bool]] = (), **filters: Unpack[Filters]
                     ) -> list[ColumnElement[bool]] | None:
    """The conditions on the index rows (``textindex.DOC``, one per resource) that
    ``search_resources`` matches with the same arguments, for callers that count or order
    the match their own way; ``None`` when ``q`` holds no token (nothing can match)."""
    wanted = query_tokens(q) if q and q.strip() else None
    if wanted == []:
        return None
    conditions = _filters(principal, where, filters)
    return [*conditions, holding(session, wanted)] if wanted else conditions


def search_resources(session: Session, principal: Principal, *, q: str | None = None,
                     sort: str | None = None, limit: int = 20, offset: int = 0,
                     where: Sequence[ColumnElement[bool]] = (), **filters: Unpack[Filters]
                     ) -> SearchResult:
    """Resources the principal may see (``access``) matching every token of ``q`` and every
    filter: a ranked page, the total, and facet counts over the whole match. Without ``q``
    (or with ``sort="name"``) the order is pinyin, then code, and the score is ``None``.

    A filter is one value or a list of values (any of them); ``where`` adds conditions on
    the index rows (``textindex.DOC``), e.g. ``DOC.c.resource_id.in_(…)``."""
    if sort is not None and sort not in SORTS:
        raise RuleViolation(f"sort 只能是 {' 或 '.join(SORTS)}", code="sort_invalid",
                            errors=[{"loc": ["sort"], "msg": f"可选: {', '.join(SORTS)}"}])
    limit, offset = max(1, min(limit, MAX_LIMIT)), max(0, offset)
    wanted = query_tokens(q) if q and q.strip() else None
    if wanted == []:
        return SearchResult(hits=[], total=0, facets={name: {} for name in FACETS})
    conditions = _filters(principal, where, filters)
    # SQLite counts a very large match faster by reading the facet index whole and testing
    # each row than by looking each match up (PostgreSQL's bitmap scan does both well).
    sqlite = session.get_bind().dialect.name == "sqlite"
    scan_facets = bool(wanted) and sqlite and size_bound(
        session, wanted, None, FACET_SCAN_FROM + 1) > FACET_SCAN_FROM
    match = [holding(session, wanted, test=scan_facets)] if wanted else []
    total, facets = facet_counts(session, [*conditions, *match])
    if total == 0 or offset >= total:
        return SearchResult(hits=[], total=total, facets=facets)
    if not wanted or sort == "name":
        scan = total > LARGE
        in_order = [*conditions, holding(session, wanted, test=scan)] if wanted else conditions
        page = [(rid, None) for rid in _page(session, in_order, scan, limit=limit,
                                             offset=offset)]
    elif total <= LARGE:
        page = _ranked_page(session, wanted, q or "", [*conditions, *match], limit, offset)
    else:
        page = _tier_walk(session, wanted, q or "", conditions, limit, offset)
    loaded = {r.id: r for r in session.scalars(
        select(Resource).where(Resource.id.in_([resource_id for resource_id, _ in page])))}
    return SearchResult(hits=[(loaded[rid], score) for rid, score in page], total=total,
                        facets=facets)


def _ranked_page(session: Session, wanted: list[str], q: str, where: list, limit: int,
                 offset: int) -> list[tuple[str, int]]:
    """Score every match and sort (a small match)."""
    tier = case((DOC.c.name == q.strip(), EXACT),
                (holding(session, wanted, "name", test=True), IN_NAME),
                (holding(session, wanted, "head", test=True), IN_HEAD),
                else_=ELSEWHERE)
    rows = session.execute(
        select(DOC.c.resource_id, tier).where(*where)
        .order_by(tier.desc(), byte_order(session, DOC.c.name_sort),
                  byte_order(session, DOC.c.code))
        .limit(limit).offset(offset)).all()
    return [(resource_id, score) for resource_id, score in rows]


def _tier_walk(session: Session, wanted: list[str], q: str, filters: list, limit: int,
               offset: int) -> list[tuple[str, int]]:
    """Read the page of a large match tier by tier, stopping when it is full: no need to
    rank every match to show twenty. A tier the token index holds nothing of is skipped;
    a small tier is fetched through the token index and sorted; a large one is read in
    name order through an index, testing each row, which soon fills the page."""
    exact = DOC.c.name == q.strip()
    tiers: list[tuple[int, list[ColumnElement[bool]], bool]] = [(EXACT, [exact], False)]
    upper: list[ColumnElement[bool]] = [not_(exact)]
    for score, section in ((IN_NAME, "name"), (IN_HEAD, "head"), (ELSEWHERE, None)):
        bound = size_bound(session, wanted, section, LARGE + 1) if section else LARGE + 1
        if bound:
            scan = bound > LARGE
            tiers.append((score, [holding(session, wanted, section, test=scan), *upper], scan))
        if section:
            upper = [not_(holding(session, wanted, section, test=True))]
    page: list[tuple[str, int]] = []
    skip, need = offset, limit
    for score, conditions, scan in tiers:
        where = [*filters, *conditions]
        if skip:
            in_tier = _count(session, where)
            if skip >= in_tier:
                skip -= in_tier
                continue
        rows = _page(session, where, scan, limit=need, offset=skip)
        page += [(resource_id, score) for resource_id in rows]
        skip, need = 0, need - len(rows)
        if need == 0:
            break
    return page


def _count(session: Session, where: list[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(DOC).where(and_(*where))) or 0


def _page(session: Session, where: list[ColumnElement[bool]], scan: bool, *,
          limit: int, offset: int) -> list[str]:
    """Rows of ``where`` in name order: a small set fetched whole and sorted, or (``scan``)
    a large one read in name order through the index until the page is full (SQLite obeys
    ``INDEXED BY`` and stops at the limit; PostgreSQL is walked, see ``_walk``)."""
    if scan and session.get_bind().dialect.name == "postgresql":
        return _walk(session, and_(*where), skip=offset, need=limit)
    query = (select(DOC.c.resource_id).where(*where)
             .order_by(byte_order(session, DOC.c.name_sort), byte_order(session, DOC.c.code))
             .limit(limit).offset(offset))
    if scan:
        query = query.with_hint(DOC, f"INDEXED BY {ORDER_INDEX}", "sqlite")
    return list(session.scalars(query))


def _walk(session: Session, wanted: ColumnElement[bool], *, skip: int, need: int,
          chunk: int = WALK_CHUNK) -> list[str]:
    """Read the index rows in name order, a growing chunk at a time (keyset paging on the
    order index, which neither database's planner can turn into a scan and sort), testing
    each row; stop when ``need`` rows passed after skipping ``skip``."""
    name_sort = byte_order(session, DOC.c.name_sort)
    code = byte_order(session, DOC.c.code)
    found: list[str] = []
    last: tuple[str, str] | None = None
    while True:
        query = (select(DOC.c.resource_id, DOC.c.name_sort, DOC.c.code, wanted)
                 .order_by(name_sort, code).limit(chunk))
        if last is not None:
            query = query.where(tuple_(name_sort, code) > tuple_(*last))
        rows = session.execute(query).all()
        for resource_id, _, _, hit in rows:
            if not hit:
                continue
            if skip:
                skip -= 1
                continue
            found.append(resource_id)
            if len(found) == need:
                return found
        if len(rows) < chunk:
            return found
        last = (rows[-1][1], rows[-1][2])
        chunk *= 4


def facet_counts(session: Session, conditions: list) -> tuple[int, dict[str, dict[str, int]]]:
    """The total and every facet's counts in one grouped scan of the match."""
    grouped = session.execute(
        select(DOC.c.department, DOC.c.format, DOC.c.facets, func.count())
        .where(*conditions).group_by(DOC.c.department, DOC.c.format, DOC.c.facets)).all()
    counters: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    by_packed: Counter[int] = Counter()
    total = 0
    for department, fmt, packed, count in grouped:
        total += count
        counters["department"][department] += count
        counters["format"][fmt] += count
        by_packed[packed] += count
    for packed, count in by_packed.items():
        for name, value in unpack_facets(packed).items():
            if value is not None:
                counters[name][value] += count
    facets = {name: dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
              for name, counter in counters.items()}
    return total, facets
