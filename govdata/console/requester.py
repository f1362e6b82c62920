"""The requester's pages: the share catalog, the request form, "my requests" with their
history, granted data (preview and download) and raising a dispute."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, Field, ValidationError

from govdata.catalog import api as _catalog_api  # noqa: F401 - registers the rcode convertor
from govdata.catalog import search
from govdata.catalog import service as catalog_service
from govdata.catalog.datastore.api import StreamBind, download
from govdata.console import views
from govdata.console.auth import Requester
from govdata.console.views import PAGE_SIZE, Pager
from govdata.exchange import access, disputes, grants, requests, sharing
from govdata.platform import clock
from govdata.platform.deps import SessionDep, SettingsDep
from govdata.platform.errors import DomainError
from govdata.platform.web import FormErrors, csrf_protect, form_errors

router = APIRouter(prefix="/console", include_in_schema=False,
                   dependencies=[Depends(csrf_protect)])
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
SHARED = ["unconditional", "conditional"]


class RequestForm(BaseModel):
    data_items: list[str] = Field(min_length=1)
    purpose: str = Field(min_length=1, max_length=4000)
    basis: str = Field(min_length=1, max_length=4000)
    until: dt.date


class DisputeForm(BaseModel):
    key: str = Field(min_length=1, max_length=200)
    item: str = Field(min_length=1, max_length=64)
    problem: str = Field(min_length=1, max_length=2000)


@router.get("/catalog")
def share_catalog(request: Request, session: SessionDep, principal: Requester,
                  q: str | None = None, share_type: str | None = None, offset: Offset = 0):
    result = search.search_resources(session, principal, q=q or None, status="published",
                                     share_type=share_type or SHARED, limit=PAGE_SIZE,
                                     offset=offset)
    return views.page(request, principal, "catalog.html", {
        "hits": [r for r, _ in result.hits], "pager": Pager(result.total, offset),
        "filters": {"q": q or "", "share_type": share_type or ""}})


def _request_form(request, session, principal, code, values, errors, status=200):
    resource = catalog_service.get_resource(session, principal, code)
    shareable = set(sharing.shareable_items(resource))
    items = [(i.name, f"{i.title} ({i.name})") for i in resource.items if i.name in shareable]
    return views.page(request, principal, "request_form.html", {
        "resource": resource, "items": items, "values": values, "errors": errors},
        status=status)


@router.get("/catalog/{code:rcode}/request")
def request_form(request: Request, code: str, session: SessionDep, principal: Requester):
    until = (clock.today() + dt.timedelta(days=365)).isoformat()
    return _request_form(request, session, principal, code,
                         {"until": until, "data_items": []}, FormErrors())


@router.post("/catalog/{code:rcode}/request")
async def ask(request: Request, code: str, session: SessionDep, principal: Requester,
              settings: SettingsDep):
    form = await request.form()
    values = {"data_items": form.getlist("data_items"), "purpose": form.get("purpose", ""),
              "basis": form.get("basis", ""), "until": form.get("until", "")}
    try:
        parsed = RequestForm.model_validate(values)
        with session.begin_nested():
            made = requests.request_share(session, principal, settings, resource=code,
                                          **parsed.model_dump())
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status not in (409, 422):
            raise
        return _request_form(request, session, principal, code, values, form_errors(exc),
                             status=422)
    outcome = "已自动授权" if made.status == "granted" else "已提交, 等待提供部门审批"
    return views.done(f"/console/my-requests/{made.id}", f"共享申请 {made.id} {outcome}")


@router.get("/my-requests")
def my_requests(request: Request, session: SessionDep, principal: Requester,
                status: str | None = None, offset: Offset = 0):
    rows, total = requests.list_requests(session, principal, side="consumer",
                                         status=status or None, limit=PAGE_SIZE,
                                         offset=offset)
    return views.page(request, principal, "my_requests.html", {
        "rows": rows, "pager": Pager(total, offset), "today": clock.today(),
        "is_overdue": requests.is_overdue, "filters": {"status": status or ""}})


@router.get("/my-requests/{request_id}")
def my_request(request: Request, request_id: int, session: SessionDep, principal: Requester):
    found = requests.get_request(session, principal, request_id)
    return views.page(request, principal, "request.html", {
        "share_request": found, "overdue": requests.is_overdue(found, clock.today()),
        "decide": False, "errors": FormErrors(), "values": {}})


@router.post("/my-requests/{request_id}/withdraw")
def withdraw(request_id: int, session: SessionDep, principal: Requester):
    requests.withdraw_request(session, principal, request_id)
    return views.done(f"/console/my-requests/{request_id}", "已撤回申请")


@router.get("/grants")
def my_grants(request: Request, session: SessionDep, principal: Requester,
              offset: Offset = 0):
    rows, total = grants.list_grants(session, principal, side="consumer", limit=PAGE_SIZE,
                                     offset=offset)
    return views.page(request, principal, "grants.html", {
        "rows": rows, "pager": Pager(total, offset), "status_of": grants.effective_status})


def _grant_page(request, session, principal, grant_id: int, offset: int, *,
                values=None, errors=None, status: int = 200):
    grant = grants.get_grant(session, principal, grant_id)
    preview = refusal = None
    try:
        preview = access.read_granted(session, principal, grant.resource.code, grant=grant_id,
                                      limit=PAGE_SIZE, offset=offset)
    except DomainError as exc:
        refusal = exc.detail
    titles = {item.name: item.title for item in grant.resource.items}
    return views.page(request, principal, "grant.html", {
        "grant": grant, "status": grants.effective_status(grant), "preview": preview,
        "refusal": refusal, "titles": titles, "items": grants.granted_items(grant),
        "item_choices": [(name, titles.get(name, name)) for name in grants.granted_items(grant)],
        "pager": Pager(preview.total or 0, offset) if preview else None,
        "values": values or {}, "errors": errors or FormErrors()}, status=status)


@router.get("/grants/{grant_id}")
def grant_page(request: Request, grant_id: int, session: SessionDep, principal: Requester,
               offset: Offset = 0):
    return _grant_page(request, session, principal, grant_id, offset)


@router.get("/grants/{grant_id}/download")
def grant_download(grant_id: int, session: SessionDep, principal: Requester,
                   bind: StreamBind):
    grant = grants.get_grant(session, principal, grant_id)
    plan = access.export_granted(session, principal, grant.resource.code, grant=grant_id,
                                 format="csv", bom=True, header="title")
    return download(bind, plan)


@router.post("/grants/{grant_id}/dispute")
def raise_dispute(request: Request, grant_id: int, session: SessionDep, principal: Requester,
                  settings: SettingsDep, key: Annotated[str, Form()] = "",
                  item: Annotated[str, Form()] = "", problem: Annotated[str, Form()] = ""):
    values = {"key": key, "item": item, "problem": problem}
    grant = grants.get_grant(session, principal, grant_id)
    try:
        record = DisputeForm.model_validate(values)
        with session.begin_nested():
            dispute = disputes.open_dispute(session, principal, settings,
                                            resource=grant.resource.code,
                                            records=[record.model_dump()])
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status not in (409, 422):
            raise
        errors = form_errors(exc)
        for key_name in list(errors):  # the service names records.0.<field>
            if key_name.startswith("records.0."):
                errors.add(key_name.removeprefix("records.0."), errors.pop(key_name))
        return _grant_page(request, session, principal, grant_id, 0, values=values,
                           errors=errors, status=422)
    return views.done(f"/console/grants/{grant_id}",
                      f"已提出数据校核 {dispute.id}, 答复期限 {dispute.deadline.isoformat()}")
