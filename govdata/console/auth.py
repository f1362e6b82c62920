"""Signing in to the console: the same accounts and tokens as the API, the token kept in an
HttpOnly, SameSite=Strict cookie (Secure over HTTPS); signing out revokes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from govdata.console import menus
from govdata.platform import audit
from govdata.platform.deps import SessionDep, SettingsDep, principal_from_token
from govdata.platform.errors import Forbidden, Unauthorized
from govdata.platform.principal import Principal
from govdata.platform.web import Redirect
from govdata.platform.web.csrf import is_https

COOKIE = "govdata_console"
HOME = "/console/"
SIGN_IN = "/console/login"


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, samesite="strict",
                        secure=is_https(request), path="/console")


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/console")


def safe_next(target: str | None) -> str:
    """Only a console path: never send a signed-in user to another site."""
    if target and target.startswith("/console/") and not target.startswith("/console//"):
        return target
    return HOME


def staff(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    """The signed-in person; anyone else is sent to the sign-in page."""
    token = request.cookies.get(COOKIE)
    back = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if not token:
        raise Redirect(f"{SIGN_IN}?next={back}")
    try:
        return principal_from_token(request, session, settings, token)
    except Unauthorized:
        raise Redirect(f"{SIGN_IN}?next={back}&expired=1") from None


Staff = Annotated[Principal, Depends(staff)]


def needs(roles: tuple[str, ...]) -> Callable[..., Principal]:
    """A page guard: the roles of its menu entry, else 403, on the ledger as a refused
    ``platform.access`` naming the page (as the API's ``require_role``)."""

    def guard(request: Request, session: SessionDep, principal: Staff) -> Principal:
        if not any(principal.has(role) for role in roles):
            labels = "、".join(menus.ROLE_LABELS.get(role, role) for role in roles)
            route = getattr(request.scope.get("route"), "path", request.url.path)
            raise audit.refused(session, principal, Forbidden(
                f"此页面仅限{labels}使用", code="role_required"),
                action="platform.access", route=f"{request.method} {route}")
        return principal

    return guard


Steward = Annotated[Principal, Depends(needs(menus.STEWARD))]
Requester = Annotated[Principal, Depends(needs(menus.REQUESTER))]
Approver = Annotated[Principal, Depends(needs(menus.APPROVER))]
Auditor = Annotated[Principal, Depends(needs(menus.AUDITOR))]
Admin = Annotated[Principal, Depends(needs(menus.ADMIN))]
