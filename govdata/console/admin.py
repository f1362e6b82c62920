"""The administrator's pages: departments, users (create, activate or deactivate, set
their roles), the tokens issued to them and their revocation, and the requests overdue
across the platform. The kernel's services decide whom an administrator governs (the
departments under its division; a superuser every one), as they do for the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, Field, ValidationError

from govdata.console import auth, menus, views
from govdata.console.auth import Admin, needs
from govdata.console.views import PAGE_SIZE, Pager
from govdata.exchange import requests
from govdata.platform import clock, service
from govdata.platform.deps import SessionDep
from govdata.platform.errors import DomainError
from govdata.platform.principal import Principal
from govdata.platform.web import FormErrors, csrf_protect, form_errors

router = APIRouter(prefix="/console/admin", include_in_schema=False,
                   dependencies=[Depends(csrf_protect)])
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Overseer = Annotated[Principal, Depends(needs(("admin", "auditor")))]


def role_choices(principal: Principal) -> list[tuple[str, str]]:
    return [(role, menus.ROLE_LABELS.get(role, role))
            for role in service.grantable_roles(principal)]


class UserForm(BaseModel):
    username: str = Field(min_length=2, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    department_code: str = Field(min_length=1)
    roles: list[str] = Field(min_length=1)
    password: str | None = Field(default=None, min_length=8)


def _users_page(request, session, principal, department: str | None, offset: int, *,
                values=None, errors=None, status: int = 200):
    users, total = service.list_users(session, principal, department=department,
                                      limit=PAGE_SIZE, offset=offset)
    departments, _ = service.list_departments(session, limit=1000, offset=0)
    return views.page(request, principal, "admin_users.html", {
        "users": users, "pager": Pager(total, offset),
        "departments": [(d.code, f"{d.name} ({d.code})") for d in departments],
        "department_rows": [(d.code, d.name) for d in departments],
        "role_choices": role_choices(principal), "filters": {"department": department or ""},
        "values": values or {"roles": []}, "errors": errors or FormErrors()}, status=status)


@router.get("/users")
def users(request: Request, session: SessionDep, principal: Admin,
          department: str | None = None, offset: Offset = 0):
    return _users_page(request, session, principal, department or None, offset)


@router.post("/users")
async def create_user(request: Request, session: SessionDep, principal: Admin):
    form = await request.form()
    values = {"username": (form.get("username") or "").strip(),
              "department_code": form.get("department_code") or "",
              "roles": form.getlist("roles"), "password": form.get("password") or None}
    try:
        parsed = UserForm.model_validate(values)
        with session.begin_nested():
            service.create_user(session, principal, **parsed.model_dump())
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status not in (409, 422):
            raise
        errors = form_errors(exc)
        if "" in errors:
            errors.add("username", errors.pop(""))
        values["password"] = None
        return _users_page(request, session, principal, None, 0, values=values,
                           errors=errors, status=422)
    return views.done("/console/admin/users", f"已创建用户 {parsed.username}")


def _user_page(request, session, principal, username: str, *, values=None, errors=None,
               status: int = 200):
    user = service.administered_user(session, principal, username, action="user.view")
    tokens, total = service.list_tokens(session, principal, username=username,
                                        active_only=True, limit=PAGE_SIZE)
    return views.page(request, principal, "admin_user.html", {
        "user": user, "tokens": tokens, "token_total": total, "now": clock.now(),
        "role_choices": role_choices(principal), "values": values or {"roles": user.roles},
        "errors": errors or FormErrors()}, status=status)


@router.get("/users/{username}")
def user_page(request: Request, username: str, session: SessionDep, principal: Admin):
    return _user_page(request, session, principal, username)


@router.post("/users/{username}/active")
def set_active(request: Request, username: str, session: SessionDep, principal: Admin,
               active: Annotated[bool, Form()]):
    service.set_user_active(session, principal, username, active=active)
    done = "已启用" if active else "已停用, 其令牌立即失效"
    return views.done(f"/console/admin/users/{username}", f"用户 {username} {done}")


@router.post("/users/{username}/roles")
async def set_roles(request: Request, username: str, session: SessionDep,
                    principal: Admin):
    roles = (await request.form()).getlist("roles")
    try:
        with session.begin_nested():
            service.set_user_roles(session, principal, username, roles=roles)
    except DomainError as exc:
        if exc.status not in (409, 422):
            raise
        errors = FormErrors()
        errors.add("roles", exc.detail)
        return _user_page(request, session, principal, username, values={"roles": roles},
                          errors=errors, status=422)
    return views.done(f"/console/admin/users/{username}",
                      f"已更新 {username} 的角色, 其此前的令牌立即失效")


def _tokens_page(request, session, principal, username: str | None, show_all: bool,
                 offset: int, *, errors=None, status: int = 200):
    rows, total = service.list_tokens(session, principal, username=username,
                                      active_only=not show_all, limit=PAGE_SIZE,
                                      offset=offset)
    return views.page(request, principal, "admin_tokens.html", {
        "rows": rows, "pager": Pager(total, offset), "now": clock.now(),
        "filters": {"username": username or "", "all": "1" if show_all else ""},
        "errors": errors or FormErrors()}, status=status)


@router.get("/tokens")
def tokens(request: Request, session: SessionDep, principal: Admin,
           username: Annotated[str | None, Query(max_length=100)] = None,
           show: Annotated[str | None, Query(alias="all", max_length=1)] = None,
           offset: Offset = 0):
    return _tokens_page(request, session, principal, username or None, show == "1", offset)


@router.post("/tokens/revoke")
def revoke_token(request: Request, session: SessionDep, principal: Admin,
                 jti: Annotated[str, Form()] = "",
                 back: Annotated[str, Form()] = "/console/admin/tokens"):
    errors = FormErrors()
    try:
        if not jti.strip():
            errors.add("jti", "请填写令牌编号 (jti)")
        else:
            with session.begin_nested():
                service.revoke_token(session, principal, jti=jti.strip())
    except DomainError as exc:
        if exc.status not in (404, 409, 422):
            raise
        errors.add("", exc.detail)
    if errors:
        return _tokens_page(request, session, principal, None, False, 0, errors=errors,
                            status=422)
    return views.done(auth.safe_next(back), f"已吊销令牌 {jti.strip()}")


@router.get("/overdue")
def overdue(request: Request, session: SessionDep, principal: Overseer, offset: Offset = 0):
    rows, total = requests.list_requests(session, principal, overdue=True, limit=PAGE_SIZE,
                                         offset=offset)
    return views.page(request, principal, "admin_overdue.html", {
        "rows": rows, "pager": Pager(total, offset), "today": clock.today()})
