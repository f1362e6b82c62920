"""Who acts for which department in the exchange.

Requests, grants and disputes are between two departments: a user acts for its own
department, with the role the act needs (``requester`` asks, reads and disputes;
``approver`` decides and revokes; ``steward`` or ``approver`` answers disputes).
Auditors and superusers oversee every department's exchange, administrators that of the
departments of their jurisdiction (read only: they decide nothing for a department).
Every refusal is on the ledger (``audit.refused``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, or_, select, true
from sqlalchemy.orm import Session

from govdata.platform import audit, jurisdiction
from govdata.platform import service as platform_service
from govdata.platform.errors import Forbidden, RuleViolation
from govdata.platform.models import Department
from govdata.platform.principal import Principal


def oversees_all(principal: Principal) -> bool:
    """Auditors and superusers see the exchange of every department."""
    return principal.has("auditor") or principal.has("superuser")


def oversees(principal: Principal, *departments: Department) -> bool:
    """Whether the principal oversees a record between ``departments``: every record for
    auditors and superusers, those of a department of their jurisdiction for admins."""
    return oversees_all(principal) or any(
        jurisdiction.covers(principal, department.division_code) for department in departments)


def department_id(code: str | None) -> ScalarSelect:
    """The id of the department with this code, as a subquery."""
    return select(Department.id).where(Department.code == code).scalar_subquery()


def overseen(principal: Principal, *columns: ColumnElement) -> ColumnElement[bool]:
    """The rows of the principal's view: its own department on any of ``columns``
    (department ids), or everything for those who oversee."""
    if oversees_all(principal):
        return true()
    views = [column == department_id(principal.department) for column in columns]
    if principal.has("admin"):
        governed = select(Department.id).where(
            jurisdiction.covers_clause(principal, Department.division_code))
        views += [column.in_(governed) for column in columns]
    return or_(*views)


def require_role(session: Session, principal: Principal, role: str, *, action: str,
                 resource: str | None = None, **details: Any) -> None:
    """A user of a department holding ``role``, else refused (on the ledger)."""
    if principal.department is None or not principal.has(role):
        raise audit.refused(session, principal, Forbidden(
            f"此操作需要部门用户的 {role} 角色 (role {role} of a department required)",
            code="role_required"), action=action, resource=resource, **details)


def acting_department(session: Session, principal: Principal, role: str, *, action: str,
                      resource: str | None = None, **details: Any) -> Department:
    """The principal's own department, when it holds ``role`` there."""
    require_role(session, principal, role, action=action, resource=resource, **details)
    return platform_service.get_department(session, principal.department)


def refuse_outsider(session: Session, principal: Principal, department: Department, *,
                    action: str, code: str, resource: str | None = None,
                    **details: Any) -> Forbidden:
    """The refusal (already on the ledger) of a user acting for another department."""
    return audit.refused(session, principal, Forbidden(
        f"只有 {department.name} 可以执行此操作 (only {department.code} may do this)",
        code=code), action=action, resource=resource, **details)


def is_member(principal: Principal, department: Department) -> bool:
    return principal.department is not None and principal.department == department.code


def named_department(session: Session, principal: Principal, code: str | None) -> Department:
    """The department named, or the principal's own."""
    code = code or principal.department
    if code is None:
        raise RuleViolation("请指定部门 (department required)", code="department_required",
                            errors=[{"loc": ["department"], "msg": "必填"}])
    return platform_service.get_department(session, code)


def viewed_department(session: Session, principal: Principal, code: str | None, *,
                      action: str) -> Department:
    """A department whose own records (inbox, evaluation, access log) the principal reads:
    its own, or any for overseers. Anyone else's attempt is refused and on the ledger."""
    department = named_department(session, principal, code)
    if not (is_member(principal, department) or oversees(principal, department)):
        raise refuse_outsider(session, principal, department, action=action,
                              code="not_department_member",
                              resource=f"department:{department.code}")
    return department


def by_side(query: Select, principal: Principal, *, side: str | None,
            department: str | None, consumer: ColumnElement, provider: ColumnElement
            ) -> Select:
    """Narrow a list of two-department records to the principal's view: its department as
    consumer (``side=consumer``), as provider, or either; ``department`` narrows an
    overseer's view to one department."""
    if side not in (None, "consumer", "provider"):
        raise RuleViolation("side 只能是 consumer 或 provider", code="side_invalid",
                            errors=[{"loc": ["side"], "msg": "consumer | provider"}])
    columns = {"consumer": [consumer], "provider": [provider], None: [consumer, provider]}[side]
    query = query.where(overseen(principal, *columns))
    if department is not None:
        query = query.where(or_(*[column == department_id(department) for column in columns]))
    return query
