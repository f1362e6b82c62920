"""CKAN's write actions for department stewards (CONTRACTS.md §2), through the catalog's
and the datastore's services: a package created here is a catalog resource, checked by the
catalog's rules and audited like any other.

- ``package_create``: the package dict's ``title``, ``notes``, tags and the guide's fields
  (top-level keys or ``extras``, as ``package_show`` writes them), ``data_items``; ``name``,
  when given, is the resource code (``211001-000001``, what another instance of ours
  dumped), else the platform assigns one. Published at once unless ``private`` or
  ``state: draft``. ``license_id`` and coverage go to the open attributes; resources with
  a URL become links (a ``datastore`` resource describes another portal's data and is
  left out: load the data itself with ``resource_create``/``datastore_create``).
- ``package_update`` / ``package_patch``: the fields given change (update also replaces
  the links); ``state: deleted`` retires; ``private: false`` publishes a draft.
- ``package_delete``: retires (the code stays reserved).
- ``resource_create``: with an ``upload`` (CSV, XLSX, JSON) the dataset's new data
  version; with a ``url`` a link.
- ``datastore_create``: ``records`` become the dataset's new data version.
- ``datastore_upsert``: ``insert`` appends ``records``; ``update``/``upsert`` replace the
  rows named by ``_id`` (``upsert`` appends records without one); one new version.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from govdata.catalog import service as catalog_service
from govdata.catalog.datastore import plan_export, stream_export
from govdata.catalog.datastore import service as datastore_service
from govdata.catalog.models import Resource
from govdata.openportal import publishing
from govdata.openportal.ckan import packages
from govdata.openportal.ckan.context import ActionContext, as_bool, required_text
from govdata.openportal.ckan.errors import AuthorizationError, NotFoundError, ValidationError
from govdata.openportal.ckan.read import find_resource, show_package
from govdata.openportal.identifiers import datastore_resource_id, resource_id_of_datastore
from govdata.openportal.publishing import LINKS_ACTION
from govdata.openportal.service import code_of
from govdata.platform.models import Department
from govdata.platform.principal import ANONYMOUS
from govdata.platform.uploaddir import process_dir

UPSERT_METHODS = ("upsert", "insert", "update")
MAX_UPSERT_ROWS = 200_000  # an upsert rewrites the table as a new version


def require_token(ctx: ActionContext) -> None:
    if ctx.principal == ANONYMOUS:
        reason = f" ({ctx.token_problem})" if ctx.token_problem else ""
        raise AuthorizationError(f"需要数据管理员的令牌 (a steward's token is required){reason}")


def _owner(ctx: ActionContext, data: Mapping[str, Any]) -> str | None:
    """The department code a package names: ``owner_org`` (id or code), else the
    ``organization``'s name (a dump from another instance, whose ids differ)."""
    refs = [data.get("owner_org")]
    organization = data.get("organization")
    if isinstance(organization, Mapping):
        refs.append(organization.get("name"))
    refs = [str(ref) for ref in refs if ref]
    if not refs:
        return None
    for ref in refs:
        code = ctx.session.scalar(select(Department.code).where(
            or_(Department.id == ref, Department.code == ref)))
        if code:
            return code
    raise ValidationError({"owner_org": [f"Organization does not exist: {refs[0]}"]})


def _publish_requested(data: Mapping[str, Any]) -> bool:
    return not as_bool(data, "private", False) and data.get("state") not in ("draft",)


def package_create(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    require_token(ctx)
    code = None
    if data.get("name"):
        code = code_of(str(data["name"]))
        if code is None:
            raise ValidationError({"name": [
                "name 是信息资源代码 (如 211001-000001), 由平台分配: 省略 name, "
                "或给出一个未用过的代码 (the name is the resource code)"]})
    resource = catalog_service.create_resource(
        ctx.session, ctx.principal, fields=packages.catalog_fields(data),
        department=_owner(ctx, data), code=code, settings=ctx.settings)
    _open_side(ctx, resource, data, replace_links=True)
    if _publish_requested(data):
        catalog_service.publish_resource(ctx.session, ctx.principal, code=resource.code,
                                         settings=ctx.settings)
    return show_package(ctx, resource.id)


def _open_side(ctx: ActionContext, resource: Resource, data: Mapping[str, Any], *,
               replace_links: bool) -> None:
    attributes = packages.open_fields(data)
    if attributes:
        publishing.update_open_metadata(ctx.session, ctx.principal, code=resource.code,
                                        changes=attributes)
    links = packages.link_inputs(data)
    if links is not None or replace_links:
        publishing.replace_links(ctx.session, ctx.principal, code=resource.code,
                                 links=links or [])


def _change(ctx: ActionContext, data: Mapping[str, Any], *, replace_links: bool
            ) -> dict[str, Any]:
    require_token(ctx)
    resource, _, _ = find_resource(ctx, required_text(data, "id", "name"))
    catalog_service.require_steward_of(ctx.session, ctx.principal, resource,
                                       action="catalog.resource.update")
    owner = _owner(ctx, data)
    if owner is not None and owner != resource.department.code:
        raise ValidationError({"owner_org": ["不能改变信息资源的提供方部门 (owner cannot change)"]})
    if data.get("state") == "deleted":
        catalog_service.retire_resource(ctx.session, ctx.principal, code=resource.code)
        return show_package(ctx, resource.id)
    catalog_service.update_resource(ctx.session, ctx.principal, code=resource.code,
                                    changes=packages.catalog_fields(data),
                                    settings=ctx.settings)
    _open_side(ctx, resource, data, replace_links=replace_links)
    wants_public = "private" in data or "state" in data
    if resource.status == "draft" and wants_public and _publish_requested(data):
        catalog_service.publish_resource(ctx.session, ctx.principal, code=resource.code,
                                         settings=ctx.settings)
    return show_package(ctx, resource.id)


def package_update(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    return _change(ctx, data, replace_links=True)


def package_patch(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    return _change(ctx, data, replace_links=False)


def package_delete(ctx: ActionContext, data: Mapping[str, Any]) -> None:
    require_token(ctx)
    resource, _, _ = find_resource(ctx, required_text(data, "id", "name"))
    catalog_service.retire_resource(ctx.session, ctx.principal, code=resource.code)
    return None


# --- data ------------------------------------------------------------------------------

@contextmanager
def _records_file(ctx: ActionContext, records: list[dict[str, Any]]) -> Iterator[Path]:
    directory = process_dir(ctx.settings.upload_dir)
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=directory, encoding="utf-8",
                                     delete=False) as sink:
        json.dump(records, sink, ensure_ascii=False)
    path = Path(sink.name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _load(ctx: ActionContext, resource: Resource, path: Path, *, filename: str | None,
          format: str | None) -> None:
    datastore_service.load_data(ctx.session, ctx.principal, resource.code, path,
                                format=format, filename=filename)


def resource_create(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    require_token(ctx)
    resource, _, _ = find_resource(ctx, required_text(data, "package_id"))
    upload = ctx.files.get("upload")
    catalog_service.require_steward_of(ctx.session, ctx.principal, resource,
                                       action="data.load" if upload else LINKS_ACTION)
    if upload is not None:
        fmt = str(data.get("format") or "").lower() or None
        _load(ctx, resource, upload.path, filename=upload.filename, format=fmt)
        return _resource_entry(ctx, resource, datastore_resource_id(resource.id))
    if not data.get("url"):
        raise ValidationError({"url": ["Missing value: 给出 url, 或用 upload 上传数据文件"]})
    link = publishing.add_link(ctx.session, ctx.principal, code=resource.code, link=data)
    return _resource_entry(ctx, resource, link.id)


def _resource_entry(ctx: ActionContext, resource: Resource, entry_id: str) -> dict[str, Any]:
    for entry in show_package(ctx, resource.id)["resources"]:
        if entry["id"] == entry_id:
            return entry
    raise NotFoundError("Resource was not found.")


def _stewarded_datastore(ctx: ActionContext, data: Mapping[str, Any]) -> Resource:
    require_token(ctx)
    ref = required_text(data, "resource_id", "id")
    resource_id = resource_id_of_datastore(ref)
    resource = ctx.session.get(Resource, resource_id) if resource_id else None
    if resource is None:
        raise NotFoundError(f'Resource "{ref}" was not found.')
    catalog_service.require_steward_of(ctx.session, ctx.principal, resource, action="data.load")
    return resource


def _records(data: Mapping[str, Any], *, required: bool) -> list[dict[str, Any]]:
    records = data.get("records")
    if records is None and not required:
        return []
    if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
        raise ValidationError({"records": ["应为对象的列表 (a list of dicts)"]})
    return [dict(record) for record in records]


def _check_fields(resource: Resource, data: Mapping[str, Any]) -> None:
    """``fields`` of a datastore_create must be data items of the catalog entry: the
    catalog, not the upload, decides the columns."""
    fields = data.get("fields") or []
    names = {item.name for item in resource.items}
    unknown = [f.get("id") for f in fields if isinstance(f, Mapping) and f.get("id") not in names]
    if unknown:
        listed = ", ".join(map(str, unknown))
        raise ValidationError({"fields": [f"不是该信息资源的信息项: {listed}; "
                                          "先用 package_update 修改 data_items"]})


def datastore_create(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    resource = _stewarded_datastore(ctx, data)
    _check_fields(resource, data)
    records = _records(data, required=False)
    with _records_file(ctx, records) as path:
        _load(ctx, resource, path, filename="datastore_create.json", format="json")
    result = {key: value for key, value in data.items() if key not in ("records", "id")}
    result["resource_id"] = datastore_resource_id(resource.id)
    return result


def _current_rows(ctx: ActionContext, resource: Resource) -> list[dict[str, Any]]:
    plan = plan_export(ctx.session, resource, format="json", masks=None)
    if plan.selection.version.row_count > MAX_UPSERT_ROWS:
        raise ValidationError({"records": [
            f"数据超过 {MAX_UPSERT_ROWS} 行, 请用 resource_create 上传完整文件 (table too large "
            "for an upsert)"]})
    return json.loads(b"".join(stream_export(ctx.session.connection(), plan)))


def datastore_upsert(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    resource = _stewarded_datastore(ctx, data)
    method = str(data.get("method") or "upsert")
    if method not in UPSERT_METHODS:
        raise ValidationError({"method": [f"应为 {'|'.join(UPSERT_METHODS)}"]})
    records = _records(data, required=True)
    rows = _current_rows(ctx, resource)
    merged = _merge(rows, records, method)
    with _records_file(ctx, merged) as path:
        _load(ctx, resource, path, filename=f"datastore_{method}.json", format="json")
    result = {key: value for key, value in data.items() if key not in ("records", "id")}
    result.update(resource_id=datastore_resource_id(resource.id), method=method)
    return result


def _merge(rows: list[dict[str, Any]], records: list[dict[str, Any]], method: str
           ) -> list[dict[str, Any]]:
    """The new table: current rows (without ``_id``, which a load numbers again) with the
    records applied."""
    by_id = {row.pop("_id"): row for row in rows}
    appended: list[dict[str, Any]] = []
    problems: list[str] = []
    for index, record in enumerate(records):
        row_id = record.pop("_id", None)
        if method == "insert" or (method == "upsert" and row_id is None):
            appended.append(record)
            continue
        if row_id is None:
            problems.append(f"records[{index}]: update 需要 _id")
            continue
        try:
            key = int(row_id)
        except (TypeError, ValueError):
            problems.append(f"records[{index}]: _id 应为整数")
            continue
        if key not in by_id:
            problems.append(f"records[{index}]: 没有 _id={key} 的行")
            continue
        by_id[key] = {**by_id[key], **record}
    if problems:
        raise ValidationError({"records": problems})
    return [*by_id.values(), *appended]
