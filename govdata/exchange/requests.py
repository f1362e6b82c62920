"""Share requests and the provider's decisions (RULES.md §1).

- ``request_share``: a requester of the consumer department asks for a published resource
  of another department. ``none`` (the resource, or an item asked for) → 409
  ``share_refused_negative_list`` citing the legal basis, on the ledger as refused; only
  ``unconditional`` items → granted at once (request and grant on record); a
  ``conditional`` item → pending, with a deadline in working days
  (``GOVDATA_SHARE_REPLY_WORKING_DAYS``, default 10) from the working-day calendar.
- ``approve_request`` (possibly fewer items, a shorter period) and ``reject_request``
  (a reason is required): an approver of the provider department. Nobody decides their
  own department's request; a request that is not pending → 409 ``request_not_pending``.
- ``withdraw_request``: the consumer department's requesters, while pending.

Every act writes a ledger entry in its transaction, every refusal one in a transaction of
its own; both departments see the request's whole history and get notified.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import service as catalog_service
from govdata.catalog.models import Resource, Status
from govdata.exchange import notifications, parties, sharing
from govdata.exchange.models import (
    Grant,
    GrantStatus,
    RequestEvent,
    RequestStatus,
    ShareRequest,
)
from govdata.platform import audit, clock
from govdata.platform.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation
from govdata.platform.models import Department
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings
from govdata.platform.workdays import WorkCalendar

SYSTEM_ACTOR = "platform"


# --- reading ---------------------------------------------------------------------------

def get_request(session: Session, principal: Principal, request_id: int, *,
                action: str = "exchange.request.view") -> ShareRequest:
    """A request as one of its two departments (or an overseer) sees it. Anyone else's
    attempt is refused and on the ledger."""
    found = session.get(ShareRequest, request_id)
    if found is None:
        raise NotFound(f"共享申请 {request_id} 不存在", code="request_not_found")
    if not (parties.oversees(principal, found.provider, found.consumer)
            or parties.is_member(principal, found.provider)
            or parties.is_member(principal, found.consumer)):
        raise audit.refused(session, principal, Forbidden(
            f"共享申请 {request_id} 不属于你的部门", code="not_request_party"),
            action=action, resource=found.resource.code, request=request_id)
    return found


def is_overdue(request: ShareRequest, today: dt.date) -> bool:
    return (request.status == RequestStatus.pending and request.deadline is not None
            and today > request.deadline)


def list_requests(
    session: Session,
    principal: Principal,
    *,
    side: str | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    resource: str | None = None,
    department: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[ShareRequest], int]:
    """Requests the principal's department sent (``side=consumer``), received
    (``provider``) or both; overseers see every department's (``department`` narrows to
    one). ``overdue`` keeps the pending requests past their deadline. Newest first."""
    query = parties.by_side(select(ShareRequest), principal, side=side,
                            department=department, consumer=ShareRequest.consumer_id,
                            provider=ShareRequest.provider_id)
    if status is not None:
        query = query.where(ShareRequest.status == status)
    if overdue is not None:
        late = (ShareRequest.status == RequestStatus.pending) & (
            ShareRequest.deadline < clock.today())
        query = query.where(late if overdue else ~late)
    if resource is not None:
        query = query.join(ShareRequest.resource).where(Resource.code == resource)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ShareRequest.id.desc()).limit(limit).offset(offset))
    return list(rows), total


# --- asking ----------------------------------------------------------------------------

def _event(request: ShareRequest, actor: str, action: str, note: str | None = None) -> None:
    request.events.append(RequestEvent(at=clock.now(), actor=actor, action=action, note=note))


def _check_asked(resource: Resource, data_items: list[str] | None, until: dt.date,
                 purpose: str, basis: str) -> list[str]:
    """The items asked for (all shareable ones when none are named), or why not."""
    problems: list[dict[str, Any]] = []
    if not purpose.strip():
        problems.append({"loc": ["purpose"], "msg": "须说明用途 (purpose required)"})
    if not basis.strip():
        problems.append({"loc": ["basis"], "msg": "须说明需求依据 (basis required)"})
    if until <= clock.today():
        problems.append({"loc": ["until"], "msg": "截止日期须晚于今天 (until must be later)"})
    known = {item.name for item in resource.items}
    names = list(dict.fromkeys(data_items or []))
    for name in names:
        if name not in known:
            problems.append({"loc": ["data_items", name],
                             "msg": f"信息资源 {resource.code} 没有信息项 {name}"})
    if problems:
        raise RuleViolation("共享申请不完整 (invalid request)", code="request_invalid",
                            errors=problems)
    return names


def _resolve_resource(session: Session, principal: Principal, code: str,
                      consumer: Department) -> Resource:
    resource = catalog_service.get_resource(session, principal, code)
    if resource.department_id == consumer.id:
        raise RuleViolation("不能申请本部门的信息资源 (own resource)", code="own_resource")
    if resource.status != Status.published:
        raise Conflict(f"信息资源 {code} 未发布或已停用, 不能申请 (not published)",
                       code="resource_not_published")
    return resource


def request_share(
    session: Session,
    principal: Principal,
    settings: Settings,
    *,
    resource: str,
    purpose: str,
    basis: str,
    until: dt.date,
    data_items: list[str] | None = None,
) -> ShareRequest:
    """A consumer department's request; granted at once when every item asked for is
    unconditional, else pending for the provider."""
    action = "exchange.request"
    consumer = parties.acting_department(session, principal, "requester", action=action,
                                         resource=resource)
    try:
        found = _resolve_resource(session, principal, resource, consumer)
        names = _check_asked(found, data_items, until, purpose, basis)
        if not sharing.resource_is_shared(found):
            raise sharing.negative_list_refusal(found)
        refused = sharing.refused_items(found, names)
        if refused:
            raise sharing.negative_list_refusal(found, refused)
        names = names or sharing.shareable_items(found)
        if not names:
            raise sharing.negative_list_refusal(found)
    except DomainError as error:
        raise audit.refused(session, principal, error, action=action, resource=resource,
                            data_items=data_items or None, purpose=purpose) from None
    now = clock.now()
    request = ShareRequest(resource=found, provider=found.department, consumer=consumer,
                           requester=principal.username, data_items=names,
                           purpose=purpose.strip(), basis=basis.strip(), until=until,
                           status=RequestStatus.pending.value, created_at=now,
                           overdue_notified=False)
    session.add(request)
    _event(request, principal.username, "submitted")
    if sharing.needs_decision(found, names):
        calendar = WorkCalendar.from_settings(settings)
        request.deadline = calendar.add_working_days(clock.local_date(now),
                                                     settings.share_reply_working_days)
        session.flush()
        notifications.notify(session, found.department, kind="request.created",
                             subject_type="request", subject_id=request.id,
                             title=f"新的共享申请: {consumer.name} 申请 {found.name}",
                             resource=found.code, consumer=consumer.code,
                             deadline=request.deadline.isoformat())
    else:
        _grant(request, SYSTEM_ACTOR, names, until, "无条件共享, 自动授权")
        session.flush()
        notifications.notify(session, found.department, kind="request.granted",
                             subject_type="request", subject_id=request.id,
                             title=f"无条件共享已自动授权: {consumer.name} 获得 {found.name}",
                             resource=found.code, consumer=consumer.code,
                             grant=request.grant.id)
    audit.record(session, principal, action=action, resource=found.code,
                 request=request.id, status=request.status, data_items=names,
                 purpose=request.purpose, until=until.isoformat(), owner=found.department.code,
                 grant=request.grant.id if request.grant else None,
                 deadline=request.deadline.isoformat() if request.deadline else None)
    return request


def _grant(request: ShareRequest, actor: str, names: list[str], until: dt.date,
           note: str | None) -> Grant:
    now = clock.now()
    grant = Grant(resource=request.resource, provider=request.provider,
                  consumer=request.consumer, data_items=names, purpose=request.purpose,
                  starts=clock.local_date(now), ends=until, status=GrantStatus.active.value,
                  created_at=now)
    request.grant = grant
    request.status = RequestStatus.granted.value
    request.decided_at, request.decided_by = now, actor
    request.decision_reason = note
    _event(request, actor, "granted" if actor == SYSTEM_ACTOR else "approved", note)
    return grant


# --- deciding --------------------------------------------------------------------------

def _decidable(session: Session, principal: Principal, request_id: int, action: str
               ) -> ShareRequest:
    """The request, if the principal is an approver of its provider and it is pending."""
    request = get_request(session, principal, request_id, action=action)
    code = request.resource.code
    if parties.is_member(principal, request.consumer):
        raise audit.refused(session, principal, Forbidden(
            "不能审批本部门提出的共享申请 (own department's request)", code="own_request"),
            action=action, resource=code, request=request_id)
    if not (principal.has("approver") and parties.is_member(principal, request.provider)):
        raise parties.refuse_outsider(session, principal, request.provider, action=action,
                                      code="not_provider_approver", resource=code,
                                      request=request_id)
    _require_pending(session, principal, request, action, "审批")
    return request


def _require_pending(session: Session, principal: Principal, request: ShareRequest,
                     action: str, verb: str) -> None:
    if request.status != RequestStatus.pending:
        raise audit.refused(session, principal, Conflict(
            f"共享申请 {request.id} 已是 {request.status}, 不能再{verb} (not pending)",
            code="request_not_pending"), action=action, resource=request.resource.code,
            request=request.id)


def approve_request(session: Session, principal: Principal, request_id: int, *,
                    data_items: list[str] | None = None, until: dt.date | None = None,
                    note: str | None = None) -> ShareRequest:
    """Grant the request, possibly for fewer items or a shorter period."""
    action = "exchange.approve"
    request = _decidable(session, principal, request_id, action)
    resource = request.resource
    try:
        names = _approved_items(request, data_items)
        until = _approved_until(request, until)
    except DomainError as error:
        raise audit.refused(session, principal, error, action=action, resource=resource.code,
                            request=request_id) from None
    grant = _grant(request, principal.username, names, until, note)
    session.flush()
    notifications.notify(session, request.consumer, kind="request.decided",
                         subject_type="request", subject_id=request.id,
                         title=f"共享申请已批准: {resource.name}", resource=resource.code,
                         status=request.status, grant=grant.id, data_items=names,
                         until=until.isoformat())
    audit.record(session, principal, action=action, resource=resource.code, request=request.id,
                 grant=grant.id, data_items=names, until=until.isoformat(),
                 consumer=request.consumer.code, purpose=request.purpose, note=note)
    return request


def _approved_items(request: ShareRequest, data_items: list[str] | None) -> list[str]:
    resource = request.resource
    if not sharing.resource_is_shared(resource):
        raise Conflict(f"信息资源 {resource.code} 已停用或不予共享, 不能批准",
                       code="resource_not_shared")
    names = list(dict.fromkeys(data_items)) if data_items else list(request.data_items)
    extra = [name for name in names if name not in request.data_items]
    if extra:
        raise RuleViolation("只能批准申请中的信息项 (only items asked for)",
                            code="data_items_not_requested",
                            errors=[{"loc": ["data_items", name], "msg": "未申请此信息项"}
                                    for name in extra])
    refused = sharing.refused_items(resource, names)
    if refused:
        raise sharing.negative_list_refusal(resource, refused)
    return names


def _approved_until(request: ShareRequest, until: dt.date | None) -> dt.date:
    until = until or request.until
    if until > request.until or until <= clock.today():
        raise RuleViolation("授权截止日期须晚于今天且不晚于申请的截止日期",
                            code="until_invalid",
                            errors=[{"loc": ["until"], "msg": f"today < until ≤ {request.until}"}])
    return until


def reject_request(session: Session, principal: Principal, request_id: int, *,
                   reason: str) -> ShareRequest:
    """Refuse the request; the reason is required."""
    action = "exchange.reject"
    request = _decidable(session, principal, request_id, action)
    if not reason or not reason.strip():
        raise audit.refused(session, principal, RuleViolation(
            "拒绝共享申请须说明理由 (a reason is required)", code="reason_required",
            errors=[{"loc": ["reason"], "msg": "必填"}]), action=action,
            resource=request.resource.code, request=request_id)
    reason = reason.strip()
    request.status = RequestStatus.refused.value
    request.decided_at, request.decided_by = clock.now(), principal.username
    request.decision_reason = reason
    _event(request, principal.username, "refused", reason)
    session.flush()
    notifications.notify(session, request.consumer, kind="request.decided",
                         subject_type="request", subject_id=request.id,
                         title=f"共享申请被拒绝: {request.resource.name}",
                         resource=request.resource.code, status=request.status, reason=reason)
    audit.record(session, principal, action=action, resource=request.resource.code,
                 request=request.id, reason=reason, consumer=request.consumer.code)
    return request


def withdraw_request(session: Session, principal: Principal, request_id: int) -> ShareRequest:
    """The consumer department takes back its pending request."""
    action = "exchange.withdraw"
    request = get_request(session, principal, request_id, action=action)
    code = request.resource.code
    if not (principal.has("requester") and parties.is_member(principal, request.consumer)):
        raise parties.refuse_outsider(session, principal, request.consumer, action=action,
                                      code="not_request_consumer", resource=code,
                                      request=request_id)
    _require_pending(session, principal, request, action, "撤回")
    request.status = RequestStatus.withdrawn.value
    _event(request, principal.username, "withdrawn")
    session.flush()
    notifications.notify(session, request.provider, kind="request.withdrawn",
                         subject_type="request", subject_id=request.id,
                         title=f"共享申请已撤回: {request.consumer.name} 申请的 "
                               f"{request.resource.name}", resource=code)
    audit.record(session, principal, action=action, resource=code, request=request.id,
                 owner=request.provider.code)
    return request
