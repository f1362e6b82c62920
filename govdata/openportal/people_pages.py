"""The portal's people side as pages: sign-up, sign-in and the account, applications for
conditional open data and their API keys, data requests and error reports with their
public status pages. Every form carries the CSRF token (``csrf_protect``) and shows the
services' refusals next to their fields; no rule lives here."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from starlette.datastructures import FormData

from govdata.openportal import accounts, apikeys, applications, feedback, service
from govdata.openportal.api import base_url
from govdata.openportal.deps import SESSION_COOKIE, OptionalAccount, account_principal
from govdata.openportal.masking import public_items
from govdata.openportal.models import Account
from govdata.openportal.pages import PageNumber, page, pages_of
from govdata.openportal.people_schemas import (
    application_out,
    data_request_out,
    error_report_out,
    key_out,
)
from govdata.openportal.ratelimit import RATE_LIMITED
from govdata.platform import clock
from govdata.platform.deps import SessionDep, SettingsDep
from govdata.platform.errors import DomainError
from govdata.platform.models import Department
from govdata.platform.web import Redirect, csrf_protect, form_errors

router = APIRouter(include_in_schema=False, dependencies=[RATE_LIMITED, Depends(csrf_protect)])
UNDERTAKING = ("本人/本单位承诺: 仅将所获数据用于申请中所述用途; 采取必要的安全保护措施, "
               "不向任何第三方提供、转让或公开; 不尝试识别个人身份; "
               "使用期限届满或授权撤销后删除全部数据; 违反承诺的, 愿承担相应法律责任。")


async def form_fields(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_fields)]


def signed_in(request: Request, account: OptionalAccount) -> Account:
    """The signed-in account, else off to the sign-in page and back here afterwards."""
    if account is None:
        raise Redirect(f"/account/sign-in?next={quote(request.url.path)}")
    return account


SignedIn = Annotated[Account, Depends(signed_in)]


def see_other(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def safe_next(value: str | None) -> str:
    """Only a path of this site (no ``//host`` or scheme) is followed after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/account"


# --- accounts --------------------------------------------------------------------------

@router.get("/account/sign-up", response_class=HTMLResponse)
def sign_up_form(request: Request, account: OptionalAccount) -> HTMLResponse:
    return page(request, "sign_up.html", account, values={}, errors={})


@router.post("/account/sign-up", response_class=HTMLResponse)
def sign_up(request: Request, form: Form, session: SessionDep, settings: SettingsDep):
    values = {key: str(form.get(key) or "") for key in ("email", "name", "organisation")}
    try:
        accounts.register(session, email=values["email"], password=str(form.get("password") or ""),
                          name=values["name"], organisation=values["organisation"] or None)
    except DomainError as error:
        return page(request, "sign_up.html", None, status=422, values=values,
                    errors=form_errors(error))
    return _signed_in(request, session, settings, values["email"], str(form.get("password")),
                      "/account")


def _signed_in(request: Request, session, settings, email: str, password: str,
               target: str) -> RedirectResponse:
    _, token, expires = accounts.sign_in(session, settings, email=email, password=password)
    response = see_other(target)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https",
                        max_age=int((expires - clock.now()).total_seconds()))
    return response


@router.get("/account/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, account: OptionalAccount, next: str = "") -> HTMLResponse:
    return page(request, "sign_in.html", account, values={"next": safe_next(next)}, errors={})


@router.post("/account/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, form: Form, session: SessionDep, settings: SettingsDep):
    values = {"email": str(form.get("email") or ""), "next": safe_next(str(form.get("next")))}
    try:
        return _signed_in(request, session, settings, values["email"],
                          str(form.get("password") or ""), values["next"])
    except DomainError as error:
        errors = form_errors(error)
        return page(request, "sign_in.html", None, status=401, values=values, errors=errors)


@router.post("/account/sign-out")
def sign_out(request: Request, session: SessionDep) -> RedirectResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.sign_out(session, token)
    response = see_other("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, session: SessionDep, account: SignedIn) -> HTMLResponse:
    found = [application_out(a, applications.resource_of(session, a))
             for a in applications.mine(session, account)]
    keys = [key_out(k, a, applications.resource_of(session, a))
            for k, a in apikeys.keys_of(session, account)]
    return page(request, "account.html", account, applications=found, keys=keys)


# --- applications and keys -----------------------------------------------------------------

def _application_form(request, account, dataset, values, errors, status=200) -> HTMLResponse:
    items = [(item.name, f"{item.title} ({item.name})") for item in public_items(dataset)]
    return page(request, "apply.html", account, status=status, dataset=dataset,
                name=service.dataset_name(dataset.code), items=items, values=values,
                errors=errors)


@router.get("/datasets/{name}/apply", response_class=HTMLResponse)
def apply_form(name: str, request: Request, session: SessionDep,
               account: SignedIn) -> HTMLResponse:
    dataset = service.open_resource(session, name)
    values = {"undertaking": UNDERTAKING, "data_items": [i.name for i in public_items(dataset)],
              "until": (clock.today() + dt.timedelta(days=90)).isoformat()}
    return _application_form(request, account, dataset, values, {})


@router.post("/datasets/{name}/apply", response_class=HTMLResponse)
def apply(name: str, request: Request, form: Form, session: SessionDep, settings: SettingsDep,
          account: SignedIn):
    dataset = service.open_resource(session, name)
    values = {"purpose": str(form.get("purpose") or ""),
              "undertaking": str(form.get("undertaking") or ""),
              "until": str(form.get("until") or ""),
              "data_items": [str(v) for v in form.getlist("data_items")]}
    try:
        until = dt.date.fromisoformat(values["until"]) if values["until"] else None
    except ValueError:
        until = None
    try:
        found = applications.apply(session, account, settings, dataset=name,
                                   purpose=values["purpose"], data_items=values["data_items"],
                                   undertaking=values["undertaking"], until=until,
                                   principal=account_principal(request, account))
    except DomainError as error:
        return _application_form(request, account, dataset, values, form_errors(error), 422)
    return see_other(f"/account/applications/{found.id}")


def _application_page(request, session, account, application_id: int, *,
                      new_key: str | None = None, status: int = 200) -> HTMLResponse:
    found = applications.get_own(session, account, application_id)
    resource = applications.resource_of(session, found)
    keys = [key_out(k, a, resource) for k, a in apikeys.keys_of(session, account)
            if a.id == found.id]
    return page(request, "application.html", account, status=status,
                application=application_out(found, resource), keys=keys, new_key=new_key,
                base=base_url(request, request.app.state.settings))


@router.get("/account/applications/{application_id}", response_class=HTMLResponse)
def application_page(application_id: int, request: Request, session: SessionDep,
                     account: SignedIn) -> HTMLResponse:
    return _application_page(request, session, account, application_id)


@router.post("/account/applications/{application_id}/keys", response_class=HTMLResponse)
def issue_key(application_id: int, request: Request, session: SessionDep,
              account: SignedIn) -> HTMLResponse:
    """The new key is on this response only (``Cache-Control: no-store``)."""
    _, raw = apikeys.issue(session, account, application_id,
                           principal=account_principal(request, account))
    return _application_page(request, session, account, application_id, new_key=raw,
                             status=201)


@router.post("/account/keys/{key_id}/revoke")
def revoke_key(key_id: str, request: Request, session: SessionDep,
               account: SignedIn) -> RedirectResponse:
    key = apikeys.revoke_own(session, account, key_id,
                             principal=account_principal(request, account))
    return see_other(f"/account/applications/{key.application_id}")


# --- data requests ---------------------------------------------------------------------

def _departments(session) -> list[tuple[str, str]]:
    return [(code, name) for code, name in session.execute(
        select(Department.code, Department.name).order_by(Department.code))]


@router.get("/requests", response_class=HTMLResponse)
def requests_page(request: Request, session: SessionDep, account: OptionalAccount,
                  page_number: PageNumber = 1) -> HTMLResponse:
    found, total = feedback.list_requests(session, limit=20, offset=(page_number - 1) * 20)
    shown = [data_request_out(f, feedback.department_of(session, f.department_id))
             for f in found]
    return page(request, "requests.html", account, items=shown, total=total,
                page_number=page_number, pages=pages_of(total, page_number, 20),
                page_href=lambda n: f"/requests?page={n}")


@router.get("/requests/new", response_class=HTMLResponse)
def request_form(request: Request, session: SessionDep, account: OptionalAccount,
                 department: str = "") -> HTMLResponse:
    values = {"department": department, "contact_email": account.email if account else ""}
    return page(request, "request_form.html", account, values=values, errors={},
                departments=_departments(session))


@router.post("/requests", response_class=HTMLResponse)
def submit_request(request: Request, form: Form, session: SessionDep,
                   account: OptionalAccount):
    values = {key: str(form.get(key) or "")
              for key in ("title", "description", "department", "contact_email")}
    try:
        found = feedback.submit_request(
            session, title=values["title"], description=values["description"],
            department=values["department"] or None,
            contact_email=values["contact_email"] or None, account=account)
    except DomainError as error:
        return page(request, "request_form.html", account, status=422, values=values,
                    errors=form_errors(error), departments=_departments(session))
    return see_other(f"/requests/{found.id}")


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(request_id: int, request: Request, session: SessionDep,
                 account: OptionalAccount) -> HTMLResponse:
    found = feedback.get_request(session, request_id)
    return page(request, "request.html", account, item=data_request_out(
        found, feedback.department_of(session, found.department_id)))


# --- error reports ---------------------------------------------------------------------

def _report_form(request, account, dataset, values, errors, status=200) -> HTMLResponse:
    items = [(item.name, item.title) for item in public_items(dataset)]
    return page(request, "report_form.html", account, status=status, dataset=dataset,
                name=service.dataset_name(dataset.code), items=items, values=values,
                errors=errors)


@router.get("/datasets/{name}/report", response_class=HTMLResponse)
def report_form(name: str, request: Request, session: SessionDep,
                account: OptionalAccount) -> HTMLResponse:
    dataset = service.open_resource(session, name)
    values = {"contact_email": account.email if account else ""}
    return _report_form(request, account, dataset, values, {})


@router.post("/datasets/{name}/report", response_class=HTMLResponse)
def submit_report(name: str, request: Request, form: Form, session: SessionDep,
                  account: OptionalAccount):
    dataset = service.open_resource(session, name)
    values = {key: str(form.get(key) or "")
              for key in ("data_item", "record", "description", "contact_email")}
    try:
        found = feedback.submit_report(
            session, dataset=name, description=values["description"],
            data_item=values["data_item"] or None, record=values["record"] or None,
            contact_email=values["contact_email"] or None, account=account)
    except DomainError as error:
        return _report_form(request, account, dataset, values, form_errors(error), 422)
    return see_other(f"/reports/{found.id}")


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(report_id: int, request: Request, session: SessionDep,
                account: OptionalAccount) -> HTMLResponse:
    found = feedback.get_report(session, report_id)
    return page(request, "report.html", account,
                item=error_report_out(found, feedback.resource_of(session, found)))
