"""Who may see and who may change a catalog resource.

Published and retired resources are read by everyone with a token. Drafts are seen by the
owning department's users, by the administrators of its jurisdiction, by superusers and by
auditors (read-only, all departments); to anyone else a draft does not exist. Changes are
made by the owning department's stewards, by the administrators of its jurisdiction
(``govdata.platform.jurisdiction``) and by superusers (the CLI import and the seed loader
act as the platform);
every change is audited with the actor's roles, and every refused change too (in a
transaction of its own: ``audit.refused``).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from govdata.catalog.models import Resource, Status
from govdata.platform import audit, jurisdiction
from govdata.platform.errors import Forbidden
from govdata.platform.models import Department
from govdata.platform.principal import Principal

PUBLIC_STATUSES = (Status.published.value, Status.retired.value)


def sees_all_drafts(principal: Principal) -> bool:
    return principal.has("superuser") or principal.has("auditor")


def can_see(principal: Principal, resource: Resource) -> bool:
    return (resource.status in PUBLIC_STATUSES or sees_all_drafts(principal)
            or (principal.department is not None
                and principal.department == resource.department.code)
            or jurisdiction.covers(principal, resource.department.division_code))


def governed_departments(principal: Principal):
    """The ids of the departments an administrator governs, as a subquery."""
    return select(Department.id).where(
        jurisdiction.covers_clause(principal, Department.division_code))


def visible_clause(session: Session, principal: Principal) -> ColumnElement[bool]:
    """The same rule as ``can_see``, as a SQL condition on ``Resource``."""
    if sees_all_drafts(principal):
        return true()
    visible = [Resource.status.in_(PUBLIC_STATUSES)]
    if principal.department is not None:
        own = select(Department.id).where(Department.code == principal.department)
        visible.append(Resource.department_id == own.scalar_subquery())
    if principal.has("admin"):
        visible.append(Resource.department_id.in_(governed_departments(principal)))
    return or_(*visible)


def may_write_for(principal: Principal, department: Department) -> bool:
    if jurisdiction.covers(principal, department.division_code):
        return True
    return principal.has("steward") and principal.department == department.code


def require_writer_for(session: Session, principal: Principal, department: Department, *,
                       action: str, resource: str | None = None) -> None:
    """Forbidden ``not_resource_steward`` (on the ledger as a refused ``action``) unless the
    principal may change the department's resources."""
    if not may_write_for(principal, department):
        raise audit.refused(session, principal, Forbidden(
            f"只有 {department.name} 的数据管理员可以登记或修改其信息资源",
            code="not_resource_steward"), action=action, resource=resource,
            owner=department.code)
