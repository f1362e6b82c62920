"""Request bodies that FastAPI parses into models: bounded in size and read with the
strict JSON loader before the route sees them.

Uploads stream their bodies themselves (``datastore.upload``) and are bounded by the upload
limits; every route FastAPI reads a body for is guarded here at app assembly
(``guard_bodies``), so no JSON route takes 26 MB of roles or a duplicate key. The guard
reads the body once and hands FastAPI the strictly parsed value (Starlette keeps both on the
request), so nothing is parsed twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.params import File, Form
from fastapi.routing import APIRoute
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from govdata.platform import strictjson
from govdata.platform.errors import PayloadTooLarge, RuleViolation

GUARDED = "_govdata_body_guard"


class BodyInvalid(RuleViolation):
    """Answered like a body that fails its model's validation."""

    title = "请求参数无效"
    default_code = "validation_failed"


def _is_json(content_type: str) -> bool:
    media, _ = parse_options_header(content_type)
    return media == b"application/json" or (media.startswith(b"application/")
                                             and media.endswith(b"+json"))


async def read_body(request: Request, *, json_body: bool) -> None:
    """Read the body up to ``json_body_max_bytes`` (413 past it) and, when it is JSON,
    parse it with the strict loader (422 on what it refuses)."""
    limit = request.app.state.settings.json_body_max_bytes
    too_large = PayloadTooLarge(f"请求体超过 {limit} 字节的上限 (body larger than {limit} bytes)",
                                code="body_too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    body = request._body = b"".join(chunks)  # Starlette's own cache of the body
    if json_body and body.strip() and _is_json(request.headers.get("content-type", "")):
        try:
            request._json = strictjson.loads(body)  # and of its JSON
        except strictjson.JSONRefused as exc:
            raise BodyInvalid(str(exc), errors=[{"loc": list(exc.loc), "msg": str(exc)}]
                              ) from None


def _takes_files(route: APIRoute) -> bool:
    return any(isinstance(field.field_info, File) for field in route.dependant.body_params)


def _guard(route: APIRoute) -> None:
    """Routes with file fields are uploads: their own limits apply, not this one."""
    if getattr(route, GUARDED, False) or route.body_field is None or _takes_files(route):
        return
    json_body = not isinstance(route.body_field.field_info, Form)
    build = route.get_route_handler

    def guarded_handler():
        handler = build()

        async def app(request: Request):
            await read_body(request, json_body=json_body)
            return await handler(request)

        return app

    route.get_route_handler = guarded_handler
    setattr(route, GUARDED, True)


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # a router included in a router
            yield from _api_routes(route.original_router.routes)


def guard_bodies(routers: Iterable[APIRouter]) -> None:
    """Guard every route with a body in ``routers`` (before the app serves a request)."""
    for router in routers:
        for route in _api_routes(router.routes):
            _guard(route)
