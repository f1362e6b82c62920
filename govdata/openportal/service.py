"""Open datasets (RULES.md §3): the published catalog resources whose open type is
``unconditional`` or ``conditional``, as the public finds, reads and downloads them.

A dataset is its catalog resource plus what the open side adds (``OpenMetadata``: licence,
coverage), its current data version, its usage and its links. Its ``name`` is its code
with ``-`` for ``/`` (CONTRACTS.md §1a). A draft, a retired resource or one whose open type
is ``none`` is not a dataset: on every public path it does not exist.

Data paths (records, downloads, and the CKAN API's datastore actions) serve unconditional
datasets to anyone; a conditional one answers 403 ``open_data_conditional`` until
applications for conditional data exist (the portal's people side). Every value they show
is desensitised by ``masking.public_masks``; every view, query and download is counted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, case, cast, exists, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from govdata.catalog import search, stats
from govdata.catalog.datastore import (
    ExportPlan,
    QueryResult,
    plan_export,
    query_rows,
    stream_export,
)
from govdata.catalog.models import DataItem, DataVersion, Resource, Status
from govdata.catalog.search import byte_order
from govdata.catalog.textindex import DOC
from govdata.openportal import readcache, usage
from govdata.openportal.masking import public_items, public_masks
from govdata.openportal.models import Link, OpenMetadata, Usage
from govdata.openportal.vocab import (
    CYCLE_DAYS,
    LICENCES,
    PUBLIC_OPEN_TYPES,
    THEME_GROUPS,
    Licence,
    theme_of_group,
)
from govdata.platform import audit
from govdata.platform import service as platform_service
from govdata.platform.errors import Forbidden, NotFound, RuleViolation
from govdata.platform.models import Department
from govdata.platform.principal import ANONYMOUS
from govdata.platform.settings import Settings, get_settings

if TYPE_CHECKING:
    from govdata.openportal.apikeys import KeyAccess

NAME = re.compile(r"^([0-9]{6,16})-([0-9]{6,})$")
MAX_LIMIT = 1_000
SORT_KEYS = {"relevance": "relevance", "score": "relevance", "title": "title",
             "name": "name", "modified": "modified", "metadata_modified": "modified",
             "created": "created", "metadata_created": "created"}


# --- names -----------------------------------------------------------------------------

def dataset_name(code: str) -> str:
    """A resource code as a dataset name: ``211001/000001`` → ``211001-000001``."""
    return code.replace("/", "-")


def code_of(name: str) -> str | None:
    """The resource code a dataset name stands for, ``None`` if it is not one."""
    match = NAME.match(name)
    return f"{match[1]}/{match[2]}" if match else None


# --- one dataset -----------------------------------------------------------------------

@dataclass(frozen=True)
class OpenDataset:
    """A dataset as the public sees it. ``data`` is its current data version (``None``
    before the first load); ``usage`` counts views, record queries and downloads."""

    resource: Resource
    metadata: OpenMetadata | None
    data: DataVersion | None
    usage: Mapping[str, int]
    links: Sequence[Link]
    licence: Licence
    overdue: bool
    score: int | None = None

    @property
    def name(self) -> str:
        return dataset_name(self.resource.code)

    @property
    def department(self) -> Department:
        return self.resource.department

    @property
    def items(self) -> list[DataItem]:
        """The data dictionary the public sees (no secret or unopened items)."""
        return public_items(self.resource)

    @property
    def group(self) -> str | None:
        theme = self.resource.theme
        return THEME_GROUPS.get(theme) if theme else None

    @property
    def data_access(self) -> str:
        """``open`` (anyone), or ``application`` (conditional: only approved applicants)."""
        return "open" if self.resource.open_type == "unconditional" else "application"

    @property
    def data_updated_at(self) -> dt.datetime | None:
        return self.data.loaded_at if self.data else None

    @property
    def modified_at(self) -> dt.datetime:
        """When the dataset's metadata last changed (catalog entry or open attributes)."""
        moments = [self.resource.updated_at]
        if self.metadata is not None:
            moments.append(self.metadata.updated_at)
        return max(moments)

    @property
    def spatial(self) -> str:
        """Spatial coverage: as set, else the department's division code (GB/T 2260)."""
        if self.metadata is not None and self.metadata.spatial:
            return self.metadata.spatial
        return self.department.division_code

    @property
    def temporal(self) -> tuple[dt.date | None, dt.date | None]:
        if self.metadata is None:
            return None, None
        return self.metadata.temporal_start, self.metadata.temporal_end


def open_clause() -> list[ColumnElement[bool]]:
    """The conditions that make a catalog resource an open dataset."""
    return [Resource.status == Status.published.value,
            Resource.open_type.in_(PUBLIC_OPEN_TYPES)]


def open_resource(session: Session, name: str) -> Resource:
    """The open dataset's catalog resource (one query, department joined, items loaded),
    or NotFound ``dataset_not_found``."""
    code = code_of(name)
    resource = None
    if code is not None:
        resource = session.scalar(select(Resource).where(Resource.code == code,
                                                         *open_clause()))
    if resource is None:
        raise NotFound(f"开放数据集 {name} 不存在", code="dataset_not_found")
    return resource


def resource_by_id(session: Session, resource_id: str) -> Resource:
    """The open dataset's catalog resource by its id (CKAN's package ``id``)."""
    resource = session.scalar(select(Resource).where(Resource.id == resource_id,
                                                     *open_clause()))
    if resource is None:
        raise NotFound(f"开放数据集 {resource_id} 不存在", code="dataset_not_found")
    return resource


def licence_of(metadata: OpenMetadata | None, settings: Settings) -> Licence:
    chosen = metadata.licence if metadata is not None and metadata.licence else None
    return LICENCES.get(chosen or settings.open_default_licence) or next(iter(LICENCES.values()))


def is_overdue(update_cycle: str, published_on: dt.date | None,
               data_loaded_at: dt.datetime | None, settings: Settings,
               now: dt.datetime | None = None) -> bool:
    """Whether a dataset went longer than its update cycle (plus the grace days of
    ``GOVDATA_OPEN_OVERDUE_GRACE_DAYS``) without new data. Before its first load the
    publication date counts; 不定期 and 其他 are never overdue."""
    days = CYCLE_DAYS.get(update_cycle)
    if days is None:
        return False
    if data_loaded_at is not None:
        since = data_loaded_at
    elif published_on is not None:
        since = dt.datetime.combine(published_on, dt.time(), tzinfo=dt.UTC)
    else:
        return False
    now = now or dt.datetime.now(dt.UTC)
    return now - since > dt.timedelta(days=days + settings.open_overdue_grace_days)


def describe(session: Session, resources: Sequence[Resource], settings: Settings, *,
             scores: Sequence[int | None] | None = None) -> list[OpenDataset]:
    """Datasets for catalog resources: their open attributes, current data versions, usage
    and links in one query each, whatever the number of resources."""
    ids = [resource.id for resource in resources]
    if not ids:
        return []
    metadata = {row.resource_id: row for row in session.scalars(
        select(OpenMetadata).where(OpenMetadata.resource_id.in_(ids)))}
    versions = {row.resource_id: row for row in session.scalars(
        select(DataVersion).where(DataVersion.resource_id.in_(ids), DataVersion.is_current))}
    links: dict[str, list[Link]] = {}
    for link in session.scalars(select(Link).where(Link.resource_id.in_(ids))
                                .order_by(Link.position, Link.created_at)):
        links.setdefault(link.resource_id, []).append(link)
    counts = usage.totals(session, ids)
    now = dt.datetime.now(dt.UTC)
    scores = scores or [None] * len(resources)
    return [OpenDataset(resource=r, metadata=metadata.get(r.id), data=versions.get(r.id),
                        usage=counts[r.id], links=links.get(r.id, []),
                        licence=licence_of(metadata.get(r.id), settings),
                        overdue=is_overdue(r.update_cycle, r.published_on,
                                           _loaded_at(versions.get(r.id)), settings, now),
                        score=score)
            for r, score in zip(resources, scores, strict=True)]


def _loaded_at(version: DataVersion | None) -> dt.datetime | None:
    return version.loaded_at if version is not None else None


def get_dataset(session: Session, name: str, *, settings: Settings | None = None
                ) -> OpenDataset:
    """A dataset's metadata, without counting a view (for the API's own use)."""
    settings = settings or get_settings()
    return describe(session, [open_resource(session, name)], settings)[0]


def view_dataset(session: Session, name: str, *, settings: Settings | None = None
                 ) -> OpenDataset:
    """A dataset's metadata as a visitor asks for it: counted as a view."""
    settings = settings or get_settings()
    dataset = get_dataset(session, name, settings=settings)
    usage.count(session, dataset.resource.id, "views",
                every_seconds=settings.usage_flush_seconds)
    return dataset


# --- data ------------------------------------------------------------------------------

def require_open_data(session: Session, resource: Resource, access: KeyAccess | None = None,
                      *, action: str = "openportal.data.read") -> None:
    """403 ``open_data_conditional`` for a conditional dataset's data, unless ``access``
    (an approved applicant's API key) is for this dataset. Every such refusal, on every
    public path (open API, downloads, CKAN API, pages), is on the ledger as a refused
    ``action``."""
    if resource.open_type == "unconditional":
        return
    if access is None:
        error = Forbidden(f"{resource.name} 为有条件开放数据, 需经申请获批后方可获取数据 "
                          f"(开放条件: {resource.open_condition or '见数据集说明'})",
                          code="open_data_conditional")
    elif access.resource_id != resource.id:
        error = Forbidden("该 API 密钥不适用于此数据集 (key of another dataset)",
                          code="api_key_wrong_dataset")
    else:
        return
    who = access.principal() if access is not None else ANONYMOUS
    raise audit.refused(session, who, error, action=action, resource=resource.code)


def data_masks(resource: Resource, access: KeyAccess | None = None) -> Mapping[str, str]:
    """The public masks; with an applicant's key to conditional data, only the items the
    provider granted are there."""
    if access is None or resource.open_type == "unconditional":
        return public_masks(resource)
    return public_masks(resource, only=access.items)


def _record_keyed_read(session: Session, resource: Resource, access: KeyAccess | None,
                       action: str, *, query: Mapping[str, Any]) -> None:
    """A read of conditional data with an applicant's key is on the ledger, with what was
    asked (as text: entries hold no floats)."""
    if access is None or resource.open_type == "unconditional":
        return
    asked = {key: str(value) for key, value in query.items() if value not in (None, "", 0)}
    audit.record(session, access.principal(), action=action, resource=resource.code,
                 application=access.application.id, key=access.key.prefix,
                 data_items=access.items, query=asked or None)


def query_resource(session: Session, resource: Resource, *,
                   settings: Settings | None = None, access: KeyAccess | None = None,
                   **query: Any) -> QueryResult:
    """A page of an open dataset's data, desensitised and counted as a record query
    (``query_rows`` arguments: fields, filters, q, sort, limit, offset, include_total,
    records_format)."""
    settings = settings or get_settings()
    require_open_data(session, resource, access)
    result = query_rows(session, resource, masks=data_masks(resource, access), **query)
    _record_keyed_read(session, resource, access, "openportal.data.read", query=query)
    usage.count(session, resource.id, "record_queries",
                every_seconds=settings.usage_flush_seconds)
    return result


CHART_TYPES = {"date": ("D", "T"), "number": ("I", "F", "N", "Y")}


def chart_items(resource: Resource) -> tuple[DataItem, DataItem] | None:
    """The first unmasked date item and number item of a dataset, if it has both (its
    page draws the number over time)."""
    shown = [item for item in public_items(resource)
             if (item.sensitivity or "none") in ("none", "uscc")]
    dates = [item for item in shown if item.data_type in CHART_TYPES["date"]]
    numbers = [item for item in shown if item.data_type in CHART_TYPES["number"]]
    return (dates[0], numbers[0]) if dates and numbers else None


def preview_rows(session: Session, resource: Resource, *, limit: int, offset: int
                 ) -> QueryResult:
    """A page of an unconditional dataset for its page's preview table, through the
    public masks; not counted as a record query (the page view is counted)."""
    require_open_data(session, resource)
    return query_rows(session, resource, masks=public_masks(resource), limit=limit,
                      offset=offset)


def chart_rows(session: Session, resource: Resource, *, date_item: str, value_item: str,
               limit: int = 2000) -> list[tuple[Any, Any]]:
    """Up to ``limit`` (date, number) pairs of an unconditional dataset, newest last,
    through the public masks; not counted as usage (it is part of the page view)."""
    require_open_data(session, resource)
    result = query_rows(session, resource, masks=public_masks(resource),
                        fields=[date_item, value_item], sort=f"{date_item} desc",
                        limit=limit, include_total=False, records_format="lists")
    return [(row[0], row[1]) for row in reversed(result.records)]


def records_text(session: Session, resource: Resource, *, format: str = "csv",
                 settings: Settings | None = None, access: KeyAccess | None = None,
                 **query: Any) -> str:
    """A page of an open dataset's data as CSV or TSV text without a header (CKAN's
    ``records_format``), through the same export and masks as downloads; counted as a
    record query. ``query``: fields, filters, q, sort, limit, offset."""
    settings = settings or get_settings()
    require_open_data(session, resource, access)
    plan = plan_export(session, resource, masks=data_masks(resource, access), format=format,
                       **query)
    body = b"".join(stream_export(session.connection(), plan)).decode("utf-8")
    usage.count(session, resource.id, "record_queries",
                every_seconds=settings.usage_flush_seconds)
    return body.split("\n", 1)[1] if "\n" in body else ""


def query_records(session: Session, name: str, *, settings: Settings | None = None,
                  access: KeyAccess | None = None, **query: Any) -> QueryResult:
    """``query_resource`` for a dataset by name (its resource from ``readcache``)."""
    code = code_of(name)
    resource = readcache.open_resource_by_code(session, code) if code is not None else None
    if resource is None:
        raise NotFound(f"开放数据集 {name} 不存在", code="dataset_not_found")
    return query_resource(session, resource, settings=settings, access=access, **query)


def plan_resource_download(session: Session, resource: Resource, *,
                           settings: Settings | None = None, access: KeyAccess | None = None,
                           **options: Any) -> ExportPlan:
    """Plan a desensitised download (``plan_export`` arguments) and count it; stream it
    with ``stream_export`` on a connection of its own."""
    settings = settings or get_settings()
    require_open_data(session, resource, access, action="openportal.data.download")
    plan = plan_export(session, resource, masks=data_masks(resource, access), **options)
    _record_keyed_read(session, resource, access, "openportal.data.download", query=options)
    usage.count(session, resource.id, "downloads", every_seconds=settings.usage_flush_seconds)
    return plan


def plan_download(session: Session, name: str, *, settings: Settings | None = None,
                  **options: Any) -> ExportPlan:
    """``plan_resource_download`` for a dataset by name."""
    return plan_resource_download(session, open_resource(session, name), settings=settings,
                                  **options)


# --- search ----------------------------------------------------------------------------

FACETS = ("department", "theme", "format", "open_type", "update_cycle")
EXTRA_FACETS = ("tags", "licence")


@dataclass(frozen=True)
class DatasetQuery:
    """What a search asks for. Each filter is one value or a list (any of them);
    ``theme`` takes themes (公共服务) or their group names (gonggong-fuwu); ``codes`` and
    ``ids`` pick datasets by resource code or id; ``sort`` is ``<key> [asc|desc]`` with key
    relevance (score), title (pinyin), name (code), modified (metadata_modified) or
    created (metadata_created)."""

    q: str | None = None
    department: str | Sequence[str] | None = None
    theme: str | Sequence[str] | None = None
    format: str | Sequence[str] | None = None
    open_type: str | Sequence[str] | None = None
    update_cycle: str | Sequence[str] | None = None
    tags: Sequence[str] = ()
    licence: str | Sequence[str] | None = None
    codes: Sequence[str] = ()
    ids: Sequence[str] = ()
    modified_since: dt.datetime | None = None
    modified_until: dt.datetime | None = None
    sort: str | None = None
    limit: int = 20
    offset: int = 0
    extra_facets: Sequence[str] = ()


@dataclass(frozen=True)
class DatasetPage:
    items: list[OpenDataset]
    total: int
    limit: int
    offset: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def _listed(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def parse_sort(sort: str | None, has_query: bool) -> tuple[str, bool]:
    """``(key, descending)`` of a sort such as ``metadata_modified desc``."""
    if sort is None or not sort.strip():
        return ("relevance", True) if has_query else ("title", False)
    parts = sort.replace(",", " ").split()
    key = SORT_KEYS.get(parts[0].lower())
    direction = parts[1].lower() if len(parts) > 1 else None
    if key is None or len(parts) > 2 or direction not in (None, "asc", "desc"):
        raise RuleViolation(f"无法识别的排序 {sort!r}: 可用 relevance、title、name、modified、"
                            "created, 可加 asc 或 desc", code="sort_invalid",
                            errors=[{"loc": ["sort"], "msg": "relevance|title|name|modified"
                                     "|created [asc|desc]"}])
    descending = direction == "desc" if direction else key in ("relevance", "modified")
    if key == "relevance" and not has_query:
        return "title", False
    return key, descending


def modified_expression() -> ColumnElement[dt.datetime]:
    """``metadata_modified`` in SQL: the later of the catalog entry's and the open
    attributes' change (use with ``OpenMetadata`` outer-joined)."""
    return case((OpenMetadata.updated_at > Resource.updated_at, OpenMetadata.updated_at),
                else_=Resource.updated_at)


def has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    """``Resource.tags`` (a JSON list) holds this tag."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(Resource.tags, JSONB).contains([tag])
    each = func.json_each(Resource.tags).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == tag))


def _restrictions(session: Session, query: DatasetQuery, settings: Settings
                  ) -> list[ColumnElement[bool]]:
    """Conditions on the search index rows for what the catalog's index does not hold
    (tags, licence, modification time)."""
    narrowing: list[ColumnElement[bool]] = []
    if query.codes:
        narrowing.append(Resource.code.in_(list(query.codes)))
    if query.ids:
        narrowing.append(Resource.id.in_(list(query.ids)))
    if query.tags:
        narrowing += [has_tag(session, tag) for tag in query.tags]
    licences = _listed(query.licence)
    if licences is not None:
        chosen = func.coalesce(OpenMetadata.licence, settings.open_default_licence)
        narrowing.append(chosen.in_(licences))
    if query.modified_since is not None:
        narrowing.append(modified_expression() >= query.modified_since)
    if query.modified_until is not None:
        narrowing.append(modified_expression() <= query.modified_until)
    if not narrowing:
        return []
    ids = (select(Resource.id).outerjoin(OpenMetadata, OpenMetadata.resource_id == Resource.id)
           .where(*narrowing))
    return [DOC.c.resource_id.in_(ids)]


def _open_types(value: str | Sequence[str] | None) -> list[str]:
    wanted = _listed(value)
    if wanted is None:
        return list(PUBLIC_OPEN_TYPES)
    return [one for one in wanted if one in PUBLIC_OPEN_TYPES]


def _themes(value: str | Sequence[str] | None) -> list[str] | None:
    wanted = _listed(value)
    if wanted is None:
        return None
    return [theme for theme in (theme_of_group(one) for one in wanted) if theme]


def search_datasets(session: Session, query: DatasetQuery, *,
                    settings: Settings | None = None) -> DatasetPage:
    """Open datasets matching a query (Chinese or English, through the catalog's search):
    a page, the total, and facet counts over the whole match (department, theme,
    format, open type, update cycle; tags and licence when ``extra_facets`` asks)."""
    settings = settings or get_settings()
    limit, offset = max(0, min(query.limit, MAX_LIMIT)), max(0, query.offset)
    key, descending = parse_sort(query.sort, bool(query.q and query.q.strip()))
    filters = {"q": query.q, "department": query.department, "theme": _themes(query.theme),
               "format": query.format, "open_type": _open_types(query.open_type),
               "update_cycle": query.update_cycle, "status": Status.published.value,
               "where": _restrictions(session, query, settings)}
    if key in ("relevance", "title") and not (key == "title" and descending) and limit:
        found = search.search_resources(session, ANONYMOUS, **filters,
                                        sort="relevance" if key == "relevance" else "name",
                                        limit=limit, offset=offset)
        total, facets = found.total, found.facets
        resources = [resource for resource, _ in found.hits]
        scores = [score for _, score in found.hits]
    else:
        conditions = search.match_conditions(session, ANONYMOUS, **filters)
        if conditions is None:
            return DatasetPage([], 0, limit, offset, _empty_facets(query))
        total, facets = search.facet_counts(session, conditions)
        resources = _ordered_page(session, conditions, key, descending, limit, offset)
        scores = None
    facets = _public_facets(facets)
    if query.extra_facets and total:
        conditions = search.match_conditions(session, ANONYMOUS, **filters) or []
        facets.update(_extra_facets(session, conditions, query.extra_facets, settings))
    items = describe(session, resources, settings, scores=scores)
    return DatasetPage(items, total, limit, offset, facets)


def _empty_facets(query: DatasetQuery) -> dict[str, dict[str, int]]:
    return {name: {} for name in (*FACETS, *query.extra_facets)}


def _public_facets(facets: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    return {name: dict(facets.get(name, {})) for name in FACETS}


def _ordered_page(session: Session, conditions: list[ColumnElement[bool]], key: str,
                  descending: bool, limit: int, offset: int) -> list[Resource]:
    if not limit:
        return []
    if key == "modified":
        order = modified_expression()
    elif key == "created":
        order = Resource.created_at
    elif key == "title":
        order = byte_order(session, Resource.name_sort)
    else:
        order = byte_order(session, Resource.code)
    code = byte_order(session, Resource.code)
    statement: Select = (
        select(Resource).join(DOC, DOC.c.resource_id == Resource.id)
        .outerjoin(OpenMetadata, OpenMetadata.resource_id == Resource.id)
        .where(*conditions)
        .order_by(order.desc() if descending else order.asc(),
                  code.desc() if descending else code.asc())
        .limit(limit).offset(offset))
    return list(session.scalars(statement))


def _extra_facets(session: Session, conditions: list[ColumnElement[bool]],
                  wanted: Sequence[str], settings: Settings) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    matching = select(DOC.c.resource_id).where(*conditions)
    if "tags" in wanted:
        counter: Counter[str] = Counter()
        for tags in session.scalars(select(Resource.tags).where(Resource.id.in_(matching))):
            counter.update(set(tags or []))
        out["tags"] = dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
    if "licence" in wanted:
        chosen = func.coalesce(OpenMetadata.licence, settings.open_default_licence)
        rows = session.execute(
            select(chosen, func.count()).select_from(Resource)
            .outerjoin(OpenMetadata, OpenMetadata.resource_id == Resource.id)
            .where(Resource.id.in_(matching)).group_by(chosen)).all()
        out["licence"] = dict(sorted(((k, n) for k, n in rows), key=lambda kv: (-kv[1], kv[0])))
    return out


# --- the whole catalog (metadata exports) ------------------------------------------------

def catalog_page(session: Session, *, page: int, size: int,
                 settings: Settings | None = None) -> DatasetPage:
    """One page of every open dataset in code order (DCAT's paged catalog)."""
    return search_datasets(session, DatasetQuery(sort="name asc", limit=size,
                                                 offset=(page - 1) * size), settings=settings)


def all_datasets(session: Session, *, settings: Settings | None = None,
                 batch: int = MAX_LIMIT) -> Iterator[OpenDataset]:
    """Every open dataset in code order, read a page at a time (data.json)."""
    page = 1
    while True:
        found = catalog_page(session, page=page, size=batch, settings=settings)
        yield from found.items
        if len(found.items) < batch:
            return
        page += 1


# --- departments and coverage ----------------------------------------------------------

def department_datasets(session: Session, department: str, *, limit: int = 20,
                        offset: int = 0, settings: Settings | None = None
                        ) -> tuple[Department, DatasetPage]:
    """A department's open list (开放清单): its open datasets in title order."""
    owner = platform_service.get_department(session, department)
    page = search_datasets(session, DatasetQuery(department=owner.code, limit=limit,
                                                 offset=offset), settings=settings)
    return owner, page


def portal_stats(session: Session, *, settings: Settings | None = None) -> dict[str, Any]:
    """The portal's coverage: open datasets by open type and theme, how many have data and
    how many are overdue, the share of departments publishing an open list against the
    plans' targets (50% 重庆/沈阳, 80% 深圳), and usage totals."""
    settings = settings or get_settings()
    catalog = stats.catalog_stats(session, ANONYMOUS)
    rows = session.execute(
        select(Resource.open_type, Resource.theme, Resource.update_cycle,
               Resource.published_on, DataVersion.loaded_at)
        .outerjoin(DataVersion, (DataVersion.resource_id == Resource.id)
                   & DataVersion.is_current)
        .where(*open_clause())).all()
    by_type: Counter[str] = Counter()
    by_theme: Counter[str] = Counter()
    with_data = overdue = 0
    now = dt.datetime.now(dt.UTC)
    for open_type, theme, cycle, published_on, loaded_at in rows:
        by_type[open_type] += 1
        if theme:
            by_theme[theme] += 1
        with_data += loaded_at is not None
        overdue += is_overdue(cycle, published_on, loaded_at, settings, now)
    totals = usage_totals(session)
    return {
        "datasets": {"total": len(rows), "by_open_type": dict(sorted(by_type.items())),
                     "by_theme": dict(sorted(by_theme.items(), key=lambda kv: (-kv[1], kv[0]))),
                     "with_data": with_data, "overdue": overdue},
        "departments": catalog["departments"],
        "usage": totals,
    }


def most_used(session: Session, *, limit: int = 6, settings: Settings | None = None
              ) -> list[OpenDataset]:
    """The open datasets used most (views, record queries and downloads together)."""
    settings = settings or get_settings()
    used = Usage.views + Usage.record_queries + Usage.downloads
    resources = session.scalars(
        select(Resource).join(Usage, Usage.resource_id == Resource.id).where(*open_clause())
        .order_by(used.desc(), Resource.code).limit(limit))
    return describe(session, list(resources), settings)


def usage_totals(session: Session) -> dict[str, int]:
    row = session.execute(select(func.coalesce(func.sum(Usage.views), 0),
                                 func.coalesce(func.sum(Usage.record_queries), 0),
                                 func.coalesce(func.sum(Usage.downloads), 0))
                          .join(Resource, Resource.id == Usage.resource_id)
                          .where(*open_clause())).one()
    return {"views": int(row[0]), "record_queries": int(row[1]), "downloads": int(row[2])}
