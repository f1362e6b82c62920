"""A URL holding NUL is refused with 422 before any route reads it.

PostgreSQL can neither store nor compare text holding NUL ("A string literal cannot
contain NUL (0x00) characters"), so a ``%00`` in a query parameter or path segment reached
the database as a 500 on every route that filters on text (found by the hostile-input
suite); SQLite took it. One check here instead of one in every route."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from govdata.platform.errors import problem

PROBLEM = "application/problem+json"


def holds_nul(scope) -> bool:
    query = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


class RefuseNul:
    """ASGI middleware: 422 ``url_nul_character`` for a URL holding NUL, like any other
    parameter that fails validation."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and holds_nul(scope):
            body = problem(status=422, title="请求参数无效", code="url_nul_character",
                           detail="URL 中含有 NUL 字符 (NUL character in the URL)",
                           instance=scope.get("path", "").replace("\x00", ""))
            await JSONResponse(body, status_code=422, media_type=PROBLEM)(scope, receive, send)
            return
        await self.app(scope, receive, send)
