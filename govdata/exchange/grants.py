"""Grants: which department may read which items of a resource, for what, until when.

A grant's status as everyone sees it is computed, so access is cut the moment a reason
appears, without waiting for any job:

- ``revoked``: the provider's approver revoked it (with a reason);
- ``expired``: its end date has passed (``expire_grants``, run by the worker, then records
  the expiry on the ledger and tells the consumer);
- ``suspended``: its resource was retired or put on the negative list (it comes back if the
  resource is shared again);
- ``active`` otherwise. A data item changed to ``none`` drops out of every grant
  (``granted_items``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, case, func, literal, or_, select
from sqlalchemy.orm import Session, lazyload

from govdata.catalog.models import Resource, ShareType, Status
from govdata.exchange import notifications, parties, sharing
from govdata.exchange.models import Grant, GrantStatus, RequestEvent, ShareRequest
from govdata.platform import audit, clock
from govdata.platform.errors import Conflict, NotFound, RuleViolation
from govdata.platform.principal import Principal

WORKER = Principal.system("worker")
STATUSES = tuple(status.value for status in GrantStatus)


def effective_status(grant: Grant, today: dt.date | None = None) -> str:
    today = today or clock.today()
    if grant.status != GrantStatus.active:
        return grant.status
    if grant.ends < today:
        return GrantStatus.expired.value
    if not sharing.resource_is_shared(grant.resource):
        return GrantStatus.suspended.value
    return GrantStatus.active.value


def status_expression(today: dt.date) -> ColumnElement[str]:
    """``effective_status`` in SQL, on ``Grant`` joined with its ``Resource``."""
    suspended = or_(Resource.status != Status.published.value,
                    Resource.share_type == ShareType.none.value)
    return case(
        (Grant.status != GrantStatus.active.value, Grant.status),
        (Grant.ends < today, literal(GrantStatus.expired.value)),
        (suspended, literal(GrantStatus.suspended.value)),
        else_=literal(GrantStatus.active.value))


def granted_items(grant: Grant) -> list[str]:
    """The grant's items that may still be shared (an item since put on the negative list
    drops out)."""
    shareable = set(sharing.shareable_items(grant.resource))
    return [name for name in grant.data_items if name in shareable]


def is_live(grant: Grant, today: dt.date | None = None) -> bool:
    today = today or clock.today()
    return effective_status(grant, today) == GrantStatus.active and grant.starts <= today


def live_grants(session: Session, *, consumer_id: str | ColumnElement, resource: Resource,
                today: dt.date | None = None) -> list[Grant]:
    """The consumer's grants on the resource that allow reading today, newest first (its
    departments and resource come from the session, not loaded again)."""
    today = today or clock.today()
    rows = session.scalars(select(Grant).options(lazyload("*")).where(
        Grant.consumer_id == consumer_id, Grant.resource_id == resource.id,
        Grant.status == GrantStatus.active.value, Grant.starts <= today, Grant.ends >= today,
    ).order_by(Grant.id.desc()))
    return [grant for grant in rows if is_live(grant, today)]


def get_grant(session: Session, principal: Principal, grant_id: int, *,
              action: str = "exchange.grant.view") -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(f"授权 {grant_id} 不存在", code="grant_not_found")
    if not (parties.oversees(principal, grant.provider, grant.consumer)
            or parties.is_member(principal, grant.provider)
            or parties.is_member(principal, grant.consumer)):
        raise parties.refuse_outsider(session, principal, grant.provider, action=action,
                                      code="not_grant_party", resource=grant.resource.code,
                                      grant=grant_id)
    return grant


def list_grants(
    session: Session,
    principal: Principal,
    *,
    side: str | None = None,
    status: str | None = None,
    resource: str | None = None,
    department: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Grant], int]:
    """Grants the principal's department holds (``side=consumer``), gave (``provider``) or
    both; overseers see all (``department`` narrows). ``status`` is the effective one."""
    if status is not None and status not in STATUSES:
        raise RuleViolation(f"status 只能是 {' | '.join(STATUSES)}", code="status_invalid",
                            errors=[{"loc": ["status"], "msg": " | ".join(STATUSES)}])
    query = parties.by_side(select(Grant).join(Grant.resource), principal, side=side,
                            department=department, consumer=Grant.consumer_id,
                            provider=Grant.provider_id)
    if status is not None:
        query = query.where(status_expression(clock.today()) == status)
    if resource is not None:
        query = query.where(Resource.code == resource)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Grant.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def revoke_grant(session: Session, principal: Principal, grant_id: int, *, reason: str
                 ) -> Grant:
    """The provider's approver ends a grant before its time; access stops at once."""
    action = "exchange.grant.revoke"
    grant = get_grant(session, principal, grant_id, action=action)
    code = grant.resource.code
    if not (principal.has("approver") and parties.is_member(principal, grant.provider)):
        raise parties.refuse_outsider(session, principal, grant.provider, action=action,
                                      code="not_provider_approver", resource=code,
                                      grant=grant_id)
    if not reason or not reason.strip():
        raise audit.refused(session, principal, RuleViolation(
            "撤销授权须说明理由 (a reason is required)", code="reason_required",
            errors=[{"loc": ["reason"], "msg": "必填"}]), action=action, resource=code,
            grant=grant_id)
    current = effective_status(grant)
    if current in (GrantStatus.revoked, GrantStatus.expired):
        raise audit.refused(session, principal, Conflict(
            f"授权 {grant_id} 已是 {current}, 不能撤销 (grant not active)",
            code="grant_not_active"), action=action, resource=code, grant=grant_id)
    _end(session, grant, GrantStatus.revoked, principal.username, reason.strip())
    notifications.notify(session, grant.consumer, kind="grant.revoked", subject_type="grant",
                         subject_id=grant.id, title=f"授权已被撤销: {grant.resource.name}",
                         resource=code, reason=grant.revoked_reason)
    audit.record(session, principal, action=action, resource=code, grant=grant.id,
                 request=grant.request_id, reason=grant.revoked_reason,
                 consumer=grant.consumer.code)
    return grant


def _end(session: Session, grant: Grant, status: GrantStatus, actor: str,
         reason: str | None) -> None:
    grant.status = status.value
    grant.ended_at = clock.now()
    if status == GrantStatus.revoked:
        grant.revoked_reason, grant.revoked_by = reason, actor
    request = session.get(ShareRequest, grant.request_id)
    request.events.append(RequestEvent(at=grant.ended_at, actor=actor, action=status.value,
                                       note=reason))
    session.flush()


def expire_grants(session: Session, *, today: dt.date | None = None) -> int:
    """Mark grants past their end date as expired: a ledger entry and a notice each."""
    today = today or clock.today()
    due = session.scalars(select(Grant).where(Grant.status == GrantStatus.active.value,
                                              Grant.ends < today).order_by(Grant.id)).all()
    for grant in due:
        _end(session, grant, GrantStatus.expired, WORKER.username, None)
        notifications.notify(session, grant.consumer, kind="grant.expired",
                             subject_type="grant", subject_id=grant.id,
                             title=f"授权已到期: {grant.resource.name}",
                             resource=grant.resource.code, ends=grant.ends.isoformat())
        audit.record(session, WORKER, action="exchange.grant.expire",
                     resource=grant.resource.code, grant=grant.id, request=grant.request_id,
                     ends=grant.ends.isoformat(), consumer=grant.consumer.code)
    return len(due)

