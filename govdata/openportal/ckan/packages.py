"""CKAN's dicts for our datasets (package, resource, organization, group, tag), and a
package dict read back into catalog fields (package_create/update).

The catalog entry travels in ``extras`` (CKAN's place for fields it does not know),
sorted by key, values as text: the 2017 guide's fields, the data dictionary
(``data_items``, JSON), coverage, the overdue flag and usage. A dataset's data is one
resource (``url_type`` ``datastore``, id from ``identifiers.datastore_resource_id``) whose
URL downloads it; links to data kept elsewhere follow it. Timestamps are naive UTC ISO
strings, as CKAN writes them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from typing import Any

from govdata.catalog import rules
from govdata.catalog.models import Resource
from govdata.openportal.identifiers import datastore_resource_id
from govdata.openportal.models import Link
from govdata.openportal.service import OpenDataset
from govdata.openportal.vocab import GROUP_THEMES, THEME_GROUPS
from govdata.platform.models import Department

CATALOG_EXTRAS = ("classification", "resource_class", "basic_kind", "theme", "category_path",
                  "format_category", "format", "share_type", "share_condition",
                  "share_method", "legal_basis", "open_type", "open_condition",
                  "update_cycle")
DOWNLOADABLE = ("csv", "json", "xlsx")
GROUP_NAMESPACE = uuid.UUID("6f1c1f7e-3d1b-4c1e-9a51-2b8d7a0c9e11")
MIMETYPES = {"csv": "text/csv", "json": "application/json",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def ckan_time(moment: dt.datetime | None) -> str | None:
    """A UTC timestamp as CKAN shows it: naive ISO 8601."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat()


def organization_dict(department: Department, *, package_count: int | None = None
                      ) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": department.id, "name": department.code, "title": department.name,
        "display_name": department.name, "type": "organization", "is_organization": True,
        "description": department.short_name or "", "image_url": "",
        "image_display_url": "", "created": ckan_time(department.created_at),
        "approval_status": "approved", "state": "active",
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def group_id(name: str) -> str:
    return str(uuid.uuid5(GROUP_NAMESPACE, name))


def group_dict(name: str, *, package_count: int | None = None) -> dict[str, Any]:
    theme = GROUP_THEMES[name]
    out: dict[str, Any] = {
        "id": group_id(name), "name": name, "title": theme, "display_name": theme,
        "type": "group", "is_organization": False, "description": f"主题: {theme}",
        "image_url": "", "image_display_url": "", "approval_status": "approved",
        "state": "active",
    }
    if package_count is not None:
        out["package_count"] = package_count
    return out


def tag_dict(tag: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid5(GROUP_NAMESPACE, f"tag:{tag}")), "name": tag,
            "display_name": tag, "state": "active", "vocabulary_id": None}


def datastore_resource(dataset: OpenDataset, base_url: str) -> dict[str, Any]:
    r, data = dataset.resource, dataset.data
    fmt = r.format if r.format in DOWNLOADABLE else "csv"
    loaded = ckan_time(data.loaded_at) if data else None
    return {
        "id": datastore_resource_id(r.id), "package_id": r.id, "position": 0,
        "name": f"{r.name} ({fmt.upper()})", "description": r.summary,
        "url": f"{base_url}/api/v1/open/datasets/{dataset.name}/download?format={fmt}",
        "format": fmt.upper(), "mimetype": MIMETYPES[fmt], "url_type": "datastore",
        "datastore_active": True, "state": "active", "created": loaded,
        "last_modified": loaded, "metadata_modified": loaded, "size": None, "hash": "",
        "resource_type": None, "mimetype_inner": None, "cache_url": None,
        "cache_last_updated": None, "rows": data.row_count if data else None,
    }


def link_resource(link: Link, package_id: str, position: int) -> dict[str, Any]:
    return {
        "id": link.id, "package_id": package_id, "position": position, "name": link.name,
        "description": link.description or "", "url": link.url,
        "format": link.format or "", "mimetype": None, "url_type": None,
        "datastore_active": False, "state": "active", "created": ckan_time(link.created_at),
        "last_modified": None, "metadata_modified": ckan_time(link.created_at), "size": None,
        "hash": "", "resource_type": None, "mimetype_inner": None, "cache_url": None,
        "cache_last_updated": None,
    }


def resources_of(dataset: OpenDataset, base_url: str) -> list[dict[str, Any]]:
    out = [datastore_resource(dataset, base_url)] if dataset.data else []
    out += [link_resource(link, dataset.resource.id, len(out) + index)
            for index, link in enumerate(dataset.links)]
    return out


def _item_extra(dataset: OpenDataset) -> str:
    items = [{key: getattr(item, key) for key in rules.ITEM_FIELDS} for item in dataset.items]
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def extras_of(dataset: OpenDataset) -> list[dict[str, str]]:
    r = dataset.resource
    values: dict[str, Any] = {key: getattr(r, key) for key in CATALOG_EXTRAS}
    start, end = dataset.temporal
    values.update({
        "code": r.code, "published_on": r.published_on.isoformat() if r.published_on else None,
        "related_codes": json.dumps(list(r.related_codes or []), ensure_ascii=False)
        if r.related_codes else None,
        "data_items": _item_extra(dataset), "spatial": dataset.spatial,
        "temporal_start": start.isoformat() if start else None,
        "temporal_end": end.isoformat() if end else None,
        "overdue": "true" if dataset.overdue else "false",
        "data_updated_at": ckan_time(dataset.data_updated_at),
        "data_access": dataset.data_access,
        "usage_views": dataset.usage["views"],
        "usage_record_queries": dataset.usage["record_queries"],
        "usage_downloads": dataset.usage["downloads"],
    })
    return [{"key": key, "value": str(value)} for key, value in sorted(values.items())
            if value is not None]


def package_dict(dataset: OpenDataset, base_url: str, *, state: str = "active",
                 private: bool = False) -> dict[str, Any]:
    r = dataset.resource
    tags = [tag_dict(tag) for tag in r.tags or []]
    groups = [group_dict(dataset.group)] if dataset.group else []
    resources = resources_of(dataset, base_url)
    licence = dataset.licence
    return {
        "id": r.id, "name": dataset.name, "title": r.name, "notes": r.summary,
        "type": "dataset", "state": state, "private": private,
        "owner_org": r.department.id, "organization": organization_dict(r.department),
        "author": r.department.name, "author_email": None,
        "maintainer": r.department.name, "maintainer_email": None,
        "license_id": licence.id, "license_title": licence.title, "license_url": licence.url,
        "isopen": True, "url": f"{base_url}/dataset/{dataset.name}", "version": str(r.version),
        "tags": tags, "num_tags": len(tags), "groups": groups, "extras": extras_of(dataset),
        "resources": resources, "num_resources": len(resources),
        "metadata_created": ckan_time(r.created_at),
        "metadata_modified": ckan_time(dataset.modified_at),
        "creator_user_id": None, "relationships_as_object": [],
        "relationships_as_subject": [],
        "tracking_summary": {"total": dataset.usage["views"], "recent": 0},
    }


def state_of(resource: Resource) -> tuple[str, bool]:
    """CKAN's ``state`` and ``private`` for a resource shown to its own stewards."""
    if resource.status == "retired":
        return "deleted", True
    if resource.status == "draft":
        return "draft", True
    return "active", resource.open_type not in ("unconditional", "conditional")


# --- a package dict as catalog fields --------------------------------------------------

def _extras(data: Mapping[str, Any]) -> dict[str, Any]:
    extras = data.get("extras") or []
    if not isinstance(extras, list):
        return {}
    return {str(e.get("key")): e.get("value") for e in extras
            if isinstance(e, Mapping) and e.get("key") is not None}


def _json_list(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def catalog_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog fields a package dict carries: ``title``→name, ``notes``→summary,
    tags, and the guide's fields from top-level keys or ``extras`` (top level wins).
    Only what is present is returned (an update changes only those)."""
    extras = _extras(data)
    source = {**extras, **{k: v for k, v in data.items() if k != "extras"}}
    fields: dict[str, Any] = {}
    if "title" in data:
        fields["name"] = data["title"]
    if "notes" in data:
        fields["summary"] = data["notes"]
    for key in CATALOG_EXTRAS:
        if key in source:
            fields[key] = source[key]
    if "published_on" in source:
        fields["published_on"] = _date(source["published_on"])
    if "related_codes" in source:
        fields["related_codes"] = _json_list(source["related_codes"]) or []
    if "tags" in data:
        tags = data["tags"] or []
        fields["tags"] = [tag.get("name") if isinstance(tag, Mapping) else tag for tag in tags] \
            if isinstance(tags, list) else tags
    if "data_items" in source:
        fields["items"] = _json_list(source["data_items"])
    theme = source.get("theme")
    if not theme and isinstance(data.get("groups"), list) and data["groups"]:
        first = data["groups"][0]
        name = first.get("name") if isinstance(first, Mapping) else first
        if name in GROUP_THEMES or name in THEME_GROUPS:
            fields["theme"] = GROUP_THEMES.get(name, name)
    return fields


def _date(value: Any) -> Any:
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value or None


def open_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The open attributes a package dict carries (licence, coverage)."""
    extras = _extras(data)
    out: dict[str, Any] = {}
    if "license_id" in data:
        out["licence"] = data["license_id"] or None
    for key in ("temporal_start", "temporal_end", "spatial"):
        if key in data or key in extras:
            out[key] = data.get(key, extras.get(key))
    return out


def link_inputs(data: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The resources of a package dict kept as links; ``None`` if the dict has none. A
    ``datastore`` resource describes another portal's datastore and is not a link."""
    resources = data.get("resources")
    if resources is None:
        return None
    if not isinstance(resources, list):
        return []
    return [dict(r) for r in resources
            if isinstance(r, Mapping) and r.get("url_type") != "datastore"]
