"""One Jinja2 environment for every part's pages.

A template's name starts with its part: ``console/home.html`` is read from
``govdata/console/templates/home.html``; ``web/…`` names the shared layout and macros here.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    BaseLoader,
    Environment,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)

from govdata.platform import clock
from govdata.platform.web import csrf

PART_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SECURITY_HEADERS = {
    # Nothing is fetched from anywhere but this server; no inline script.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@lru_cache
def part_directory(part: str, folder: str) -> Path | None:
    """``govdata/<part>/<folder>`` (``web`` is this package), or None if there is none."""
    if not PART_NAME.match(part):
        return None
    package = "govdata.platform.web" if part == "web" else f"govdata.{part}"
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(next(iter(spec.submodule_search_locations))) / folder
    return directory if directory.is_dir() else None


class PartLoader(BaseLoader):
    """Loads ``<part>/<path>`` from that part's ``templates/`` directory."""

    def get_source(self, environment: Environment, template: str):
        part, _, rest = template.partition("/")
        directory = part_directory(part, "templates")
        if directory is None or not rest or ".." in rest.split("/"):
            raise TemplateNotFound(template)
        path = directory / rest
        if not path.is_file():
            raise TemplateNotFound(template)
        mtime = path.stat().st_mtime
        return path.read_text("utf-8"), str(path), lambda: path.stat().st_mtime == mtime


def local_time(moment: dt.datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored moment (UTC; an aware datetime or ledger ISO text) as the time in China
    (Asia/Shanghai), the one way every page shows a time: ``{{ x.created_at|local }}``."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(clock.CHINA).strftime(fmt)


@lru_cache
def templates() -> Environment:
    env = Environment(loader=PartLoader(), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["static"] = lambda path: f"/static/{path}"
    env.filters["local"] = local_time
    return env


def render(request: Request, name: str | Template, context: dict[str, Any] | None = None, *,
           status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render a page with the request, its CSRF token and the settings in the context; the
    response sets the CSRF cookie when the browser has none yet."""
    token, new_cookie = csrf.token_for(request)
    settings = request.app.state.settings
    template = templates().get_template(name) if isinstance(name, str) else name
    html = template.render(
        request=request, csrf_token=token, csrf_field=csrf.CSRF_FIELD, settings=settings,
        **(context or {}))
    response = HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS,
                                                                **(headers or {})})
    if new_cookie:
        csrf.set_cookie(response, request, new_cookie)
    return response
