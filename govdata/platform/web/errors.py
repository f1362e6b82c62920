"""Errors on browser routes: an HTML page instead of problem+json, and redirects."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

API_PREFIXES = ("/api/", "/datastore/")
STATUS_TITLES = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "页面不存在",
                 405: "不支持的请求方法", 413: "内容过大", 415: "不支持的内容类型",
                 422: "提交的内容有误", 429: "请求过于频繁", 500: "服务器内部错误"}


class Redirect(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a page dependency to send the browser elsewhere (e.g. to sign in)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def wants_html(request: Request) -> bool:
    """A browser asking for a page: ``text/html`` accepted and not an API path."""
    path = request.url.path
    if path.startswith(API_PREFIXES) or path == "/api":
        return False
    return "text/html" in request.headers.get("accept", "")


def redirect_response(request: Request, exc: Redirect) -> RedirectResponse:
    return RedirectResponse(exc.location, status_code=303)


def error_page(request: Request, *, status: int, title: str, detail: str, code: str,
               errors=None, headers=None) -> HTMLResponse:
    from govdata.platform.web.templating import part_directory, render

    if title.isascii():  # Starlette's own English reason phrases
        title = STATUS_TITLES.get(status, title)
        detail = title if detail.isascii() else detail
    headers = {k: v for k, v in (headers or {}).items() if k.lower() != "www-authenticate"}
    part = request.url.path.strip("/").partition("/")[0]
    directory = part_directory(part, "templates") if part else None
    home = f"/{part}/" if directory else "/"
    # a part with its own error.html shows its errors in its own frame (brand, footer)
    template = f"{part}/error.html" if directory and (directory / "error.html").is_file() \
        else "web/error.html"
    return render(request, template,
                  {"status": status, "title": title, "detail": detail, "code": code,
                   "errors": errors or [], "home_href": home}, status=status, headers=headers)
