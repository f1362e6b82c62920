"""HTTP routes of the catalog (CONTRACTS.md §1). Each parses, calls one service function
and shapes the answer.

A resource code holds a ``/`` (``301001/000001``); routes take it through the ``rcode``
path convertor, which matches exactly a code, so ``…/publish``, ``…/retire``, ``…/history``
and other parts' suffixes such as ``…/data`` route whatever the order of declaration.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from govdata.catalog import lists, search, service, stats, transfer
from govdata.catalog.datastore import upload
from govdata.catalog.schemas import (
    ResourceIn,
    ResourceOut,
    ResourcePatch,
    ResourceQuery,
    ResourceSummaryOut,
    RetireIn,
    SearchPage,
    VersionOut,
    resource_out,
    summary_out,
    version_out,
)
from govdata.platform.deps import CurrentPrincipal, Limit, Offset, SessionDep, SettingsDep
from govdata.platform.schemas import Page


class ResourceCodeConvertor(Convertor[str]):
    regex = r"[0-9]{6,16}/[0-9]{6,}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("rcode", ResourceCodeConvertor())

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])
RESOURCE = "/resources/{code:rcode}"
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "json": "application/json"}


@router.get("/resources", response_model=SearchPage)
def search_resources(session: SessionDep, principal: CurrentPrincipal,
                     query: Annotated[ResourceQuery, Query()]) -> SearchPage:
    result = search.search_resources(session, principal, **query.model_dump())
    return SearchPage(items=[summary_out(r, score) for r, score in result.hits],
                      total=result.total, limit=query.limit, offset=query.offset,
                      facets=result.facets)


@router.post("/resources", response_model=ResourceOut, status_code=201)
def create_resource(body: ResourceIn, session: SessionDep, principal: CurrentPrincipal,
                    settings: SettingsDep) -> ResourceOut:
    resource = service.create_resource(session, principal, fields=body.fields(),
                                       department=body.department, settings=settings)
    return resource_out(resource)


@router.get(RESOURCE + "/history", response_model=Page[VersionOut])
def resource_history(code: str, session: SessionDep, principal: CurrentPrincipal,
                     limit: Limit = 20, offset: Offset = 0) -> Page[VersionOut]:
    rows, total = service.history(session, principal, code=code, limit=limit, offset=offset)
    return Page(items=[version_out(v) for v in rows], total=total, limit=limit, offset=offset)


@router.post(RESOURCE + "/publish", response_model=ResourceOut)
def publish_resource(code: str, session: SessionDep, principal: CurrentPrincipal,
                     settings: SettingsDep) -> ResourceOut:
    return resource_out(service.publish_resource(session, principal, code=code,
                                                 settings=settings))


@router.post(RESOURCE + "/retire", response_model=ResourceOut)
def retire_resource(code: str, session: SessionDep, principal: CurrentPrincipal,
                    body: RetireIn | None = None) -> ResourceOut:
    return resource_out(service.retire_resource(session, principal, code=code,
                                                reason=body.reason if body else None))


@router.get(RESOURCE, response_model=ResourceOut)
def get_resource(code: str, session: SessionDep, principal: CurrentPrincipal) -> ResourceOut:
    return resource_out(service.get_resource(session, principal, code))


@router.patch(RESOURCE, response_model=ResourceOut)
def update_resource(code: str, body: ResourcePatch, session: SessionDep,
                    principal: CurrentPrincipal, settings: SettingsDep) -> ResourceOut:
    return resource_out(service.update_resource(session, principal, code=code,
                                                changes=body.changes(), settings=settings))


class NegativeItemOut(BaseModel):
    name: str
    title: str


class NegativeEntryOut(ResourceSummaryOut):
    legal_basis: str | None
    data_items: list[NegativeItemOut]


class ListEntryOut(ResourceSummaryOut):
    share_condition: str | None
    share_method: str
    open_condition: str | None


@router.get("/negative-list", response_model=Page[NegativeEntryOut])
def negative_list(session: SessionDep, principal: CurrentPrincipal,
                  department: str | None = None, limit: Limit = 20,
                  offset: Offset = 0) -> Page[NegativeEntryOut]:
    entries, total = lists.negative_list(session, principal, department=department,
                                         limit=limit, offset=offset)
    items = [NegativeEntryOut(**summary_out(e.resource).model_dump(),
                              legal_basis=e.resource.legal_basis,
                              data_items=[NegativeItemOut(name=i.name, title=i.title)
                                          for i in e.items])
             for e in entries]
    return Page(items=items, total=total, limit=limit, offset=offset)


def _list_page(rows, total: int, limit: int, offset: int) -> Page[ListEntryOut]:
    items = [ListEntryOut(**summary_out(r).model_dump(), share_condition=r.share_condition,
                          share_method=r.share_method, open_condition=r.open_condition)
             for r in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/departments/{department}/share-list", response_model=Page[ListEntryOut])
def share_list(department: str, session: SessionDep, principal: CurrentPrincipal,
               limit: Limit = 20, offset: Offset = 0) -> Page[ListEntryOut]:
    rows, total = lists.share_list(session, principal, department=department, limit=limit,
                                   offset=offset)
    return _list_page(rows, total, limit, offset)


@router.get("/departments/{department}/open-list", response_model=Page[ListEntryOut])
def open_list(department: str, session: SessionDep, principal: CurrentPrincipal,
              limit: Limit = 20, offset: Offset = 0) -> Page[ListEntryOut]:
    rows, total = lists.open_list(session, principal, department=department, limit=limit,
                                  offset=offset)
    return _list_page(rows, total, limit, offset)


@router.get("/export", response_class=Response,
            responses={200: {"content": {media: {} for media in MEDIA.values()}}})
def export_catalog(session: SessionDep, principal: CurrentPrincipal,
                   format: Annotated[str, Query(pattern="^(csv|xlsx|json)$")] = "csv",
                   department: str | None = None, status: str | None = None) -> Response:
    chunks = transfer.export_catalog(session, principal, format=format, department=department,
                                     status=status)
    return Response(b"".join(chunks), media_type=MEDIA[format], headers={
        "Content-Disposition": f'attachment; filename="catalog.{format}"'})


class ImportOut(BaseModel):
    rows: int
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    published: list[str]
    retired: list[str]


IMPORT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}}}},
        **{media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA.values()},
    },
}


@router.post("/import", response_model=ImportOut, openapi_extra={"requestBody": IMPORT_BODY})
async def import_catalog(request: Request, session: SessionDep, principal: CurrentPrincipal,
                         settings: SettingsDep) -> ImportOut:
    """A catalog file (CSV, XLSX or JSON; multipart field ``file`` or the raw body), at most
    ``GOVDATA_CATALOG_IMPORT_MAX_BYTES``: every row checked, any error and nothing imported."""
    transfer.require_importer(session, principal)
    received = await upload.receive(request, upload_dir=settings.upload_dir,
                                    max_bytes=min(settings.upload_max_bytes,
                                                  settings.catalog_import_max_bytes))
    try:
        data = received.path.read_bytes()
    finally:
        received.discard()
    report = await run_in_threadpool(transfer.import_catalog, session, principal, data=data,
                                     filename=received.filename, settings=settings)
    return ImportOut(rows=report.rows, created=report.created, updated=report.updated,
                     unchanged=report.unchanged, published=report.published,
                     retired=report.retired)


@router.get("/stats")
def catalog_stats(session: SessionDep, principal: CurrentPrincipal,
                  department: str | None = None) -> dict[str, Any]:
    return stats.catalog_stats(session, principal, department=department)
