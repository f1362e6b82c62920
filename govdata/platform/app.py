"""App assembly: the kernel's routes, error handling and operations endpoints, plus the
routers the parts hand in (the kernel imports none of them)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from govdata.platform import api, migrate, openapi, uploaddir, web
from govdata.platform.bodies import guard_bodies
from govdata.platform.db import Database
from govdata.platform.errors import (
    HTTP_TITLES_ZH,
    DomainError,
    has_chinese,
    problem,
    validation_message,
)
from govdata.platform.failsafe import Failsafe
from govdata.platform.observability import RequestObservability, configure_logging
from govdata.platform.settings import Settings, get_settings
from govdata.platform.urltext import RefuseNul

log = logging.getLogger("govdata.app")
PROBLEM = "application/problem+json"
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized",
              403: "forbidden", 413: "payload_too_large", 415: "unsupported_media_type"}


def problem_response(request: Request, *, status: int, title: str, detail: str, code: str,
                     errors=None, headers=None) -> Response:
    if web.wants_html(request):
        return web.error_page(request, status=status, title=title, detail=detail, code=code,
                              errors=errors, headers=headers)
    body = problem(status=status, title=title, detail=detail, code=code, errors=errors,
                   instance=request.url.path)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _render(request: Request, error: DomainError) -> Response:
    return problem_response(request, status=error.status, title=error.title,
                            detail=error.detail, code=error.code, errors=error.errors,
                            headers=error.headers)


def _loc(loc) -> list:
    return [part for part in loc if part != "body"] or list(loc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(web.Redirect, web.redirect_response)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        return problem_response(request, status=exc.status, title=exc.title, detail=exc.detail,
                                code=exc.code, errors=exc.errors, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = [{"loc": _loc(e.get("loc", ())), "msg": validation_message(e)}
                  for e in exc.errors()]
        malformed = any(e.get("type") == "json_invalid" for e in exc.errors())
        detail = ("请求体不是有效的 JSON (malformed JSON body)" if malformed
                  else "请求参数未通过校验 (request validation failed)")
        return problem_response(request, status=422, title="请求参数无效", detail=detail,
                                code="validation_failed", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        title = detail = str(exc.detail)
        if not web.wants_html(request):  # pages name Starlette's errors their own way
            title = HTTP_TITLES_ZH.get(exc.status_code, "请求有误")
            detail = detail if has_chinese(detail) else f"{title} ({detail})"
        return problem_response(request, status=exc.status_code, title=title,
                                detail=detail, code=code,
                                headers=getattr(exc, "headers", None))


def ops_router() -> APIRouter:
    router = APIRouter(tags=["ops"])

    @router.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz")
    def readyz(request: Request):
        db: Database = request.app.state.db
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                current = migrate.current_revisions(connection)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return problem_response(request, status=503, title="未就绪",
                                    detail=f"数据库不可达: {type(exc).__name__}",
                                    code="database_unreachable")
        heads = migrate.head_revisions(db.url)
        if current != heads:
            return problem_response(request, status=503, title="未就绪",
                                    detail=f"迁移未到最新: {sorted(current)} ≠ {sorted(heads)}",
                                    code="migrations_pending")
        return {"status": "ready", "database": db.dialect, "revision": sorted(current)}

    @router.get("/metrics", response_class=PlainTextResponse,
                responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}})
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def create_app(
    settings: Settings | None = None,
    *,
    routers: Sequence[APIRouter] = (),
    database: Database | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    settings.check_startable()
    configure_logging(settings.log_level)
    # /docs and /redoc load Swagger UI and ReDoc from the package (fastapi-offline), never
    # from a CDN: a government network often has no internet.
    app = FastAPIOffline(title="政务数据共享交换与开放平台 govdata", version="1",
                         openapi_url="/openapi.json", docs_url="/docs", redoc_url="/redoc",
                         static_url="/docs/static",
                         swagger_ui_parameters={"validatorUrl": None,
                                                "persistAuthorization": True})
    app.state.settings = settings
    app.state.db = database or Database(
        settings.database_url, echo=settings.database_echo,
        busy_timeout=settings.database_busy_timeout_seconds,
        read_urls=settings.database_read_urls)
    uploaddir.sweep_orphans(settings.upload_dir)
    install_error_handlers(app)
    app.include_router(ops_router())
    guard_bodies([api.router, *routers])
    app.include_router(api.router)
    app.include_router(web.static_router)
    for router in routers:
        app.include_router(router)
    app.add_middleware(Failsafe, render=_render)  # inside the access log: it records these
    app.add_middleware(RefuseNul)
    app.add_middleware(RequestObservability)
    openapi.install(app)
    return app
