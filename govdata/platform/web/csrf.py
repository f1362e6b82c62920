"""CSRF protection for forms: a signed double-submit token.

The browser holds a random nonce in an HttpOnly, SameSite=Strict cookie; every form carries
``nonce.signature`` (HMAC-SHA256 under a key derived from the platform's signing key) in the
field ``csrf_token`` (or the ``X-CSRF-Token`` header). A post is accepted only when the field's
nonce is the cookie's and the signature is ours, so a page elsewhere can neither read nor forge
it, and a cookie planted from a sibling domain cannot be paired with a token without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import AsyncIterator

from fastapi import Request
from starlette.responses import Response

from govdata.platform.errors import Forbidden

COOKIE = "govdata_csrf"
CSRF_FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


class CsrfRejected(Forbidden):
    default_code = "csrf_failed"


def _key(request: Request) -> bytes:
    secret = request.app.state.settings.jwt_private_key.encode()
    return hashlib.sha256(b"govdata-csrf\0" + secret).digest()


def _sign(request: Request, nonce: str) -> str:
    return hmac.new(_key(request), nonce.encode(), hashlib.sha256).hexdigest()


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def token_for(request: Request) -> tuple[str, str | None]:
    """The token for this browser's forms, and a new nonce to set as cookie (or None)."""
    nonce = getattr(request.state, "csrf_nonce", None) or request.cookies.get(COOKIE, "")
    fresh = None
    if not NONCE.match(nonce):
        nonce = fresh = secrets.token_urlsafe(32)
    request.state.csrf_nonce = nonce
    return f"{nonce}.{_sign(request, nonce)}", fresh


def set_cookie(response: Response, request: Request, nonce: str) -> None:
    response.set_cookie(COOKIE, nonce, httponly=True, samesite="strict", path="/",
                        secure=is_https(request))


def check(request: Request, submitted: str | None) -> None:
    nonce = request.cookies.get(COOKIE, "")
    sent_nonce, _, signature = (submitted or "").partition(".")
    valid = (NONCE.match(nonce) is not None and hmac.compare_digest(sent_nonce, nonce)
             and hmac.compare_digest(signature, _sign(request, nonce)))
    if not valid:
        raise CsrfRejected("表单已失效或不是从本站页面提交的, 请返回刷新页面后重试 "
                           "(CSRF check failed)")


async def csrf_protect(request: Request) -> AsyncIterator[None]:
    """Dependency for page routers: every unsafe request must carry a valid token. The
    form (parsed here, or by the route when the token came in the header) stays cached for
    the route and is closed, its uploaded files too, afterwards."""
    if request.method in SAFE_METHODS:
        yield
        return
    try:
        submitted = request.headers.get(HEADER)
        if submitted is None:
            value = (await request.form()).get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
        check(request, submitted)
        yield
    finally:
        await request.close()
