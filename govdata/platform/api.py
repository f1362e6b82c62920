"""HTTP routes of the kernel: tokens, who am I, departments, users, the audit ledger."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from govdata.platform import audit, service
from govdata.platform.deps import (
    Admin,
    Auditor,
    CurrentPrincipal,
    Limit,
    Offset,
    SessionDep,
    SettingsDep,
)
from govdata.platform.models import Department, User
from govdata.platform.schemas import (
    AuditEventOut,
    DepartmentIn,
    DepartmentOut,
    MeOut,
    Page,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
    VerificationOut,
)

router = APIRouter(prefix="/api/v1")


def department_out(department: Department) -> DepartmentOut:
    return DepartmentOut(
        code=department.code, name=department.name, short_name=department.short_name,
        uscc=department.uscc, division_code=department.division_code,
        parent_code=department.parent.code if department.parent else None,
        created_at=department.created_at,
    )


def user_out(user: User) -> UserOut:
    return UserOut(username=user.username, display_name=user.display_name,
                   department=user.department.code, roles=user.roles,
                   is_active=user.is_active, created_at=user.created_at)


@router.post("/auth/token", response_model=TokenOut, tags=["identity"])
def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> TokenOut:
    issued = service.login(session, settings, username=form.username, password=form.password,
                           client_ip=request.client.host if request.client else None)
    return TokenOut(access_token=issued.token, expires_in=settings.token_ttl_seconds)


@router.get("/auth/me", response_model=MeOut, tags=["identity"])
def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(username=principal.username, department=principal.department,
                 roles=sorted(principal.roles), jti=principal.jti)


@router.get("/departments", response_model=Page[DepartmentOut], tags=["identity"])
def departments(session: SessionDep, _: CurrentPrincipal, limit: Limit = 20,
                offset: Offset = 0) -> Page[DepartmentOut]:
    rows, total = service.list_departments(session, limit=limit, offset=offset)
    return Page(items=[department_out(d) for d in rows], total=total, limit=limit, offset=offset)


@router.post("/departments", response_model=DepartmentOut, status_code=201, tags=["identity"])
def create_department(body: DepartmentIn, session: SessionDep, principal: Admin) -> DepartmentOut:
    department = service.create_department(session, principal, **body.model_dump())
    return department_out(department)


@router.get("/departments/{code}", response_model=DepartmentOut, tags=["identity"])
def department(code: str, session: SessionDep, _: CurrentPrincipal) -> DepartmentOut:
    return department_out(service.get_department(session, code))


@router.post("/users", response_model=UserOut, status_code=201, tags=["identity"])
def create_user(body: UserIn, session: SessionDep, principal: Admin) -> UserOut:
    return user_out(service.create_user(session, principal, **body.model_dump()))


@router.patch("/users/{username}", response_model=UserOut, tags=["identity"])
def change_user(username: str, body: UserPatch, session: SessionDep,
                principal: Admin) -> UserOut:
    """Deactivate, reactivate or set the roles of an account in the administrator's
    jurisdiction; the account's earlier tokens stop working at once."""
    user = service.administered_user(session, principal, username, action="user.change")
    if body.roles is not None:
        user = service.set_user_roles(session, principal, username, roles=body.roles)
    if body.active is not None:
        user = service.set_user_active(session, principal, username, active=body.active)
    return user_out(user)


@router.get("/audit/events", response_model=Page[AuditEventOut], tags=["audit"])
def audit_events(
    session: SessionDep,
    _: Auditor,
    actor: str | None = None,
    department: str | None = None,
    resource: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[AuditEventOut]:
    rows, total = audit.list_events(session, actor=actor, department=department,
                                    resource=resource, action=action, since=since, until=until,
                                    limit=limit, offset=offset)
    items = [
        AuditEventOut(seq=e.seq, occurred_at=e.occurred_at, actor=e.actor,
                      department=e.department, action=e.action, resource=e.resource,
                      outcome=e.outcome, entry=json.loads(e.body), entry_hash=e.entry_hash)
        for e in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/audit/verify", response_model=VerificationOut, tags=["audit"])
def audit_verify(session: SessionDep, _: Auditor) -> VerificationOut:
    return VerificationOut(**audit.verify(session).as_dict())
