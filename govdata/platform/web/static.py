"""``/static/<part>/<path>``: files shipped in a part's ``static/`` directory (``web`` is the
shared layout's), answered by Starlette's StaticFiles (ETag, Last-Modified, HEAD)."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from govdata.platform.errors import NotFound
from govdata.platform.web.templating import part_directory

router = APIRouter(include_in_schema=False)


@lru_cache
def part_files(part: str) -> StaticFiles | None:
    directory = part_directory(part, "static")
    return StaticFiles(directory=directory) if directory else None


@router.api_route("/static/{part}/{path:path}", methods=["GET", "HEAD"])
async def static_file(part: str, path: str, request: Request) -> Response:
    files = part_files(part)
    if files is None:
        raise NotFound(f"没有静态文件目录 {part}")
    response = await files.get_response(path, request.scope)
    response.headers.setdefault("Cache-Control", "public, max-age=3600")
    return response
