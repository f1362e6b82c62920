"""Disputes and verification (校核, RULES.md §1).

A department that was granted a resource sends back records it doubts (record key, item,
what is wrong); the provider answers within ``GOVDATA_DISPUTE_REPLY_WORKING_DAYS``
(default 5) working days with a correction (a new data version, named by its number) or
an explanation. Both acts are audited and notified; both departments see the dispute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import service as catalog_service
from govdata.catalog.models import DataVersion, Resource
from govdata.exchange import notifications, parties
from govdata.exchange.models import Dispute, DisputeStatus, Grant
from govdata.platform import audit, clock
from govdata.platform.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings
from govdata.platform.workdays import WorkCalendar

OPEN, RESOLVE = "exchange.dispute.open", "exchange.dispute.resolve"


def _current_version(session: Session, resource: Resource) -> int | None:
    return session.scalar(select(DataVersion.version).where(
        DataVersion.resource_id == resource.id, DataVersion.is_current.is_(True)))


def _check_records(resource: Resource, records: Iterable[dict[str, Any]]
                   ) -> list[dict[str, str]]:
    known = {item.name for item in resource.items}
    clean, problems = [], []
    for index, record in enumerate(records):
        row = {key: str(record.get(key) or "").strip() for key in ("key", "item", "problem")}
        for key, value in row.items():
            if not value:
                problems.append({"loc": ["records", index, key], "msg": "必填"})
        if row["item"] and row["item"] not in known:
            problems.append({"loc": ["records", index, "item"],
                             "msg": f"信息资源 {resource.code} 没有信息项 {row['item']}"})
        clean.append(row)
    if problems or not clean:
        raise RuleViolation("校核记录不完整 (invalid records)", code="dispute_invalid",
                            errors=problems or [{"loc": ["records"], "msg": "至少一条"}])
    return clean


def open_dispute(session: Session, principal: Principal, settings: Settings, *,
                 resource: str, records: list[dict[str, Any]]) -> Dispute:
    """The consumer department sends back doubted records of a resource it was granted."""
    consumer = parties.acting_department(session, principal, "requester", action=OPEN,
                                         resource=resource)
    try:
        found = catalog_service.get_resource(session, principal, resource)
        granted = session.scalar(select(Grant.id).where(Grant.consumer_id == consumer.id,
                                                        Grant.resource_id == found.id)
                                 .limit(1))
        if granted is None:
            raise Forbidden(f"{consumer.name} 未获得信息资源 {resource} 的授权, 不能提出校核",
                            code="no_grant")
        clean = _check_records(found, records)
    except DomainError as error:
        raise audit.refused(session, principal, error, action=OPEN, resource=resource) from None
    now = clock.now()
    calendar = WorkCalendar.from_settings(settings)
    dispute = Dispute(resource=found, provider=found.department, consumer=consumer,
                      opened_by=principal.username, records=clean,
                      data_version=_current_version(session, found),
                      status=DisputeStatus.open.value, created_at=now,
                      deadline=calendar.add_working_days(clock.local_date(now),
                                                         settings.dispute_reply_working_days),
                      overdue_notified=False)
    session.add(dispute)
    session.flush()
    notifications.notify(session, found.department, kind="dispute.opened",
                         subject_type="dispute", subject_id=dispute.id,
                         title=f"数据校核: {consumer.name} 对 {found.name} 的 {len(clean)} 条记录"
                               "提出疑问", resource=found.code, consumer=consumer.code,
                         deadline=dispute.deadline.isoformat())
    audit.record(session, principal, action=OPEN, resource=found.code, dispute=dispute.id,
                 owner=found.department.code, records=len(clean),
                 data_items=sorted({row["item"] for row in clean}),
                 deadline=dispute.deadline.isoformat(), version=dispute.data_version)
    return dispute


def get_dispute(session: Session, principal: Principal, dispute_id: int, *,
                action: str = "exchange.dispute.view") -> Dispute:
    dispute = session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound(f"校核 {dispute_id} 不存在", code="dispute_not_found")
    if not (parties.oversees(principal, dispute.provider, dispute.consumer)
            or parties.is_member(principal, dispute.provider)
            or parties.is_member(principal, dispute.consumer)):
        raise parties.refuse_outsider(session, principal, dispute.provider, action=action,
                                      code="not_dispute_party",
                                      resource=dispute.resource.code, dispute=dispute_id)
    return dispute


def resolve_dispute(session: Session, principal: Principal, dispute_id: int, *, answer: str,
                    corrected_version: int | None = None) -> Dispute:
    """The provider answers: an explanation, or a correction loaded as a new version."""
    dispute = get_dispute(session, principal, dispute_id, action=RESOLVE)
    code = dispute.resource.code
    if not ((principal.has("steward") or principal.has("approver"))
            and parties.is_member(principal, dispute.provider)):
        raise parties.refuse_outsider(session, principal, dispute.provider, action=RESOLVE,
                                      code="not_provider_steward", resource=code,
                                      dispute=dispute_id)
    try:
        if dispute.status != DisputeStatus.open:
            raise Conflict(f"校核 {dispute_id} 已答复 (already answered)",
                           code="dispute_not_open")
        if not answer or not answer.strip():
            raise RuleViolation("须答复 (an answer is required)", code="answer_required",
                                errors=[{"loc": ["answer"], "msg": "必填"}])
        if corrected_version is not None:
            _check_correction(session, dispute, corrected_version)
    except DomainError as error:
        raise audit.refused(session, principal, error, action=RESOLVE, resource=code,
                            dispute=dispute_id) from None
    dispute.status = DisputeStatus.answered.value
    dispute.answer, dispute.corrected_version = answer.strip(), corrected_version
    dispute.answered_by, dispute.answered_at = principal.username, clock.now()
    session.flush()
    notifications.notify(session, dispute.consumer, kind="dispute.answered",
                         subject_type="dispute", subject_id=dispute.id,
                         title=f"数据校核已答复: {dispute.resource.name}", resource=code,
                         corrected_version=corrected_version)
    audit.record(session, principal, action=RESOLVE, resource=code, dispute=dispute.id,
                 consumer=dispute.consumer.code, corrected_version=corrected_version,
                 answer=dispute.answer)
    return dispute


def _check_correction(session: Session, dispute: Dispute, version: int) -> None:
    exists = session.scalar(select(DataVersion.id).where(
        DataVersion.resource_id == dispute.resource_id, DataVersion.version == version))
    if exists is None or (dispute.data_version is not None and version <= dispute.data_version):
        raise RuleViolation(f"更正版本 {version} 不存在或不晚于提出校核时的版本 "
                            f"{dispute.data_version}", code="corrected_version_invalid",
                            errors=[{"loc": ["corrected_version"],
                                     "msg": "a data version loaded after the dispute"}])


def list_disputes(
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
) -> tuple[list[Dispute], int]:
    """Disputes the principal's department raised (``side=consumer``), received
    (``provider``) or both; overseers see all. Newest first."""
    query = parties.by_side(select(Dispute), principal, side=side, department=department,
                            consumer=Dispute.consumer_id, provider=Dispute.provider_id)
    if status is not None:
        query = query.where(Dispute.status == status)
    if overdue is not None:
        late = (Dispute.status == DisputeStatus.open) & (Dispute.deadline < clock.today())
        query = query.where(late if overdue else ~late)
    if resource is not None:
        query = query.join(Dispute.resource).where(Resource.code == resource)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Dispute.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def is_overdue(dispute: Dispute, today: dt.date) -> bool:
    return dispute.status == DisputeStatus.open and today > dispute.deadline
