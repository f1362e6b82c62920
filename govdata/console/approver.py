"""The approver's pages: the inbox of pending requests by deadline (overdue marked), the
decision (approve fewer items or a shorter period, or refuse with a reason) and disputes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, Field, ValidationError

from govdata.console import views
from govdata.console.auth import Approver, needs
from govdata.console.views import PAGE_SIZE, Pager
from govdata.exchange import disputes, requests
from govdata.platform import clock
from govdata.platform.deps import SessionDep
from govdata.platform.errors import DomainError
from govdata.platform.principal import Principal
from govdata.platform.web import FormErrors, csrf_protect, form_errors

router = APIRouter(prefix="/console", include_in_schema=False,
                   dependencies=[Depends(csrf_protect)])
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
INBOX_MAX = 1000  # pending requests read to order by deadline
DisputeAnswerer = Annotated[Principal, Depends(needs(("approver", "steward")))]


class ApproveForm(BaseModel):
    data_items: list[str] = Field(min_length=1)
    until: dt.date
    note: str | None = Field(default=None, max_length=4000)


def approval(form) -> dict:
    """An approval form's values: the items kept, the date, an optional note."""
    return {"data_items": form.getlist("data_items"), "until": form.get("until", ""),
            "note": (form.get("note") or "").strip() or None}


class RejectForm(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


@router.get("/inbox")
def inbox(request: Request, session: SessionDep, principal: Approver):
    rows, total = requests.list_requests(session, principal, side="provider", status="pending",
                                         limit=INBOX_MAX)
    today = clock.today()
    rows.sort(key=lambda r: (r.deadline or dt.date.max, r.id))
    return views.page(request, principal, "inbox.html", {
        "rows": rows, "total": total, "today": today, "is_overdue": requests.is_overdue})


def _decision_page(request, session, principal, request_id: int, *, values=None,
                   errors=None, status: int = 200):
    found = requests.get_request(session, principal, request_id)
    titles = {item.name: item.title for item in found.resource.items}
    defaults = {"data_items": list(found.data_items), "until": found.until.isoformat()}
    return views.page(request, principal, "request.html", {
        "share_request": found, "overdue": requests.is_overdue(found, clock.today()),
        "decide": found.status == "pending", "titles": titles,
        "values": values or defaults, "errors": errors or FormErrors()}, status=status)


@router.get("/inbox/{request_id}")
def decision(request: Request, request_id: int, session: SessionDep, principal: Approver):
    return _decision_page(request, session, principal, request_id)


@router.post("/inbox/{request_id}/approve")
async def approve(request: Request, request_id: int, session: SessionDep,
                  principal: Approver):
    values = approval(await request.form())
    try:
        parsed = ApproveForm.model_validate(values)
        with session.begin_nested():
            requests.approve_request(session, principal, request_id, **parsed.model_dump())
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status not in (409, 422):
            raise
        errors = views.collapse(form_errors(exc), "data_items")
        return _decision_page(request, session, principal, request_id, values=values,
                              errors=errors, status=422)
    return views.done(f"/console/inbox/{request_id}", f"已批准共享申请 {request_id}")


@router.post("/inbox/{request_id}/reject")
def reject(request: Request, request_id: int, session: SessionDep, principal: Approver,
           reason: Annotated[str, Form()] = ""):
    try:
        parsed = RejectForm.model_validate({"reason": reason.strip()})
        with session.begin_nested():
            requests.reject_request(session, principal, request_id, reason=parsed.reason)
    except (ValidationError, DomainError) as exc:
        if isinstance(exc, DomainError) and exc.status not in (409, 422):
            raise
        errors = form_errors(exc)
        if "reason" not in errors and "" in errors:
            errors.add("reason", errors.pop(""))
        return _decision_page(request, session, principal, request_id, errors=errors,
                              status=422)
    return views.done(f"/console/inbox/{request_id}", f"已拒绝共享申请 {request_id}")


@router.get("/disputes")
def dispute_list(request: Request, session: SessionDep, principal: DisputeAnswerer,
                 status: str | None = "open", offset: Offset = 0):
    rows, total = disputes.list_disputes(session, principal, side="provider",
                                         status=status or None, limit=PAGE_SIZE,
                                         offset=offset)
    return views.page(request, principal, "disputes.html", {
        "rows": rows, "pager": Pager(total, offset), "today": clock.today(),
        "is_overdue": disputes.is_overdue, "filters": {"status": status or ""}})


def _dispute_page(request, session, principal, dispute_id: int, *, values=None, errors=None,
                  status: int = 200):
    dispute = disputes.get_dispute(session, principal, dispute_id)
    return views.page(request, principal, "dispute.html", {
        "dispute": dispute, "overdue": disputes.is_overdue(dispute, clock.today()),
        "values": values or {}, "errors": errors or FormErrors()}, status=status)


@router.get("/disputes/{dispute_id}")
def dispute_page(request: Request, dispute_id: int, session: SessionDep,
                 principal: DisputeAnswerer):
    return _dispute_page(request, session, principal, dispute_id)


@router.post("/disputes/{dispute_id}/resolve")
def resolve(request: Request, dispute_id: int, session: SessionDep,
            principal: DisputeAnswerer, answer: Annotated[str, Form()] = "",
            corrected_version: Annotated[str, Form()] = ""):
    values = {"answer": answer.strip(), "corrected_version": corrected_version.strip()}
    errors = FormErrors()
    if not values["answer"]:
        errors.add("answer", "请填写更正说明或解释")
    if values["corrected_version"] and not values["corrected_version"].isdigit():
        errors.add("corrected_version", "版本号应为正整数")
    if not errors:
        try:
            with session.begin_nested():
                disputes.resolve_dispute(
                    session, principal, dispute_id, answer=values["answer"],
                    corrected_version=int(values["corrected_version"] or 0) or None)
        except DomainError as exc:
            if exc.status not in (409, 422):
                raise
            errors = form_errors(exc)
    if errors:
        return _dispute_page(request, session, principal, dispute_id, values=values,
                             errors=errors, status=422)
    return views.done(f"/console/disputes/{dispute_id}", f"已答复数据校核 {dispute_id}")
