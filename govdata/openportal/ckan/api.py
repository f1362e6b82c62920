"""CKAN Action API routes (CONTRACTS.md §2): ``/api/action/{name}`` and
``/api/3/action/{name}`` (GET and POST, never a redirect), ``/api`` and ``/api/3``, and
``/datastore/dump/{resource_id}``.

The input is read the ways CKAN reads it (``action_input``): GET parameters (a repeated
key is a list), a JSON body, a form whose only key is a JSON document, or multipart with
an ``upload``. The token comes raw in ``Authorization`` or ``X-CKAN-API-Key`` (a
``Bearer`` prefix is accepted too); a missing or bad token means anonymous, and a refusal
then says what was wrong with the token. Each action runs in a savepoint: a refused write
leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from python_multipart.multipart import parse_options_header
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from govdata.catalog.datastore import stream_export
from govdata.catalog.datastore import upload as uploads
from govdata.catalog.datastore.api import ExportStream, ReadStreamBind, StreamBind
from govdata.openportal import apikeys
from govdata.openportal.api import base_url
from govdata.openportal.ckan import datastore, read, write
from govdata.openportal.ckan.context import ActionContext
from govdata.openportal.ckan.errors import CkanError, as_ckan_error
from govdata.openportal.deps import presented_token
from govdata.openportal.ratelimit import RATE_LIMITED
from govdata.platform import strictjson
from govdata.platform.db import end_unit_of_work
from govdata.platform.deps import ReadSessionDep, SessionDep, SettingsDep, principal_from_token
from govdata.platform.errors import DomainError, NotFound, PayloadTooLarge, RuleViolation
from govdata.platform.principal import ANONYMOUS
from govdata.platform.settings import Settings

router = APIRouter(tags=["CKAN Action API"], dependencies=[RATE_LIMITED], responses={
    "default": {"description": "CKAN error envelope (problem+json for HTTP-level errors)",
                "content": {"application/json": {}, "application/problem+json": {}}}})
JSON_BODY_MAX = 64 << 20
Action = Callable[[ActionContext, Mapping[str, Any]], Any]
ACTIONS: dict[str, Action] = {
    "status_show": read.status_show, "package_list": read.package_list,
    "package_show": read.package_show, "package_search": read.package_search,
    "current_package_list_with_resources": read.current_package_list_with_resources,
    "resource_show": read.resource_show, "organization_list": read.organization_list,
    "organization_show": read.organization_show, "group_list": read.group_list,
    "group_show": read.group_show, "tag_list": read.tag_list, "tag_show": read.tag_show,
    "license_list": read.license_list,
    "datastore_search": datastore.datastore_search, "datastore_info": datastore.datastore_info,
    "package_create": write.package_create, "package_update": write.package_update,
    "package_patch": write.package_patch, "package_delete": write.package_delete,
    "resource_create": write.resource_create, "datastore_create": write.datastore_create,
    "datastore_upsert": write.datastore_upsert,
}

READ_ACTIONS = frozenset(name for name, action in ACTIONS.items()
                         if action.__module__ != write.__name__)


class BadRequest(Exception):
    """CKAN answers a malformed call with 400 and a bare JSON string."""


def parse_json(raw: bytes) -> Any:
    """The one place CKAN bodies are parsed as JSON, with the kernel's strict loader
    (duplicate keys, control characters and lone surrogates refused)."""
    try:
        return strictjson.loads(raw)
    except strictjson.JSONRefused as exc:
        raise BadRequest(f"Bad request - JSON Error: {exc}") from None


def _pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            data[key] = [*data[key], value] if isinstance(data[key], list) else [data[key], value]
        else:
            data[key] = value
    return data


async def action_input(request: Request, settings: Settings
                       ) -> tuple[dict[str, Any], uploads.Upload | None]:
    """The action's input and its upload, read the ways CKAN reads them."""
    if request.method == "GET":
        return _pairs(list(request.query_params.multi_items())), None
    media, _ = parse_options_header(request.headers.get("content-type", ""))
    if media == b"multipart/form-data":
        received = await uploads.receive(request, upload_dir=settings.upload_dir,
                                         max_bytes=settings.upload_max_bytes)
        return dict(received.fields or {}), received
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > JSON_BODY_MAX:
            raise PayloadTooLarge(f"请求体超过 {JSON_BODY_MAX} 字节", code="body_too_large")
    if not raw.strip():
        return {}, None
    if media == b"application/x-www-form-urlencoded":
        pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        if len(pairs) == 1 and pairs[0][1] == "":
            data = parse_json(pairs[0][0].encode())
        else:
            return _pairs(pairs), None
    else:
        data = parse_json(bytes(raw))
    if not isinstance(data, dict):
        raise BadRequest("Bad request - JSON Error: Request data JSON decoded to "
                         f"{type(data).__name__} but it needs to be a dictionary.")
    return data, None


def action_context(request: Request, session, settings: Settings, bind,
                   received: uploads.Upload | None) -> ActionContext:
    ctx = ActionContext(session=session, principal=ANONYMOUS, settings=settings,
                        base_url=base_url(request, settings), bind=bind,
                        path=request.url.path, query=list(request.query_params.multi_items()),
                        files={"upload": received} if received else {})
    token = presented_token(request)
    if token:
        try:
            if apikeys.is_api_key(token):
                ctx.access = apikeys.authenticate(session, token)
            else:
                ctx.principal = principal_from_token(request, session, settings, token)
        except DomainError as exc:
            ctx.token_problem = exc.detail
    return ctx


def envelope(ctx_base: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"help": f"{ctx_base}/api/3/action/help_show?name={name}", **fields}


def answer(body: Any, status: int = 200) -> Response:
    """JSON through orjson, so that records the database rendered pass on as they are."""
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _serve_action(name: str, request: Request, session: Session, settings: Settings, bind: Any,
                  received: uploads.Upload | None, data: Mapping[str, Any]) -> Response:
    """The caller's context, the action and the end of its unit of work, in one trip to
    the thread pool."""
    response = run_action(name, action_context(request, session, settings, bind, received),
                          data)
    end_unit_of_work(session)
    return response


def run_action(name: str, ctx: ActionContext, data: Mapping[str, Any]) -> Response:
    action = ACTIONS[name]
    try:
        if name in READ_ACTIONS:  # nothing to undo: a read writes only after it succeeded
            result = action(ctx, data)
        else:
            with ctx.session.begin_nested():
                result = action(ctx, data)
    except DomainError as exc:
        error = as_ckan_error(exc, token_problem=ctx.token_problem)
        return answer(envelope(ctx.base_url, name, success=False, error=error.body()),
                      error.status)
    except CkanError as error:
        return answer(envelope(ctx.base_url, name, success=False, error=error.body()),
                      error.status)
    return answer(envelope(ctx.base_url, name, success=True, result=result))


@router.api_route("/api", methods=["GET", "POST"], include_in_schema=False)
@router.api_route("/api/3", methods=["GET", "POST"], include_in_schema=False)
def api_version() -> dict[str, int]:
    return {"version": 3}


async def _action(name: str, request: Request, session: SessionDep,
                  read_session: ReadSessionDep, settings: SettingsDep, bind: StreamBind,
                  read_bind: ReadStreamBind) -> Response:
    """Read actions on a read replica when there are any; writes on the primary."""
    if name not in ACTIONS:
        return answer(f"Bad request - Action name not known: {name}", 400)
    if name in READ_ACTIONS:
        session, bind = read_session, read_bind
    received = None
    try:
        data, received = await action_input(request, settings)
        return await run_in_threadpool(_serve_action, name, request, session, settings, bind,
                                       received, data)
    except BadRequest as exc:
        return answer(str(exc), 400)
    finally:
        if received is not None:
            received.discard()


for version, path in (("", "/api/action/{name}"), ("3", "/api/3/action/{name}")):
    for suffix in ("", "/"):
        for method in ("GET", "POST"):
            router.add_api_route(path + suffix, _action, methods=[method],
                                 include_in_schema=not suffix,
                                 operation_id=f"ckan{version}_action_{method.lower()}",
                                 summary="CKAN action (CONTRACTS.md §2)")


@router.get("/datastore/dump/{resource_id}", response_class=StreamingResponse,
            tags=["CKAN Action API"])
def datastore_dump(resource_id: str, request: Request, session: ReadSessionDep,
                   settings: SettingsDep, bind: ReadStreamBind) -> StreamingResponse:
    """A datastore table, streamed: ``format=csv|tsv|json|xml``, ``bom``, ``offset``,
    ``limit``, ``filters``, ``q``, ``fields``, ``sort``."""
    ctx = action_context(request, session, settings, bind, None)
    data = dict(request.query_params)
    try:
        plan = datastore.plan_dump(ctx, resource_id, data)
    except CkanError as error:
        raise _as_problem(error) from None
    fmt = str(data.get("format") or "csv").lower()
    body = stream_export(bind, plan)
    media = plan.media_type
    if fmt == "xml":
        body, media = datastore.xml_rows(body), datastore.XML_MEDIA
    filename = f"{resource_id}.{fmt}"
    return ExportStream(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{filename}"; '
                               f"filename*=UTF-8''{quote(filename)}",
        "X-Data-Version": str(plan.version)})


def _as_problem(error: CkanError) -> DomainError:
    if error.status == 404:
        return NotFound(error.message, code="resource_not_found")
    fields = getattr(error, "fields", {})
    return RuleViolation(error.message, code="datastore_query_invalid",
                         errors=[{"loc": ["query", key], "msg": " ".join(msgs)}
                                 for key, msgs in fields.items()] or None)
