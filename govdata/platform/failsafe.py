"""The last handler of a request: what nothing else caught becomes a problem+json answer
on a connection that stays usable.

Starlette's own catch-all answers 500 and then re-raises, so the server closes the
connection (on kept-alive connections the next requests got no answer at all). Here:

- a database that is down or unreachable is 503 ``database_unavailable`` with
  ``Retry-After``; SQLite's lock still held by another writer past the busy timeout is 503
  ``database_busy``; a full disk (the database's or the uploads') is 507;
- a client that went away mid-request (an upload cut off) is logged as its doing: status
  499 in the access log and the metrics, no traceback, nothing answered;
- anything else is logged with its traceback and answered 500 ``internal_error``.

An error after the response has started (a streamed export losing its database) cannot be
answered any more: it is re-raised so the server cuts the stream and the client sees it
was not complete.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Callable

import psycopg
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.requests import ClientDisconnect, Request

from govdata.platform.errors import DomainError, InsufficientStorage, ServiceUnavailable, problem

log = logging.getLogger("govdata.app")
PROBLEM = "application/problem+json"
CLIENT_GONE = "client_gone"  # scope["state"] flag the access log reads
RETRY_AFTER_SECONDS = 5

_DISCONNECTS = (sa_exc.DisconnectionError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                psycopg.OperationalError, psycopg.InterfaceError)
_SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")
_SQLITE_DOWN = ("unable to open database file", "disk i/o error")


class InternalError(DomainError):
    status = 500
    title = "服务器内部错误"
    default_code = "internal_error"


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("数据库暂不可用, 请稍后重试 (database unavailable)",
                              retry_after=RETRY_AFTER_SECONDS, code="database_unavailable")


def _storage_full() -> InsufficientStorage:
    return InsufficientStorage("存储空间已满, 请联系管理员 (no space left on the server)",
                               code="storage_full")


def database_fault(exc: BaseException) -> DomainError | None:
    """The refusal a database or disk failure deserves, or ``None`` for any other error
    (a bug stays a 500)."""
    original = getattr(exc, "orig", None) or exc
    if isinstance(original, OSError) and original.errno == errno.ENOSPC:
        return _storage_full()
    if isinstance(original, psycopg.errors.DiskFull):
        return _storage_full()
    if isinstance(original, sqlite3.OperationalError):
        message = str(original).lower()
        if any(text in message for text in _SQLITE_BUSY):
            return ServiceUnavailable("数据库正忙, 请稍后重试 (database busy)",
                                      retry_after=1, code="database_busy")
        if "database or disk is full" in message:
            return _storage_full()
        if any(text in message for text in _SQLITE_DOWN):
            return _unavailable()
        return None
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return _unavailable()
    if isinstance(exc, (*_DISCONNECTS, sa_exc.OperationalError)) or isinstance(original,
                                                                            _DISCONNECTS):
        return _unavailable()
    return None


def problem_json(request: Request, error: DomainError) -> Response:
    body = problem(status=error.status, title=error.title, detail=error.detail,
                   code=error.code, errors=error.errors, instance=request.url.path)
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM,
                        headers=error.headers)


class Failsafe:
    """ASGI middleware: see the module's note. ``render`` answers a refusal the way the app
    answers the others (an HTML page for a browser, problem+json for the API)."""

    def __init__(self, app, render: Callable[[Request, DomainError], Response] = problem_json
                 ) -> None:
        self.app, self.render = app, render

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            scope.setdefault("state", {})[CLIENT_GONE] = True
            log.info("client disconnected before the request was read",
                     extra={"fields": {"path": scope["path"]}})
        except Exception as exc:
            if started:
                raise
            fault = database_fault(exc)
            if fault is None:
                log.exception("unhandled error", extra={"fields": {"path": scope["path"]}})
                fault = InternalError("服务器内部错误, 已记录 (internal error, logged)")
            else:
                log.warning("%s: %s", fault.code, type(exc).__name__,
                            extra={"fields": {"path": scope["path"]}})
            await self.render(Request(scope, receive), fault)(scope, receive, send)
