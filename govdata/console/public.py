"""What the public sends to the department, answered by its approvers and stewards:
applications for conditional open data (approve fewer items or an earlier date, refuse or
revoke with reasons), data requests (数据需求) and error reports (纠错). The same service
functions as ``/api/v1/open/provider/...`` and ``.../answer``; their rules decide."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import ValidationError

from govdata.console import menus, views
from govdata.console.approver import ApproveForm, approval
from govdata.console.auth import needs
from govdata.console.views import PAGE_SIZE, Pager
from govdata.openportal import applications, feedback, service
from govdata.openportal.models import Account
from govdata.platform.deps import SessionDep
from govdata.platform.errors import DomainError
from govdata.platform.principal import Principal
from govdata.platform.web import FormErrors, csrf_protect, form_errors

router = APIRouter(prefix="/console", include_in_schema=False,
                   dependencies=[Depends(csrf_protect)])
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Status = Annotated[str | None, Query(max_length=20)]
Provider = Annotated[Principal, Depends(needs(menus.PUBLIC_SIDE))]
Answerer = Annotated[Principal, Depends(needs(menus.DATA_REQUESTS))]
Answer = Annotated[str, Form(max_length=5000)]


def _refused(exc: Exception) -> FormErrors:
    """A rule's refusal for the form (a 403 or 404 is the error page's, re-raised)."""
    if isinstance(exc, DomainError) and exc.status not in (409, 422):
        raise exc
    return views.collapse(form_errors(exc), "data_items")


def _titles(resource) -> dict[str, str]:
    return {item.name: item.title for item in resource.items}


# --- applications for conditional open data ---------------------------------------------

@router.get("/applications")
def application_list(request: Request, session: SessionDep, principal: Provider,
                     status: Status = "pending", offset: Offset = 0):
    rows, total = applications.provider_queue(session, principal, status=status or None,
                                              limit=PAGE_SIZE, offset=offset)
    shown = [(a, applications.resource_of(session, a), session.get_one(Account, a.account_id))
             for a in rows]
    return views.page(request, principal, "applications.html", {
        "rows": shown, "pager": Pager(total, offset), "filters": {"status": status or ""},
        "statuses": [(s, applications.STATUS_TITLES[s]) for s in applications.STATUSES],
        "STATUS_TITLES": applications.STATUS_TITLES,
        "shown_status": applications.shown_status})


def _application_page(request, session, principal, application_id: int, *, values=None,
                      errors=None, status: int = 200):
    found = applications.get_as_provider(session, principal, application_id)
    resource = applications.resource_of(session, found)
    defaults = {"data_items": list(found.data_items), "until": found.until.isoformat()}
    return views.page(request, principal, "application.html", {
        "application": found, "resource": resource,
        "dataset": service.dataset_name(resource.code),
        "applicant": session.get_one(Account, found.account_id),
        "status_title": applications.STATUS_TITLES[applications.shown_status(found)],
        "may_decide": applications.may_decide(session, principal, found),
        "titles": _titles(resource), "values": values or defaults,
        "errors": errors or FormErrors()}, status=status)


@router.get("/applications/{application_id}")
def application_page(request: Request, application_id: int, session: SessionDep,
                     principal: Provider):
    return _application_page(request, session, principal, application_id)


@router.post("/applications/{application_id}/approve")
async def approve_application(request: Request, application_id: int, session: SessionDep,
                              principal: Provider):
    values = approval(await request.form())
    try:
        parsed = ApproveForm.model_validate(values)
        with session.begin_nested():
            applications.approve(session, principal, application_id, **parsed.model_dump())
    except (ValidationError, DomainError) as exc:
        return _application_page(request, session, principal, application_id, values=values,
                                 errors=_refused(exc), status=422)
    return views.done(f"/console/applications/{application_id}",
                      f"已批准开放数据申请 {application_id}")


def _with_reason(request, session, principal, application_id: int, reason: str, decide,
                 message: str):
    try:
        with session.begin_nested():
            decide(session, principal, application_id, reason=reason.strip())
    except DomainError as exc:
        return _application_page(request, session, principal, application_id,
                                 values={"reason": reason}, errors=_refused(exc), status=422)
    return views.done(f"/console/applications/{application_id}", message)


@router.post("/applications/{application_id}/reject")
def reject_application(request: Request, application_id: int, session: SessionDep,
                       principal: Provider, reason: Answer = ""):
    return _with_reason(request, session, principal, application_id, reason,
                        applications.reject, f"已拒绝开放数据申请 {application_id}")


@router.post("/applications/{application_id}/revoke")
def revoke_application(request: Request, application_id: int, session: SessionDep,
                       principal: Provider, reason: Answer = ""):
    return _with_reason(request, session, principal, application_id, reason,
                        applications.revoke, f"已撤销开放数据申请 {application_id}")


# --- data requests and error reports ----------------------------------------------------

@router.get("/data-requests")
def data_request_list(request: Request, session: SessionDep, principal: Answerer,
                      status: Status = "pending",
                      to: Annotated[Literal["department", "none"] | None, Query()] = None,
                      offset: Offset = 0):
    """The department's data requests; for administrators, those naming no department
    (``feedback.answer_request`` lets them answer exactly those)."""
    ours = any(principal.has(role) for role in menus.PUBLIC_SIDE)
    to = to or ("department" if ours else "none")
    rows, total = feedback.list_requests(
        session, status=status or None, unaddressed=to == "none",
        department=principal.department, limit=PAGE_SIZE, offset=offset)
    return views.page(request, principal, "data_requests.html", {
        "rows": rows, "pager": Pager(total, offset),
        "filters": {"status": status or "", "to": to},
        "scopes": [("department", "本部门"), ("none", "未指定部门")] if principal.has("admin")
        and ours else [],
        "statuses": [("pending", "待答复"), *feedback.REQUEST_OUTCOMES.items()],
        "titles": feedback.STATUS_TITLES})


def _data_request_page(request, session, principal, request_id: int, *, values=None,
                       errors=None, status: int = 200):
    found = feedback.get_request(session, request_id)
    return views.page(request, principal, "data_request.html", {
        "item": found, "department": feedback.department_of(session, found.department_id),
        "may_answer": feedback.may_answer_request(session, principal, found),
        "answer_action": f"/console/data-requests/{request_id}/answer",
        "outcomes": list(feedback.REQUEST_OUTCOMES.items()), "titles": feedback.STATUS_TITLES,
        "values": values or {}, "errors": errors or FormErrors()}, status=status)


@router.get("/data-requests/{request_id}")
def data_request_page(request: Request, request_id: int, session: SessionDep,
                      principal: Answerer):
    return _data_request_page(request, session, principal, request_id)


def _answered(request, session, principal, number: int, outcome: str, answer: str, *,
              answer_with, page, path: str, message: str):
    """Answer through the service; a rule's refusal re-renders the page beside the form."""
    try:
        with session.begin_nested():
            answer_with(session, principal, number, outcome=outcome, answer=answer)
    except DomainError as exc:
        return page(request, session, principal, number,
                    values={"outcome": outcome, "answer": answer}, errors=_refused(exc),
                    status=422)
    return views.done(f"/console/{path}/{number}", message)


@router.post("/data-requests/{request_id}/answer")
def answer_data_request(request: Request, request_id: int, session: SessionDep,
                        principal: Answerer, outcome: Annotated[str, Form()] = "",
                        answer: Answer = ""):
    return _answered(request, session, principal, request_id, outcome, answer,
                     answer_with=feedback.answer_request, page=_data_request_page,
                     path="data-requests", message=f"已答复数据需求 {request_id}")


@router.get("/error-reports")
def error_report_list(request: Request, session: SessionDep, principal: Provider,
                      status: Status = "pending", offset: Offset = 0):
    rows, total = feedback.list_reports(session, status=status or None,
                                        department=principal.department, limit=PAGE_SIZE,
                                        offset=offset)
    return views.page(request, principal, "error_reports.html", {
        "rows": [(r, feedback.resource_of(session, r)) for r in rows],
        "pager": Pager(total, offset), "filters": {"status": status or ""},
        "statuses": [("pending", "待答复"), *feedback.REPORT_OUTCOMES.items()],
        "titles": feedback.STATUS_TITLES})


def _error_report_page(request, session, principal, report_id: int, *, values=None,
                       errors=None, status: int = 200):
    found = feedback.get_report(session, report_id)
    resource = feedback.resource_of(session, found)
    return views.page(request, principal, "error_report.html", {
        "item": found, "resource": resource, "item_titles": _titles(resource),
        "may_answer": feedback.may_answer_report(session, principal, found),
        "answer_action": f"/console/error-reports/{report_id}/answer",
        "outcomes": list(feedback.REPORT_OUTCOMES.items()), "titles": feedback.STATUS_TITLES,
        "values": values or {}, "errors": errors or FormErrors()}, status=status)


@router.get("/error-reports/{report_id}")
def error_report_page(request: Request, report_id: int, session: SessionDep,
                      principal: Provider):
    return _error_report_page(request, session, principal, report_id)


@router.post("/error-reports/{report_id}/answer")
def answer_error_report(request: Request, report_id: int, session: SessionDep,
                        principal: Provider, outcome: Annotated[str, Form()] = "",
                        answer: Answer = ""):
    return _answered(request, session, principal, report_id, outcome, answer,
                     answer_with=feedback.answer_report, page=_error_report_page,
                     path="error-reports", message=f"已答复纠错 {report_id}")
