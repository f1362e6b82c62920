"""The open-data JSON API (CONTRACTS.md §1, ``/api/v1/open/...``): no account needed for
unconditional open data; every route is rate-limited per client IP."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from govdata.catalog.datastore.api import ExportStream, ReadStreamBind, RowQuery
from govdata.catalog.datastore.export import stream_export
from govdata.catalog.datastore.schemas import DataPage, page_response
from govdata.openportal import datajson, dcat, publishing, service
from govdata.openportal.deps import KeyAccessDep
from govdata.openportal.ratelimit import RATE_LIMITED
from govdata.openportal.schemas import (
    DOWNLOAD_FORMATS,
    DatasetOut,
    DatasetPageOut,
    DepartmentDatasetsOut,
    DepartmentRef,
    LicenceOut,
    OpenMetadataIn,
    dataset_out,
    licence_out,
    summary_out,
)
from govdata.openportal.vocab import LICENCES
from govdata.platform.db import end_unit_of_work
from govdata.platform.deps import (
    CurrentPrincipal,
    Limit,
    Offset,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
)
from govdata.platform.errors import NotFound
from govdata.platform.settings import Settings

router = APIRouter(prefix="/api/v1/open", tags=["open data"], dependencies=[RATE_LIMITED])
RecordLimit = Annotated[int, Query(ge=0, le=1000, description="每页条数 (0–1000)")]


def base_url(request: Request, settings: Settings) -> str:
    """The portal's absolute address: ``GOVDATA_PUBLIC_BASE_URL``, else this request's."""
    return (settings.public_base_url or str(request.base_url)).rstrip("/")


def search_page_out(page: service.DatasetPage) -> DatasetPageOut:
    return DatasetPageOut(items=[summary_out(d) for d in page.items], total=page.total,
                          limit=page.limit, offset=page.offset, facets=page.facets)


@router.get("/datasets", response_model=DatasetPageOut)
def search_datasets(
    session: ReadSessionDep,
    settings: SettingsDep,
    q: Annotated[str | None, Query(max_length=200, description="中文或英文检索词")] = None,
    theme: Annotated[list[str] | None, Query(description="主题或其 group 名")] = None,
    department: Annotated[list[str] | None, Query(description="部门代码")] = None,
    format: Annotated[list[str] | None, Query(description="格式, 如 csv")] = None,
    open_type: Annotated[list[str] | None, Query(description="unconditional | conditional")
                         ] = None,
    update_cycle: Annotated[list[str] | None, Query(description="更新周期, 如 每日")] = None,
    tag: Annotated[list[str] | None, Query(description="标签 (每个都须有)")] = None,
    licence: Annotated[list[str] | None, Query(description="许可协议 id")] = None,
    modified_since: Annotated[dt.datetime | None, Query(description="ISO 8601")] = None,
    sort: Annotated[str | None, Query(description="relevance | title | name | modified, "
                                                  "可加 asc/desc")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> DatasetPageOut:
    """Open datasets, ranked (with ``q``) or in title order, with facet counts."""
    query = service.DatasetQuery(q=q, theme=theme, department=department, format=format,
                                 open_type=open_type, update_cycle=update_cycle,
                                 tags=tag or (), licence=licence,
                                 modified_since=_aware(modified_since), sort=sort,
                                 limit=limit, offset=offset)
    return search_page_out(service.search_datasets(session, query, settings=settings))


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


@router.get("/datasets/{name}", response_model=DatasetOut)
def get_dataset(name: str, request: Request, session: ReadSessionDep,
                settings: SettingsDep) -> DatasetOut:
    """A dataset's metadata: data dictionary, licence, coverage, overdue flag, usage."""
    dataset = service.view_dataset(session, name, settings=settings)
    return dataset_out(dataset, base_url(request, settings))


class OpenMetadataOut(BaseModel):
    name: str
    licence: str | None
    temporal_start: dt.date | None
    temporal_end: dt.date | None
    spatial: str | None


@router.patch("/datasets/{name}", response_model=OpenMetadataOut)
def update_open_metadata(name: str, body: OpenMetadataIn, session: SessionDep,
                         principal: CurrentPrincipal) -> OpenMetadataOut:
    """Set the licence and coverage (the owning department's stewards), also before the
    resource is opened."""
    code = service.code_of(name)
    if code is None:
        raise NotFound(f"开放数据集 {name} 不存在", code="dataset_not_found")
    row = publishing.update_open_metadata(session, principal, code=code,
                                          changes=body.model_dump(exclude_unset=True))
    return OpenMetadataOut(name=name, licence=row.licence, temporal_start=row.temporal_start,
                           temporal_end=row.temporal_end, spatial=row.spatial)


@router.get("/datasets/{name}/records", response_model=DataPage)
def dataset_records(
    name: str,
    session: ReadSessionDep,
    settings: SettingsDep,
    rows: RowQuery,
    access: KeyAccessDep,
    limit: RecordLimit = 20,
    offset: Offset = 0,
    include_total: bool = True,
) -> Response:
    """A page of the data, desensitised. Masked items cannot be filtered or sorted on.
    Conditional data: with an approved applicant's API key (``Authorization``)."""
    result = service.query_records(session, name, settings=settings, limit=limit,
                                   offset=offset, include_total=include_total, access=access,
                                   **rows)
    response = page_response(result)
    end_unit_of_work(session)
    return response


@router.get("/datasets/{name}/download", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, "application/json": {},
                                         "application/vnd.openxmlformats-officedocument"
                                         ".spreadsheetml.sheet": {}}}})
def download_dataset(
    name: str,
    session: ReadSessionDep,
    settings: SettingsDep,
    bind: ReadStreamBind,
    rows: RowQuery,
    access: KeyAccessDep,
    format: Annotated[str, Query(pattern="^(csv|json|xlsx)$",
                                 description=" | ".join(DOWNLOAD_FORMATS))] = "csv",
    limit: Annotated[int | None, Query(ge=0)] = None,
    offset: Offset = 0,
    bom: Annotated[bool, Query(description="CSV: UTF-8 BOM, Excel 直接打开")] = True,
    header: Annotated[str, Query(pattern="^(name|title)$", description="列名: name | title"
                                 )] = "name",
) -> StreamingResponse:
    """The whole dataset (or the filtered part), streamed: CSV (UTF-8 with BOM), JSON or
    XLSX, desensitised."""
    dataset = service.open_resource(session, name)
    plan = service.plan_resource_download(
        session, dataset, settings=settings, access=access, format=format, limit=limit,
        offset=offset, bom=bom, header=header, **rows)
    readable = f"{dataset.name}.{format}"
    disposition = (f'attachment; filename="{service.dataset_name(dataset.code)}.{format}"; '
                   f"filename*=UTF-8''{quote(readable)}")
    return ExportStream(stream_export(bind, plan), media_type=plan.media_type,
                        headers={"Content-Disposition": disposition,
                                 "X-Data-Version": str(plan.version)})


@router.get("/departments/{department}/datasets", response_model=DepartmentDatasetsOut)
def department_datasets(department: str, session: ReadSessionDep, settings: SettingsDep,
                        limit: Limit = 20, offset: Offset = 0) -> DepartmentDatasetsOut:
    """A department's open list (开放清单)."""
    owner, page = service.department_datasets(session, department, limit=limit,
                                              offset=offset, settings=settings)
    return DepartmentDatasetsOut(**search_page_out(page).model_dump(),
                                 department=DepartmentRef(code=owner.code, name=owner.name))


@router.get("/stats")
def portal_stats(session: ReadSessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Open datasets, departments publishing open lists against the plans' targets, usage."""
    return service.portal_stats(session, settings=settings)


@router.get("/licences", response_model=list[LicenceOut])
def licences() -> list[LicenceOut]:
    return [licence_out(licence) for licence in LICENCES.values()]


# --- metadata exports (CONTRACTS.md §3) ------------------------------------------------

metadata_router = APIRouter(tags=["open data: metadata"], dependencies=[RATE_LIMITED])
RDF_RESPONSES = {200: {"content": {"text/turtle": {}, "application/ld+json": {}}}}


def _rdf(graph, fmt: str) -> Response:
    _, media = dcat.FORMATS[fmt]
    return Response(dcat.serialise(graph, fmt), media_type=media)


def _catalog(request: Request, session, settings: Settings, page: int, fmt: str) -> Response:
    base = base_url(request, settings)
    found = service.catalog_page(session, page=page, size=dcat.PAGE_SIZE, settings=settings)
    graph = dcat.new_graph()
    dcat.add_catalog(graph, settings, base, found.items)
    dcat.add_paging(graph, f"{base}{request.url.path}", page=page, total=found.total)
    return _rdf(graph, fmt)


CatalogPage = Annotated[int, Query(ge=1, le=1_000_000, description="第几页 (每页 100 个)")]


@metadata_router.get("/catalog.jsonld", response_class=Response, responses=RDF_RESPONSES)
def catalog_jsonld(request: Request, session: ReadSessionDep, settings: SettingsDep,
                   page: CatalogPage = 1) -> Response:
    """The open catalog as DCAT-AP 3 JSON-LD, a page of datasets at a time."""
    return _catalog(request, session, settings, page, "jsonld")


@metadata_router.get("/catalog.ttl", response_class=Response, responses=RDF_RESPONSES)
def catalog_ttl(request: Request, session: ReadSessionDep, settings: SettingsDep,
                page: CatalogPage = 1) -> Response:
    """The open catalog as DCAT-AP 3 Turtle, a page of datasets at a time."""
    return _catalog(request, session, settings, page, "ttl")


def _dataset(request: Request, session, settings: Settings, name: str, fmt: str) -> Response:
    dataset = service.get_dataset(session, name, settings=settings)
    graph = dcat.new_graph()
    dcat.add_dataset(graph, dataset, base_url(request, settings))
    return _rdf(graph, fmt)


@metadata_router.get("/dataset/{name}.jsonld", response_class=Response,
                     responses=RDF_RESPONSES)
def dataset_jsonld(name: str, request: Request, session: ReadSessionDep,
                   settings: SettingsDep) -> Response:
    return _dataset(request, session, settings, name, "jsonld")


@metadata_router.get("/dataset/{name}.ttl", response_class=Response, responses=RDF_RESPONSES)
def dataset_ttl(name: str, request: Request, session: ReadSessionDep,
                settings: SettingsDep) -> Response:
    return _dataset(request, session, settings, name, "ttl")


@metadata_router.get("/data.json")
def data_json(request: Request, session: ReadSessionDep, settings: SettingsDep) -> dict[str, Any]:
    """The open catalog as Project Open Data v1.1."""
    datasets = service.all_datasets(session, settings=settings)
    return datajson.catalog(datasets, base_url(request, settings), settings)
