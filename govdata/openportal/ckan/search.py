"""``package_search`` in CKAN's terms: Solr-style ``q``/``fq`` filters, ``sort``, ``rows``
and ``start``, and facets, turned into one open-dataset search.

``fq`` (and field terms in ``q``) understands ``field:value``, ``field:"a value"``,
``field:(a OR b)`` and ``metadata_modified:[2020-01-01T00:00:00Z TO *]`` for the fields in
``FILTERS``; terms are ANDed. Anything else is a Search Query Error naming it, rather than
a silently different answer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.openportal.ckan.context import ActionContext, as_int, as_json
from govdata.openportal.ckan.errors import SearchQueryError
from govdata.openportal.service import DatasetQuery, code_of
from govdata.openportal.vocab import GROUP_THEMES, LICENCES, THEME_GROUPS
from govdata.platform.models import Department

VALID = frozenset({"q", "fq", "fq_list", "rows", "start", "sort", "facet", "facet.field",
                   "facet.limit", "facet.mincount", "facet.sort", "fl", "include_private",
                   "include_drafts", "include_deleted", "use_default_schema",
                   "include_tracking", "defType", "qf", "mm", "df", "bf", "ext_bbox"})
DEFAULT_ROWS, MAX_ROWS = 10, 1000
DEFAULT_SORT = "score desc, metadata_modified desc"
SORTS = {"score": "relevance", "metadata_modified": "modified", "name": "name",
         "title": "title", "title_string": "title", "metadata_created": "created"}
# fq fields → DatasetQuery keyword (lists are ORed within a term, terms are ANDed).
FILTERS = ("organization", "owner_org", "groups", "tags", "res_format", "license_id",
           "name", "id", "metadata_modified", "open_type", "update_cycle", "dataset_type",
           "type", "state", "capacity")
ALWAYS = {"dataset_type": "dataset", "type": "dataset", "state": "active",
          "capacity": "public"}
TERM = re.compile(r'(?P<sign>[+-]?)(?P<field>[A-Za-z_][\w.]*):(?P<value>"(?:[^"\\]|\\.)*"'
                  r"|\[[^\]]*\]|\([^)]*\)|\S+)")
FACETS = {"organization": "department", "groups": "theme", "res_format": "format",
          "license_id": "licence", "tags": "tags", "open_type": "open_type",
          "update_cycle": "update_cycle"}


class Nothing(Exception):
    """The filters cannot match any dataset (two different organizations, …)."""


def _values(raw: str) -> list[str]:
    if raw.startswith("(") and raw.endswith(")"):
        parts = re.split(r"\s+OR\s+", raw[1:-1].strip())
        return [_unquote(part.strip()) for part in parts if part.strip()]
    return [_unquote(raw)]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _moment(text: str, key: str) -> dt.datetime | None:
    text = text.strip()
    if text == "*":
        return None
    if text.upper() == "NOW":
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SearchQueryError(f"{key} 的时间无法识别: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _range(raw: str, key: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    match = re.fullmatch(r"\[\s*(\S+)\s+TO\s+(\S+)\s*\]", raw)
    if not match:
        raise SearchQueryError(f"{key} 应为区间 [起 TO 止]: {raw!r}")
    return _moment(match[1], key), _moment(match[2], key)


def parse_terms(text: str, filters: dict[str, Any], *, free: bool) -> str:
    """Read the ``field:value`` terms of ``text`` into ``filters``; return the rest (free
    text, allowed in ``q`` only)."""
    rest = TERM.sub(lambda m: _take(m, filters) or " ", text).strip()
    if rest and not free:
        raise SearchQueryError(f"fq 只支持 字段:值 形式的条件, 无法理解: {rest!r}")
    return rest


def _take(match: re.Match, filters: dict[str, Any]) -> str:
    field, raw = match["field"], match["value"]
    if field not in FILTERS:
        raise SearchQueryError(f"不支持按 {field} 过滤; 可用: {', '.join(FILTERS)}")
    if match["sign"] == "-":
        raise SearchQueryError(f"不支持否定条件 -{field}")
    if field == "metadata_modified":
        since, until = _range(raw, field)
        filters.setdefault("modified", []).append((since, until))
    else:
        filters.setdefault(field, []).append(_values(raw))
    return ""


def _one_of(terms: list[list[str]]) -> list[str]:
    """ANDed terms of a single-valued field: the values every term allows."""
    allowed = set(terms[0])
    for term in terms[1:]:
        allowed &= set(term)
    if not allowed:
        raise Nothing
    return sorted(allowed)


def dataset_query(ctx: ActionContext, data: Mapping[str, Any]) -> tuple[DatasetQuery, str]:
    """The open-dataset search a package_search asks for, and the sort it reports.
    Raises ``Nothing`` when no dataset can match."""
    unknown = sorted(set(data) - VALID)
    if unknown:
        raise SearchQueryError(f"Invalid search parameters: {unknown}")
    filters: dict[str, Any] = {}
    q = data.get("q")
    q = None if q in (None, "", "*:*", "*") else str(q)
    if q:
        q = parse_terms(q, filters, free=True) or None
    fq_list = as_json(data.get("fq_list"), "fq_list") or []
    for fq in [data.get("fq"), *(fq_list if isinstance(fq_list, list) else [fq_list])]:
        if fq:
            parse_terms(str(fq), filters, free=False)
    rows = min(as_int(data, "rows", DEFAULT_ROWS) or 0, MAX_ROWS)
    start = as_int(data, "start", 0) or 0
    sort = str(data.get("sort") or DEFAULT_SORT)
    query = DatasetQuery(q=q, sort=_sort(sort, bool(q)), limit=rows, offset=start,
                         **_filters(ctx.session, filters),
                         extra_facets=[FACETS[f] for f in facet_fields(data)
                                       if FACETS.get(f) in ("tags", "licence")])
    return query, sort


def _sort(sort: str, has_query: bool) -> str:
    first = sort.split(",")[0].split()
    key = SORTS.get(first[0]) if first else None
    if key is None:
        raise SearchQueryError(f"不支持的排序 {sort!r}; 可用: {', '.join(SORTS)}")
    if key == "relevance" and not has_query:
        remaining = sort.split(",")[1:]
        return _sort(",".join(remaining), False) if remaining else "modified desc"
    direction = first[1].lower() if len(first) > 1 else "asc"
    if direction not in ("asc", "desc"):
        raise SearchQueryError(f"排序方向只能是 asc 或 desc: {sort!r}")
    return f"{key} {direction}"


def _filters(session: Session, filters: dict[str, Any]) -> dict[str, Any]:
    for field, wanted in ALWAYS.items():
        if field in filters and _one_of(filters[field]) != [wanted]:
            raise Nothing
    out: dict[str, Any] = {}
    if "organization" in filters:
        out["department"] = _one_of(filters["organization"])
    if "owner_org" in filters:
        ids = _one_of(filters["owner_org"])
        codes = list(session.scalars(select(Department.code).where(
            Department.id.in_(ids) | Department.code.in_(ids))))
        if not codes or ("department" in out and not set(codes) & set(out["department"])):
            raise Nothing
        out["department"] = sorted(set(codes) & set(out.get("department", codes)))
    if "groups" in filters:
        themes = [GROUP_THEMES.get(v, v) for v in _one_of(filters["groups"])]
        out["theme"] = [t for t in themes if t in THEME_GROUPS] or _nothing()
    if "tags" in filters:
        out["tags"] = [value for term in filters["tags"] for value in term[:1]]
        if any(len(term) > 1 for term in filters["tags"]):
            raise SearchQueryError("tags 不支持 OR, 请分别给出每个标签")
    if "res_format" in filters:
        out["format"] = [v.lower() for v in _one_of(filters["res_format"])]
    if "license_id" in filters:
        out["licence"] = _one_of(filters["license_id"])
    for field in ("open_type", "update_cycle"):
        if field in filters:
            out[field] = _one_of(filters[field])
    if "name" in filters:
        out["codes"] = [code_of(v) or v for v in _one_of(filters["name"])]
    if "id" in filters:
        out["ids"] = _one_of(filters["id"])
    for since, until in filters.get("modified", []):
        if since is not None:
            out["modified_since"] = max(since, out.get("modified_since", since))
        if until is not None:
            out["modified_until"] = min(until, out.get("modified_until", until))
    return out


def _nothing() -> list[str]:
    raise Nothing


def facet_fields(data: Mapping[str, Any]) -> list[str]:
    value = as_json(data.get("facet.field"), "facet.field")
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise SearchQueryError("facet.field 应为字段名列表")
    return [str(v) for v in value]


def facets_out(session: Session, data: Mapping[str, Any], facets: Mapping[str, Mapping[str, int]]
               ) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    """``facets`` and ``search_facets`` for the requested facet fields."""
    limit = as_int(data, "facet.limit", 50, minimum=-1)
    mincount = as_int(data, "facet.mincount", 1, minimum=0) or 0
    plain: dict[str, dict[str, int]] = {}
    detailed: dict[str, Any] = {}
    fields = facet_fields(data)
    titles = _department_titles(session, facets.get("department", {})) \
        if "organization" in fields else {}
    for field in fields:
        counts = _ckan_counts(field, facets)
        items = sorted(((k, n) for k, n in counts.items() if n >= mincount),
                       key=lambda kv: (-kv[1], kv[0]))
        if limit is not None and limit >= 0:
            items = items[:limit]
        plain[field] = dict(items)
        detailed[field] = {"title": field, "items": [
            {"name": name, "display_name": _display(field, name, titles), "count": count}
            for name, count in items]}
    return plain, detailed


def _ckan_counts(field: str, facets: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    ours = facets.get(FACETS.get(field, ""), {})
    if field == "groups":
        return {THEME_GROUPS[t]: n for t, n in ours.items() if t in THEME_GROUPS}
    if field == "res_format":
        return {fmt.upper(): n for fmt, n in ours.items()}
    return dict(ours)


def _department_titles(session: Session, counts: Mapping[str, int]) -> dict[str, str]:
    if not counts:
        return {}
    return dict(session.execute(select(Department.code, Department.name)
                                .where(Department.code.in_(list(counts)))).all())


def _display(field: str, name: str, titles: Mapping[str, str]) -> str:
    if field == "organization":
        return titles.get(name, name)
    if field == "groups":
        return GROUP_THEMES.get(name, name)
    if field == "license_id" and name in LICENCES:
        return LICENCES[name].title
    return name
