"""The public's data requests (数据需求) and error reports (纠错) (RULES.md §3): anyone may
submit one, with or without an account; each has a public status page with the
provider's answer. The contact address and who submitted stay private.

- A data request may name the department it is for; that department's stewards and
  approvers answer it (one naming no department: the platform's administrators).
  Outcomes: ``planned`` (将开放), ``opened`` (已开放), ``declined`` (暂不开放, reasons given).
- An error report is about one open dataset (optionally a data item and a record); the
  dataset's department answers: ``corrected`` (已更正) or ``no_error`` (经核实无误).

Answers are decisions and on the ledger; refused attempts to answer too.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog.models import Resource
from govdata.openportal import service
from govdata.openportal.accounts import EMAIL, normal_email
from govdata.openportal.masking import public_items
from govdata.openportal.models import Account, DataRequest, ErrorReport
from govdata.platform import audit, clock
from govdata.platform import service as platform_service
from govdata.platform.errors import Conflict, Forbidden, NotFound, RuleViolation
from govdata.platform.models import Department
from govdata.platform.principal import Principal

REQUEST_OUTCOMES = {"planned": "将开放", "opened": "已开放", "declined": "暂不开放"}
REPORT_OUTCOMES = {"corrected": "已更正", "no_error": "经核实无误"}
STATUS_TITLES = {"pending": "待答复", **REQUEST_OUTCOMES, **REPORT_OUTCOMES}


def _contact(email: str | None, errors: list[dict]) -> str | None:
    email = normal_email(email or "")
    if email and not EMAIL.match(email):
        errors.append({"loc": ["contact_email"], "msg": "请填写有效的电子邮箱地址, 或留空"})
    return email or None


def _text(value: str | None, field: str, label: str, least: int, most: int,
          errors: list[dict]) -> str:
    value = (value or "").strip()
    if not least <= len(value) <= most:
        errors.append({"loc": [field], "msg": f"请填写{label} ({least}–{most} 字)"})
    return value


def _refuse(errors: list[dict], what: str, code: str) -> None:
    if errors:
        raise RuleViolation(f"{what}填写有误", code=code, errors=errors)


# --- data requests ---------------------------------------------------------------------

def submit_request(session: Session, *, title: str, description: str,
                   department: str | None = None, contact_email: str | None = None,
                   account: Account | None = None) -> DataRequest:
    errors: list[dict] = []
    title = _text(title, "title", "需求标题", 4, 200, errors)
    description = _text(description, "description", "需求说明", 10, 5000, errors)
    contact = _contact(contact_email, errors)
    target = None
    if department:
        target = session.scalar(select(Department).where(Department.code == department))
        if target is None:
            errors.append({"loc": ["department"], "msg": "没有这个部门"})
    _refuse(errors, "数据需求", "data_request_invalid")
    found = DataRequest(title=title, description=description,
                        department_id=target.id if target else None,
                        account_id=account.id if account else None, contact_email=contact,
                        status="pending")
    session.add(found)
    session.flush()
    return found


def get_request(session: Session, request_id: int) -> DataRequest:
    found = session.get(DataRequest, request_id)
    if found is None:
        raise NotFound(f"数据需求 {request_id} 不存在", code="data_request_not_found")
    return found


def department_of(session: Session, department_id: str | None) -> Department | None:
    return session.get(Department, department_id) if department_id else None


def list_requests(session: Session, *, status: str | None = None, department: str | None = None,
                  unaddressed: bool = False, limit: int = 20, offset: int = 0
                  ) -> tuple[list[DataRequest], int]:
    """Data requests, newest first; ``unaddressed``: those naming no department (the
    administrators answer them)."""
    conditions = []
    if status:
        conditions.append(DataRequest.status == status)
    if unaddressed:
        conditions.append(DataRequest.department_id.is_(None))
    elif department:
        conditions.append(DataRequest.department_id == select(Department.id).where(
            Department.code == department).scalar_subquery())
    total = session.scalar(select(func.count()).select_from(DataRequest).where(*conditions))
    rows = session.scalars(select(DataRequest).where(*conditions)
                           .order_by(DataRequest.id.desc()).limit(limit).offset(offset))
    return list(rows), total or 0


def _may_answer(principal: Principal, department: Department | None) -> bool:
    if department is None:
        return principal.has("admin")
    return principal.department == department.code and (
        principal.has("steward") or principal.has("approver"))


def may_answer_request(session: Session, principal: Principal, found: DataRequest) -> bool:
    """Whether the principal may answer the data request (what pages ask before offering
    the answer form; ``answer_request`` enforces it)."""
    return _may_answer(principal, department_of(session, found.department_id))


def may_answer_report(session: Session, principal: Principal, found: ErrorReport) -> bool:
    """Whether the principal may answer the error report (its dataset's department)."""
    return _may_answer(principal, resource_of(session, found).department)


@dataclass(frozen=True)
class Answer:
    outcome: str
    text: str


def _answer(session: Session, principal: Principal, subject: DataRequest | ErrorReport,
            answer: Answer, *, outcomes: dict[str, str], department: Department | None,
            action: str, resource: str | None, **details: object) -> None:
    def refuse(error):
        return audit.refused(session, principal, error, action=action, resource=resource,
                             **details)

    if not _may_answer(principal, department):
        raise refuse(Forbidden("只有相关部门的数据管理员或审批人可以答复",
                               code="not_answering_department"))
    if subject.status != "pending":
        raise refuse(Conflict("已经答复过了 (already answered)", code="already_answered"))
    errors = []
    if answer.outcome not in outcomes:
        errors.append({"loc": ["outcome"], "msg": " | ".join(outcomes)})
    if len(answer.text.strip()) < 4:
        errors.append({"loc": ["answer"], "msg": "请写明答复 (至少 4 个字)"})
    if errors:
        raise refuse(RuleViolation("答复填写有误", code="answer_invalid", errors=errors))
    subject.status, subject.answer = answer.outcome, answer.text.strip()
    subject.answered_by, subject.answered_at = principal.username, clock.now()
    session.flush()
    audit.record(session, principal, action=action, resource=resource, decision=answer.outcome,
                 answer=subject.answer, **details)


def answer_request(session: Session, principal: Principal, request_id: int, *,
                   outcome: str, answer: str) -> DataRequest:
    found = get_request(session, request_id)
    _answer(session, principal, found, Answer(outcome, answer or ""),
            outcomes=REQUEST_OUTCOMES, department=department_of(session, found.department_id),
            action="openportal.data_request.answer", resource=None, data_request=found.id)
    return found


# --- error reports ---------------------------------------------------------------------

def submit_report(session: Session, *, dataset: str, description: str,
                  data_item: str | None = None, record: str | None = None,
                  contact_email: str | None = None, account: Account | None = None
                  ) -> ErrorReport:
    resource = service.open_resource(session, dataset)
    errors: list[dict] = []
    description = _text(description, "description", "问题说明", 10, 5000, errors)
    item = (data_item or "").strip() or None
    if item and item not in {i.name for i in public_items(resource)}:
        errors.append({"loc": ["data_item"], "msg": "该数据集没有此数据项"})
    record = (record or "").strip() or None
    if record and len(record) > 100:
        errors.append({"loc": ["record"], "msg": "记录编号至多 100 字"})
    contact = _contact(contact_email, errors)
    _refuse(errors, "纠错", "error_report_invalid")
    found = ErrorReport(resource_id=resource.id, data_item=item, record=record,
                        description=description, account_id=account.id if account else None,
                        contact_email=contact, status="pending")
    session.add(found)
    session.flush()
    return found


def get_report(session: Session, report_id: int) -> ErrorReport:
    found = session.get(ErrorReport, report_id)
    if found is None:
        raise NotFound(f"纠错 {report_id} 不存在", code="error_report_not_found")
    return found


def resource_of(session: Session, report: ErrorReport) -> Resource:
    return session.get_one(Resource, report.resource_id)


def list_reports(session: Session, *, dataset: str | None = None, status: str | None = None,
                 department: str | None = None, limit: int = 20, offset: int = 0
                 ) -> tuple[list[ErrorReport], int]:
    conditions = [ErrorReport.resource_id.in_(select(Resource.id).where(*service.open_clause()))]
    if dataset:
        conditions.append(ErrorReport.resource_id == service.open_resource(session, dataset).id)
    if status:
        conditions.append(ErrorReport.status == status)
    if department:
        owner = platform_service.get_department(session, department)
        conditions.append(ErrorReport.resource_id.in_(
            select(Resource.id).where(Resource.department_id == owner.id)))
    total = session.scalar(select(func.count()).select_from(ErrorReport).where(*conditions))
    rows = session.scalars(select(ErrorReport).where(*conditions)
                           .order_by(ErrorReport.id.desc()).limit(limit).offset(offset))
    return list(rows), total or 0


def answer_report(session: Session, principal: Principal, report_id: int, *,
                  outcome: str, answer: str) -> ErrorReport:
    found = get_report(session, report_id)
    resource = resource_of(session, found)
    _answer(session, principal, found, Answer(outcome, answer or ""),
            outcomes=REPORT_OUTCOMES, department=resource.department,
            action="openportal.error_report.answer", resource=resource.code,
            error_report=found.id)
    return found
