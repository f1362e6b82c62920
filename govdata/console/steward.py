"""The steward's pages: the department's resources, the resource form, publish and retire,
data uploads with their bad-row report, catalog import/export and the department's lists."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from govdata.catalog import api as _catalog_api  # noqa: F401 - registers the rcode convertor
from govdata.catalog import lists, search, service, transfer
from govdata.catalog.api import MEDIA
from govdata.catalog.datastore import service as datastore
from govdata.console import resource_form, views
from govdata.console.auth import Steward
from govdata.console.views import PAGE_SIZE, Pager
from govdata.platform.deps import SessionDep, SettingsDep
from govdata.platform.errors import DomainError, PayloadTooLarge, RuleViolation
from govdata.platform.web import csrf_protect, form_errors

router = APIRouter(prefix="/console", include_in_schema=False,
                   dependencies=[Depends(csrf_protect)])
RESOURCE = "/resources/{code:rcode}"
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("/resources")
def resources(request: Request, session: SessionDep, principal: Steward,
              q: str | None = None, status: str | None = None, offset: Offset = 0):
    result = search.search_resources(session, principal, q=q or None,
                                     department=principal.department,
                                     status=status or None, limit=PAGE_SIZE, offset=offset)
    return views.page(request, principal, "resources.html", {
        "hits": [resource for resource, _ in result.hits], "filters": {"q": q or "",
                                                                       "status": status or ""},
        "pager": Pager(result.total, offset), "facets": result.facets})


def _form_page(request: Request, principal, values, errors, *, code: str | None = None,
               status: int = 200):
    return views.page(request, principal, "resource_form.html", {
        "values": values, "errors": errors, "code": code, "choices": resource_form.CHOICES},
        status=status)


@router.get("/resources/new")
def new_resource(request: Request, principal: Steward):
    values = resource_form.with_blank_rows({"open_type": "none"})
    return _form_page(request, principal, values, {})


async def _submitted(request: Request) -> tuple[dict, bool]:
    form = await request.form()
    values = resource_form.read_values(form)
    return values, form.get("action") == "add_item"


def _save(request: Request, session, principal, values: dict, save, *,
          code: str | None = None):
    """Parse with the API's schema, then call the service; refusals go next to fields."""
    try:
        parsed = resource_form.parse(values)
        with session.begin_nested():
            return save(parsed)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status not in (409, 422):
            raise
        errors = form_errors(exc)
        return _form_page(request, principal, resource_form.with_blank_rows(values, 1),
                          errors, code=code, status=422)


@router.post("/resources/new")
async def create_resource(request: Request, session: SessionDep, principal: Steward,
                          settings: SettingsDep):
    values, add_row = await _submitted(request)
    if add_row:
        return _form_page(request, principal, resource_form.with_blank_rows(values), {})

    def save(parsed):
        created = service.create_resource(session, principal, fields=parsed.fields(),
                                          settings=settings)
        return views.done(f"/console/resources/{created.code}",
                          f"已登记 {created.name} ({created.code}), 状态: 草稿")

    return await run_in_threadpool(_save, request, session, principal, values, save)


@router.get(RESOURCE)
def resource_page(request: Request, code: str, session: SessionDep, principal: Steward):
    return _resource_page(request, session, principal, code)


def _resource_page(request, session, principal, code: str, *, bad_rows=None,
                   upload_error: str | None = None, status: int = 200):
    resource = service.get_resource(session, principal, code)
    versions = datastore.list_versions(session, principal, code)
    preview = (datastore.read_data(session, principal, code, limit=10, offset=0)
               if versions else None)
    return views.page(request, principal, "resource.html", {
        "resource": resource, "preview": preview, "versions": versions or [],
        "bad_rows": bad_rows, "upload_error": upload_error, "labels": resource_form.CHOICES},
        status=status)


@router.get(RESOURCE + "/edit")
def edit_resource(request: Request, code: str, session: SessionDep, principal: Steward):
    resource = service.get_resource(session, principal, code)
    service.require_steward_of(session, principal, resource, action="catalog.update")
    values = resource_form.with_blank_rows(resource_form.from_resource(resource), 1)
    return _form_page(request, principal, values, {}, code=code)


@router.post(RESOURCE + "/edit")
async def update_resource(request: Request, code: str, session: SessionDep,
                          principal: Steward, settings: SettingsDep):
    # who may change it is checked before the form is read: a resource the principal may
    # not see is 404 and one it may not change 403, whatever was posted (as on GET)
    resource = await run_in_threadpool(service.get_resource, session, principal, code)
    await run_in_threadpool(service.require_steward_of, session, principal, resource,
                            action="catalog.update")
    values, add_row = await _submitted(request)
    if add_row:
        return _form_page(request, principal, resource_form.with_blank_rows(values), {},
                          code=code)

    def save(parsed):
        service.update_resource(session, principal, code=code, settings=settings,
                                changes=parsed.fields())
        return views.done(f"/console/resources/{code}", "已保存修改")

    return await run_in_threadpool(_save, request, session, principal, values, save, code=code)


@router.post(RESOURCE + "/publish")
def publish(code: str, session: SessionDep, principal: Steward, settings: SettingsDep):
    resource = service.publish_resource(session, principal, code=code, settings=settings)
    return views.done(f"/console/resources/{code}", f"已发布 {resource.name}")


@router.post(RESOURCE + "/retire")
def retire(code: str, session: SessionDep, principal: Steward,
           reason: Annotated[str, Form()] = ""):
    resource = service.retire_resource(session, principal, code=code,
                                       reason=reason.strip() or None)
    return views.done(f"/console/resources/{code}", f"已停用 {resource.name}")


def _spool(upload: UploadFile, directory: str, limit: int) -> Path:
    """The form's file to a temporary file under the upload directory, at most ``limit``."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="console-", dir=directory)
    with open(handle, "wb") as sink:
        upload.file.seek(0)
        shutil.copyfileobj(upload.file, sink, 1 << 20)
        size = sink.tell()
    if size > limit:
        Path(name).unlink(missing_ok=True)
        raise PayloadTooLarge(f"上传文件超过 {limit} 字节的上限", code="upload_too_large")
    return Path(name)


def _load(session, principal, code: str, path: Path, upload: UploadFile):
    with session.begin_nested():
        return datastore.load_data(session, principal, code, path, filename=upload.filename,
                                   content_type=upload.content_type)


@router.post(RESOURCE + "/data")
async def upload_data(request: Request, code: str, session: SessionDep, principal: Steward,
                      settings: SettingsDep):
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await run_in_threadpool(_resource_page, request, session, principal, code,
                                       upload_error="请选择要上传的文件", status=422)
    path = await run_in_threadpool(_spool, upload, settings.upload_dir,
                                   settings.upload_max_bytes)
    try:
        version = await run_in_threadpool(_load, session, principal, code, path, upload)
    except RuleViolation as refusal:
        rows = [e for e in refusal.errors or [] if "reason" in e]
        return await run_in_threadpool(_resource_page, request, session, principal, code,
                                       bad_rows=rows, upload_error=refusal.detail, status=422)
    finally:
        path.unlink(missing_ok=True)
    return views.done(f"/console/resources/{code}",
                      f"已加载第 {version.version} 版数据, 共 {version.row_count} 行")


@router.get("/catalog-transfer")
def catalog_transfer(request: Request, principal: Steward):
    return views.page(request, principal, "catalog_transfer.html", {"report": None})


@router.get("/catalog-transfer/export")
def export_catalog(session: SessionDep, principal: Steward,
                   format: Annotated[str, Query(pattern="^(csv|xlsx|json)$")] = "csv"):
    chunks = transfer.export_catalog(session, principal, format=format,
                                     department=principal.department)
    name = f"catalog-{principal.department}.{format}"
    return Response(b"".join(chunks), media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _import(session, principal, data: bytes, filename: str, settings):
    with session.begin_nested():
        return transfer.import_catalog(session, principal, data=data, filename=filename,
                                       settings=settings)


@router.post("/catalog-transfer/import")
async def import_catalog(request: Request, session: SessionDep, principal: Steward,
                         settings: SettingsDep):
    upload = (await request.form()).get("file")
    report = errors = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors = [{"msg": "请选择要导入的目录文件"}]
    else:
        data = await upload.read(settings.catalog_import_max_bytes + 1)
        if len(data) > settings.catalog_import_max_bytes:
            raise PayloadTooLarge("目录文件过大", code="upload_too_large")
        try:
            report = await run_in_threadpool(_import, session, principal, data,
                                             upload.filename, settings)
        except RuleViolation as refusal:
            errors = refusal.errors or [{"msg": refusal.detail}]
    return views.page(request, principal, "catalog_transfer.html",
                      {"report": report, "import_errors": errors},
                      status=422 if errors else 200)


LISTS = {"share": ("共享清单", lists.share_list), "open": ("开放清单", lists.open_list)}


@router.get("/lists")
def department_lists(request: Request, session: SessionDep, principal: Steward,
                     kind: Annotated[str, Query(pattern="^(share|open|negative)$")] = "share",
                     offset: Offset = 0):
    if kind == "negative":
        entries, total = lists.negative_list(session, principal,
                                             department=principal.department,
                                             limit=PAGE_SIZE, offset=offset)
        title = "负面清单 (不予共享)"
    else:
        title, read = LISTS[kind]
        entries, total = read(session, principal, department=principal.department,
                              limit=PAGE_SIZE, offset=offset)
    return views.page(request, principal, "lists.html", {
        "kind": kind, "title": title, "entries": entries, "pager": Pager(total, offset)})
