"""The administrator's pages: departments, users and their roles, token revocation, and
the requests overdue across the platform."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, Field, ValidationError

from govdata.console import menus, views
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
ROLE_CHOICES = [(role, label) for role, label in menus.ROLE_LABELS.items()]


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
        "role_choices": ROLE_CHOICES, "filters": {"department": department or ""},
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


@router.post("/tokens/revoke")
def revoke_token(request: Request, session: SessionDep, principal: Admin,
                 jti: Annotated[str, Form()] = ""):
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
        errors.add("jti", exc.detail)
    if errors:
        return _users_page(request, session, principal, None, 0,
                           values={"roles": [], "jti": jti}, errors=errors, status=422)
    return views.done("/console/admin/users", f"已吊销令牌 {jti.strip()}")


@router.get("/overdue")
def overdue(request: Request, session: SessionDep, principal: Overseer, offset: Offset = 0):
    rows, total = requests.list_requests(session, principal, overdue=True, limit=PAGE_SIZE,
                                         offset=offset)
    return views.page(request, principal, "admin_overdue.html", {
        "rows": rows, "pager": Pager(total, offset), "today": clock.today()})
