"""Applications for conditional open data (RULES.md §3).

- ``apply``: a signed-in account asks for a conditional dataset's data: the purpose, the
  data items, the security undertaking and the date it needs the data until (at most
  ``GOVDATA_API_KEY_MAX_DAYS`` ahead). One pending application per account and dataset.
- ``approve`` (possibly fewer items, an earlier date) and ``reject`` (reasons required):
  an approver of the providing department. ``revoke``: the same approvers end an approved
  application's access early (its keys stop at once).
- An approved applicant then issues API keys (``apikeys``) for the granted items and
  period.

Each decision, and each refused attempt to decide, is on the ledger.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog.models import Resource
from govdata.openportal import service
from govdata.openportal.masking import public_items
from govdata.openportal.models import Account, ApiKey, Application
from govdata.platform import audit, clock
from govdata.platform.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation
from govdata.platform.models import Department
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings

STATUSES = ("pending", "approved", "refused", "revoked")
STATUS_TITLES = {"pending": "待审核", "approved": "已批准", "refused": "未获批准",
                 "revoked": "已撤销", "expired": "已到期"}


def shown_status(application: Application, today: dt.date | None = None) -> str:
    """The status as the applicant sees it: an approved application past its date is
    ``expired``."""
    today = today or clock.today()
    if (application.status == "approved" and application.granted_until is not None
            and application.granted_until < today):
        return "expired"
    return application.status


def _checked(resource: Resource, settings: Settings, *, purpose: str,
             data_items: list[str], undertaking: str, until: dt.date | None) -> list[str]:
    errors = []
    if len((purpose or "").strip()) < 10:
        errors.append({"loc": ["purpose"], "msg": "请说明用途 (至少 10 个字)"})
    known = [item.name for item in public_items(resource)]
    wanted = list(dict.fromkeys(data_items or []))
    if not wanted:
        errors.append({"loc": ["data_items"], "msg": "请至少选择一个数据项"})
    errors += [{"loc": ["data_items", name], "msg": "该数据集没有此公开数据项"}
               for name in wanted if name not in known]
    if len((undertaking or "").strip()) < 10:
        errors.append({"loc": ["undertaking"], "msg": "请填写并同意数据安全承诺 (至少 10 个字)"})
    today = clock.today()
    latest = today + dt.timedelta(days=settings.api_key_max_days)
    if until is None or not today < until <= latest:
        errors.append({"loc": ["until"], "msg": f"使用期限须晚于今天且不晚于 {latest}"})
    if errors:
        raise RuleViolation("申请信息有误 (invalid application)", code="application_invalid",
                            errors=errors)
    return wanted


def apply(session: Session, account: Account, settings: Settings, *, dataset: str,
          purpose: str, data_items: list[str], undertaking: str, until: dt.date | None,
          principal: Principal) -> Application:
    """A new pending application; ``principal`` is the account as the ledger names it."""
    resource = service.open_resource(session, dataset)
    if resource.open_type != "conditional":
        raise RuleViolation(f"{resource.name} 为无条件开放数据, 无需申请即可获取",
                            code="application_not_needed")
    wanted = _checked(resource, settings, purpose=purpose, data_items=data_items,
                      undertaking=undertaking, until=until)
    if session.scalar(select(func.count()).select_from(Application).where(
            Application.account_id == account.id, Application.resource_id == resource.id,
            Application.status == "pending")):
        raise Conflict("你对该数据集已有待审核的申请", code="application_pending")
    application = Application(resource_id=resource.id, account_id=account.id,
                              purpose=purpose.strip(), data_items=wanted,
                              undertaking=undertaking.strip(), until=until, status="pending")
    session.add(application)
    session.flush()
    audit.record(session, principal, action="openportal.application.submit",
                 resource=resource.code, application=application.id, data_items=wanted,
                 purpose=application.purpose, until=until.isoformat())
    return application


def resource_of(session: Session, application: Application) -> Resource:
    return session.get_one(Resource, application.resource_id)


def mine(session: Session, account: Account) -> list[Application]:
    return list(session.scalars(select(Application).where(Application.account_id == account.id)
                                .order_by(Application.id.desc())))


def get_own(session: Session, account: Account, application_id: int) -> Application:
    """One of the account's applications (another's is as absent as a missing one)."""
    found = session.get(Application, application_id)
    if found is None or found.account_id != account.id:
        raise NotFound(f"申请 {application_id} 不存在", code="application_not_found")
    return found


def _approver_of(principal: Principal, resource: Resource) -> bool:
    return principal.has("approver") and principal.department == resource.department.code


def may_decide(session: Session, principal: Principal, application: Application) -> bool:
    """Whether the principal may approve, refuse or revoke the application (an approver of
    the providing department): what pages ask before offering the decision."""
    return _approver_of(principal, resource_of(session, application))


def provider_queue(session: Session, principal: Principal, *, status: str | None = None,
                   limit: int = 20, offset: int = 0) -> tuple[list[Application], int]:
    """The applications for the datasets of the principal's department (approvers and
    stewards), newest first."""
    if principal.department is None or not (principal.has("approver")
                                            or principal.has("steward")):
        raise audit.refused(session, principal, Forbidden(
            "需要本部门审批人或数据管理员角色", code="role_required"),
            action="openportal.application.list")
    conditions = [Resource.department_id == select(Department.id).where(
        Department.code == principal.department).scalar_subquery()]
    if status:
        conditions.append(Application.status == status)
    base = select(Application).join(Resource, Resource.id == Application.resource_id).where(
        *conditions)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.order_by(Application.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def get_as_provider(session: Session, principal: Principal, application_id: int, *,
                    action: str = "openportal.application.view") -> Application:
    """An application as an approver or steward of the providing department sees it;
    anyone else's attempt is refused and on the ledger."""
    found = session.get(Application, application_id)
    if found is None:
        raise NotFound(f"申请 {application_id} 不存在", code="application_not_found")
    resource = resource_of(session, found)
    if principal.department != resource.department.code or not (
            principal.has("approver") or principal.has("steward")):
        raise audit.refused(session, principal, Forbidden(
            "只有数据提供部门的审批人可以处理该申请", code="not_provider_approver"),
            action=action, resource=resource.code, application=application_id)
    return found


def _decidable(session: Session, principal: Principal, application_id: int, action: str,
               wanted: str = "pending") -> tuple[Application, Resource]:
    application = get_as_provider(session, principal, application_id, action=action)
    resource = resource_of(session, application)
    if not _approver_of(principal, resource):
        raise audit.refused(session, principal, Forbidden(
            "只有数据提供部门的审批人可以决定该申请", code="not_provider_approver"),
            action=action, resource=resource.code, application=application_id)
    if application.status != wanted:
        raise audit.refused(session, principal, Conflict(
            f"申请 {application_id} 当前为 {STATUS_TITLES[application.status]}, 不能执行此操作",
            code=f"application_not_{wanted}"), action=action, resource=resource.code,
            application=application_id)
    return application, resource


def approve(session: Session, principal: Principal, application_id: int, *,
            data_items: list[str] | None = None, until: dt.date | None = None,
            note: str | None = None) -> Application:
    """Grant the application, possibly for fewer items or until an earlier date."""
    action = "openportal.application.approve"
    application, resource = _decidable(session, principal, application_id, action)
    try:
        items = _granted_items(application, data_items)
        until = _granted_until(application, until)
    except DomainError as error:
        raise audit.refused(session, principal, error, action=action, resource=resource.code,
                            application=application_id) from None
    application.status = "approved"
    application.granted_items, application.granted_until = items, until
    application.decided_by, application.decided_at = principal.username, clock.now()
    application.reason = (note or "").strip() or None
    session.flush()
    audit.record(session, principal, action=action, resource=resource.code,
                 application=application.id, data_items=items, until=until.isoformat(),
                 note=application.reason)
    return application


def _granted_items(application: Application, data_items: list[str] | None) -> list[str]:
    items = list(dict.fromkeys(data_items)) if data_items else list(application.data_items)
    extra = [name for name in items if name not in application.data_items]
    if extra:
        raise RuleViolation("只能批准申请中的数据项", code="data_items_not_requested",
                            errors=[{"loc": ["data_items", name], "msg": "未申请此数据项"}
                                    for name in extra])
    return items


def _granted_until(application: Application, until: dt.date | None) -> dt.date:
    until = until or application.until
    if until > application.until or until <= clock.today():
        raise RuleViolation("使用期限须晚于今天且不晚于申请的期限", code="until_invalid",
                            errors=[{"loc": ["until"],
                                     "msg": f"今天 < 期限 ≤ {application.until}"}])
    return until


def _reason(reason: str | None, session: Session, principal: Principal, action: str,
            resource: Resource, application_id: int) -> str:
    if not reason or not reason.strip():
        raise audit.refused(session, principal, RuleViolation(
            "须说明理由 (a reason is required)", code="reason_required",
            errors=[{"loc": ["reason"], "msg": "必填"}]), action=action,
            resource=resource.code, application=application_id)
    return reason.strip()


def reject(session: Session, principal: Principal, application_id: int, *,
           reason: str | None) -> Application:
    """Refuse the application; the reasons are required and shown to the applicant."""
    action = "openportal.application.reject"
    application, resource = _decidable(session, principal, application_id, action)
    reason = _reason(reason, session, principal, action, resource, application_id)
    application.status = "refused"
    application.decided_by, application.decided_at = principal.username, clock.now()
    application.reason = reason
    session.flush()
    audit.record(session, principal, action=action, resource=resource.code,
                 application=application.id, reason=reason)
    return application


def revoke(session: Session, principal: Principal, application_id: int, *,
           reason: str | None) -> Application:
    """End an approved application's access now: every key of it stops working."""
    action = "openportal.application.revoke"
    application, resource = _decidable(session, principal, application_id, action,
                                       wanted="approved")
    reason = _reason(reason, session, principal, action, resource, application_id)
    now = clock.now()
    application.status = "revoked"
    application.reason = reason
    for key in session.scalars(select(ApiKey).where(ApiKey.application_id == application.id,
                                                    ApiKey.revoked_at.is_(None))):
        key.revoked_at, key.revoked_by = now, principal.username
    session.flush()
    audit.record(session, principal, action=action, resource=resource.code,
                 application=application.id, reason=reason)
    return application
