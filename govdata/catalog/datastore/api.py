"""HTTP routes of the datastore: upload a resource's data, read it, export it.

The exchange and the open portal serve data on their own routes through the same query and
export services; these are the department stewards' (and administrators').
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.engine import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from govdata.catalog import api as _catalog_api  # noqa: F401 - registers the rcode convertor
from govdata.catalog.datastore import service, upload
from govdata.catalog.datastore.export import FORMATS, ExportPlan, stream_export
from govdata.catalog.datastore.query import MAX_EXPORT_ROWS
from govdata.catalog.datastore.schemas import (
    DataPage,
    DataVersionOut,
    page_response,
    version_out,
)
from govdata.platform.deps import CurrentPrincipal, Offset, SessionDep, SettingsDep
from govdata.platform.errors import RuleViolation

router = APIRouter(prefix="/api/v1/catalog", tags=["datastore"])
DATA = "/resources/{code:rcode}/data"
Limit = Annotated[int, Query(ge=0, le=1000)]
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"},
                           "format": {"type": "string", "enum": ["csv", "xlsx", "json"]}}}},
        "text/csv": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}},
    },
}


async def stream_bind(request: Request) -> Engine | Connection:
    """Where a streamed export reads: its own connection from the app's engine (the
    request's session is closed by the time the body streams)."""
    return request.app.state.db.engine


StreamBind = Annotated[Any, Depends(stream_bind)]


async def read_stream_bind(request: Request, bind: StreamBind) -> Engine | Connection:
    """Where a public download streams from: a read replica when there are any (async,
    as ``stream_bind``: no I/O, no trip to the thread pool)."""
    db = request.app.state.db
    return db.read_engine if db.read_engines else bind


ReadStreamBind = Annotated[Any, Depends(read_stream_bind)]


class ExportStream(StreamingResponse):
    """A streamed export (``stream_export``'s chunks), closed when the response ends
    however it ends. A client that goes away mid-download leaves Starlette's body iterator
    unclosed: the export's connection, its ``COPY`` still running and its lock held, was
    then finalised by the garbage collector on the event loop, whose rollback waited on
    that lock for ever, and the worker hung."""

    def __init__(self, chunks: Iterator[bytes], **options: Any) -> None:
        super().__init__(chunks, **options)
        self.chunks = chunks

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):  # also when the response was cancelled
                await anyio.to_thread.run_sync(getattr(self.chunks, "close", lambda: None))


def _json_param(value: str | None, name: str) -> Any:
    if value is None or value == "":
        return None
    try:
        return json.loads(value)
    except (json.JSONDecodeError, RecursionError):
        raise RuleViolation(f"{name} 应为 JSON (expected JSON)", code="datastore_query_invalid",
                            errors=[{"loc": ["query", name], "msg": "invalid JSON"}]) from None


def parse_filters(value: str | None) -> dict[str, Any] | None:
    filters = _json_param(value, "filters")
    if filters is not None and not isinstance(filters, dict):
        raise RuleViolation("filters 应为 JSON 对象 (expected a JSON object)",
                            code="datastore_query_invalid",
                            errors=[{"loc": ["query", "filters"], "msg": "expected an object"}])
    return filters


def parse_q(value: str | None) -> Any:
    if value and value.lstrip().startswith("{"):
        return _json_param(value, "q")
    return value or None


def row_query(
    filters: Annotated[str | None, Query(description='JSON, e.g. {"district": "渝中区"}')] = None,
    q: Annotated[str | None, Query(description="words, or JSON {field: words}")] = None,
    fields: Annotated[str | None, Query(description="a,b,c")] = None,
    sort: Annotated[str | None, Query(description="a, b desc")] = None,
) -> dict[str, Any]:
    """Which rows and columns a page or an export asks for (``query_rows`` keywords)."""
    return {"filters": parse_filters(filters), "q": parse_q(q), "fields": fields, "sort": sort}


RowQuery = Annotated[dict[str, Any], Depends(row_query)]


@router.post(DATA, status_code=201, response_model=DataVersionOut,
             openapi_extra={"requestBody": UPLOAD_BODY})
async def load_data(
    code: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    format: Annotated[str | None, Query(description="csv | xlsx | json (else by name)")] = None,
) -> DataVersionOut:
    """Upload CSV, XLSX or JSON (multipart field ``file``, or the raw body) as the
    resource's new data version. A bad file changes nothing: 422 lists every bad row."""
    await run_in_threadpool(service.resource_for_load, session, principal, code)
    service.prepare_load(session)
    received = await upload.receive(request, upload_dir=settings.upload_dir,
                                    max_bytes=settings.upload_max_bytes)
    gone = threading.Event()
    watch = asyncio.create_task(_watch_disconnect(request, gone))
    try:
        version = await run_in_threadpool(
            service.load_data, session, principal, code, received.path,
            format=format or received.format, filename=received.filename,
            content_type=received.content_type, progress=partial(_unless_gone, gone))
    finally:
        watch.cancel()
        received.discard()
    return version_out(code, version)


async def _watch_disconnect(request: Request, gone: threading.Event) -> None:
    """Once the body is read, the next message is the client's disconnect (if it leaves
    before the answer)."""
    with contextlib.suppress(ClientDisconnect, RuntimeError):
        while (await request.receive())["type"] != "http.disconnect":
            pass
        gone.set()


def _unless_gone(gone: threading.Event, done: int, total: int, rows: int) -> None:
    """A load's progress: it stops (its child process killed, nothing changed) when the
    client that sent the file has left."""
    if gone.is_set():
        raise ClientDisconnect


@router.get(DATA, response_model=DataPage)
def read_data(
    code: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    rows: RowQuery,
    limit: Limit = 20,
    offset: Offset = 0,
    include_total: bool = True,
    masked: Annotated[bool, Query(description="show it as the public sees it")] = False,
) -> Response:
    result = service.read_data(session, principal, code, masked=masked, limit=limit,
                               offset=offset, include_total=include_total, **rows)
    return page_response(result)


@router.get(f"{DATA}/versions", response_model=list[DataVersionOut])
def data_versions(code: str, session: SessionDep, principal: CurrentPrincipal
                  ) -> list[DataVersionOut]:
    return [version_out(code, v) for v in service.list_versions(session, principal, code)]


@router.get(f"{DATA}/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
def export_data(
    code: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    bind: StreamBind,
    rows: RowQuery,
    format: Annotated[str, Query(description=" | ".join(FORMATS))] = "csv",
    limit: Annotated[int | None, Query(ge=0, le=MAX_EXPORT_ROWS)] = None,
    offset: Offset = 0,
    bom: Annotated[bool, Query(description="UTF-8 BOM for Excel (CSV/TSV)")] = False,
    header: Annotated[str, Query(description="name | title")] = "name",
    records: Annotated[str, Query(description="JSON: objects | lists (CKAN dump)")] = "objects",
    masked: bool = False,
) -> StreamingResponse:
    """The resource's current data as a streamed download."""
    plan = service.export_data(session, principal, code, masked=masked, format=format,
                               limit=limit, offset=offset, bom=bom, header=header,
                               records=records, **rows)
    return download(bind, plan)


def download(bind: Engine | Connection, plan: ExportPlan) -> StreamingResponse:
    """A planned export as a streamed attachment (its own connection, flat memory)."""
    disposition = (f'attachment; filename="{plan.filename}"; '
                   f"filename*=UTF-8''{quote(plan.filename)}")
    return ExportStream(stream_export(bind, plan), media_type=plan.media_type,
                        headers={"Content-Disposition": disposition,
                                 "X-Data-Version": str(plan.version)})
