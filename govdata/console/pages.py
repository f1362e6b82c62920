"""The console's routes: sign-in, sign-out and the home page; each role's pages come from
their own modules. Every form post passes the CSRF check of the shared web layer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from govdata.console import auth, views
from govdata.platform import service
from govdata.platform.deps import SessionDep, SettingsDep
from govdata.platform.errors import Unauthorized
from govdata.platform.web import FormErrors, csrf_protect

router = APIRouter(prefix="/console", include_in_schema=False,
                   dependencies=[Depends(csrf_protect)])


@router.get("")
def root() -> RedirectResponse:
    return RedirectResponse(auth.HOME, status_code=307)


@router.get("/login")
def sign_in_form(request: Request, next: str | None = None, expired: bool = False):
    return views.page(request, None, "login.html", {
        "values": {}, "errors": FormErrors(), "next": auth.safe_next(next),
        "expired": expired})


@router.post("/login")
def sign_in(request: Request, session: SessionDep, settings: SettingsDep,
            username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
            next: Annotated[str, Form()] = auth.HOME):
    try:
        issued = service.login(session, settings, username=username.strip(),
                               password=password,
                               client_ip=request.client.host if request.client else None)
    except Unauthorized as refusal:
        errors = FormErrors()
        errors.add("password", refusal.detail)
        return views.page(request, None, "login.html", {
            "values": {"username": username}, "errors": errors, "next": auth.safe_next(next),
            "expired": False}, status=401)
    response = RedirectResponse(auth.safe_next(next), status_code=303)
    auth.set_session(response, request, issued.token, settings.token_ttl_seconds)
    return response


@router.post("/logout")
def sign_out(request: Request, session: SessionDep, principal: auth.Staff):
    service.sign_out(session, principal)
    response = RedirectResponse(f"{auth.SIGN_IN}?expired=1", status_code=303)
    auth.clear_session(response)
    return response


@router.get("/")
def home(request: Request, principal: auth.Staff):
    return views.page(request, principal, "home.html")
