"""CKAN's read actions over open datasets (CONTRACTS.md §2). Anonymous callers see open
datasets only; a department's stewards (and administrators) also find their own other
resources with ``package_show`` (``private``, ``state`` draft or deleted), as CKAN shows
organization members their private datasets, so that ``ckanapi load`` can update them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, or_, select

from govdata.catalog import access
from govdata.catalog.models import Resource
from govdata.openportal import service
from govdata.openportal.ckan import packages
from govdata.openportal.ckan.context import ActionContext, as_bool, as_int, required_text
from govdata.openportal.ckan.errors import NotFoundError
from govdata.openportal.ckan.search import Nothing, dataset_query, facets_out
from govdata.openportal.identifiers import resource_id_of_datastore
from govdata.openportal.models import Link
from govdata.openportal.vocab import GROUP_THEMES, LICENCES, THEME_GROUPS
from govdata.platform.models import Department

CKAN_VERSION = "2.11.0"
MAX_LIST = 1000
ORGANIZATION_ALL_FIELDS_MAX = 25


def status_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"site_title": ctx.settings.portal_title,
            "site_description": ctx.settings.portal_description, "site_url": ctx.base_url,
            "ckan_version": CKAN_VERSION, "error_emails_to": None,
            "locale_default": "zh_Hans_CN", "extensions": ["datastore"]}


# --- datasets --------------------------------------------------------------------------

def find_resource(ctx: ActionContext, ref: str) -> tuple[Resource, str, bool]:
    """The resource a package reference (name or id) names, with the CKAN state and
    private flag it is shown with; NotFound unless it is open or the caller stewards it."""
    code = service.code_of(ref)
    column = Resource.code if code else Resource.id
    resource = ctx.session.scalar(select(Resource).where(column == (code or ref)))
    if resource is not None:
        if resource.status == "published" and resource.open_type in ("unconditional",
                                                                      "conditional"):
            return resource, "active", False
        if access.may_write_for(ctx.principal, resource.department):
            state, private = packages.state_of(resource)
            return resource, state, private
    raise NotFoundError("Dataset not found")


def show_package(ctx: ActionContext, ref: str) -> dict[str, Any]:
    resource, state, private = find_resource(ctx, ref)
    dataset = service.describe(ctx.session, [resource], ctx.settings)[0]
    return packages.package_dict(dataset, ctx.base_url, state=state, private=private)


def package_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    return show_package(ctx, required_text(data, "id", "name"))


def package_list(ctx: ActionContext, data: Mapping[str, Any]) -> list[str]:
    """Every open dataset's name, sorted (one narrow query; ``limit``/``offset`` page it)."""
    limit = as_int(data, "limit", None)
    offset = as_int(data, "offset", 0) or 0
    statement = (select(Resource.code).where(*service.open_clause())
                 .order_by(Resource.code).offset(offset))
    if limit is not None:
        statement = statement.limit(limit)
    return [service.dataset_name(code) for code in ctx.session.scalars(statement)]


def _packages(ctx: ActionContext, page: service.DatasetPage) -> list[dict[str, Any]]:
    return [packages.package_dict(d, ctx.base_url) for d in page.items]


def current_package_list_with_resources(ctx: ActionContext, data: Mapping[str, Any]
                                        ) -> list[dict[str, Any]]:
    """The most recently modified open datasets (default 10, at most 1000)."""
    limit = min(as_int(data, "limit", 10) or 0, MAX_LIST)
    offset = as_int(data, "offset", 0) or 0
    page = service.search_datasets(ctx.session, service.DatasetQuery(
        sort="modified desc", limit=limit, offset=offset), settings=ctx.settings)
    return _packages(ctx, page)


def package_search(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        query, sort = dataset_query(ctx, data)
    except Nothing:
        plain, detailed = facets_out(ctx.session, data, {})
        return {"count": 0, "results": [], "facets": plain, "search_facets": detailed,
                "sort": str(data.get("sort") or "score desc, metadata_modified desc")}
    page = service.search_datasets(ctx.session, query, settings=ctx.settings)
    plain, detailed = facets_out(ctx.session, data, page.facets)
    results = _packages(ctx, page)
    fields = data.get("fl")
    if fields and fields not in ("*", "id"):
        wanted = [f.strip() for f in str(fields).replace(",", " ").split()]
        results = [{key: result.get(key) for key in wanted} for result in results]
    return {"count": page.total, "results": results, "facets": plain,
            "search_facets": detailed, "sort": sort}


def resource_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    ref = required_text(data, "id")
    resource_id = resource_id_of_datastore(ref)
    link = None
    if resource_id is not None and ctx.session.get(Resource, resource_id) is None:
        link = ctx.session.get(Link, ref)
        resource_id = link.resource_id if link else None
    if resource_id is None:
        raise NotFoundError("Resource was not found.")
    package = show_package(ctx, resource_id)
    for entry in package["resources"]:
        if entry["id"] == ref:
            return entry
    raise NotFoundError("Resource was not found.")


# --- organizations, groups, tags, licences ---------------------------------------------

def _dataset_counts(ctx: ActionContext) -> dict[str, int]:
    rows = ctx.session.execute(select(Resource.department_id, func.count())
                               .where(*service.open_clause())
                               .group_by(Resource.department_id)).all()
    return dict(rows)


def organization_list(ctx: ActionContext, data: Mapping[str, Any]) -> list[Any]:
    all_fields = as_bool(data, "all_fields", False)
    cap = ORGANIZATION_ALL_FIELDS_MAX if all_fields else MAX_LIST
    limit = min(as_int(data, "limit", cap) or 0, cap)
    offset = as_int(data, "offset", 0) or 0
    sort = str(data.get("sort") or "name asc").split()
    counts = _dataset_counts(ctx)
    departments = list(ctx.session.scalars(select(Department)))
    key = {"title": lambda d: d.name, "package_count": lambda d: counts.get(d.id, 0)}.get(
        sort[0], lambda d: d.code)
    departments.sort(key=key, reverse=len(sort) > 1 and sort[1].lower() == "desc")
    wanted = data.get("organizations")
    if isinstance(wanted, list):
        departments = [d for d in departments if d.code in wanted or d.id in wanted]
    departments = departments[offset:offset + limit]
    if not all_fields:
        return [d.code for d in departments]
    return [packages.organization_dict(d, package_count=counts.get(d.id, 0))
            for d in departments]


def organization_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    ref = required_text(data, "id")
    department = ctx.session.scalar(select(Department).where(
        or_(Department.id == ref, Department.code == ref)))
    if department is None:
        raise NotFoundError("Organization was not found.")
    out = packages.organization_dict(department,
                                     package_count=_dataset_counts(ctx).get(department.id, 0))
    out["extras"] = [{"key": "division_code", "value": department.division_code},
                     {"key": "uscc", "value": department.uscc}]
    out["users"] = []
    if as_bool(data, "include_datasets", False):
        page = service.search_datasets(ctx.session, service.DatasetQuery(
            department=department.code, limit=10), settings=ctx.settings)
        out["packages"] = _packages(ctx, page)
    return out


def _theme_counts(ctx: ActionContext) -> Counter[str]:
    rows = ctx.session.execute(select(Resource.theme, func.count())
                               .where(*service.open_clause(), Resource.theme.is_not(None))
                               .group_by(Resource.theme)).all()
    return Counter({THEME_GROUPS[theme]: count for theme, count in rows
                    if theme in THEME_GROUPS})


def group_list(ctx: ActionContext, data: Mapping[str, Any]) -> list[Any]:
    """The themes (主题) as groups."""
    counts = _theme_counts(ctx)
    names = sorted(GROUP_THEMES)
    if as_bool(data, "all_fields", False):
        return [packages.group_dict(name, package_count=counts.get(name, 0)) for name in names]
    return names


def group_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    ref = required_text(data, "id")
    name = next((n for n in GROUP_THEMES if ref in (n, packages.group_id(n))), None)
    name = name or THEME_GROUPS.get(ref)
    if name is None:
        raise NotFoundError("Group was not found.")
    return packages.group_dict(name, package_count=_theme_counts(ctx).get(name, 0))


def open_tags(ctx: ActionContext) -> Counter[str]:
    counter: Counter[str] = Counter()
    for tags in ctx.session.scalars(select(Resource.tags).where(*service.open_clause())):
        counter.update(set(tags or []))
    return counter


def tag_list(ctx: ActionContext, data: Mapping[str, Any]) -> list[Any]:
    """Tags of open datasets, sorted (``query``: containing this text; at most 1000)."""
    needle = str(data.get("query") or "")
    names = sorted(tag for tag in open_tags(ctx) if needle in tag)
    offset = as_int(data, "offset", 0) or 0
    limit = min(as_int(data, "limit", MAX_LIST) or 0, MAX_LIST)
    names = names[offset:offset + limit]
    if as_bool(data, "all_fields", False):
        return [packages.tag_dict(name) for name in names]
    return names


def tag_show(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    ref = required_text(data, "id")
    if ref not in open_tags(ctx):
        raise NotFoundError("Could not find tag")
    return packages.tag_dict(ref)


def license_list(ctx: ActionContext, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [licence.as_ckan() for licence in LICENCES.values()]
