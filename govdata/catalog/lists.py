"""The published lists (RULES.md §1, §3): the negative list (不予共享, with the legal basis of
each entry), and each department's share list and open list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from govdata.catalog.models import DataItem, Resource, ShareType, Status
from govdata.catalog.search import byte_order
from govdata.platform import service as platform_service
from govdata.platform.models import Department
from govdata.platform.principal import Principal

SHARED = (ShareType.unconditional.value, ShareType.conditional.value)
OPENED = ("unconditional", "conditional")


@dataclass(frozen=True)
class NegativeEntry:
    """A resource that is not shared, or a shareable resource some of whose data items are
    not (``items`` names them)."""

    resource: Resource
    items: list[DataItem]


def _page(session: Session, conditions: list[ColumnElement[bool]], *, limit: int,
          offset: int) -> tuple[list[Resource], int]:
    total = session.scalar(select(func.count()).select_from(Resource).where(*conditions)) or 0
    rows = session.scalars(
        select(Resource).where(*conditions)
        .order_by(byte_order(session, Resource.name_sort), byte_order(session, Resource.code))
        .limit(limit).offset(offset)).all()
    return list(rows), total


def negative_list(session: Session, principal: Principal, *, department: str | None = None,
                  limit: int = 20, offset: int = 0) -> tuple[list[NegativeEntry], int]:
    """不予共享 resources and data items of published resources, with their legal basis."""
    item_refused = exists().where(DataItem.resource_id == Resource.id,
                                  DataItem.share_type == ShareType.none.value)
    conditions = [Resource.status == Status.published.value,
                  or_(Resource.share_type == ShareType.none.value, item_refused)]
    if department is not None:
        conditions.append(Resource.department_id == platform_service.get_department(
            session, department).id)
    rows, total = _page(session, conditions, limit=limit, offset=offset)
    entries = [NegativeEntry(resource, [] if resource.share_type == ShareType.none else
                             [item for item in resource.items
                              if item.share_type == ShareType.none])
               for resource in rows]
    return entries, total


def share_list(session: Session, principal: Principal, *, department: str, limit: int = 20,
               offset: int = 0) -> tuple[list[Resource], int]:
    """A department's published resources that are shared (unconditionally or not)."""
    owner: Department = platform_service.get_department(session, department)
    return _page(session, [Resource.department_id == owner.id,
                           Resource.status == Status.published.value,
                           Resource.share_type.in_(SHARED)], limit=limit, offset=offset)


def open_list(session: Session, principal: Principal, *, department: str, limit: int = 20,
              offset: int = 0) -> tuple[list[Resource], int]:
    """A department's published resources open to the public (unconditionally or not)."""
    owner = platform_service.get_department(session, department)
    return _page(session, [Resource.department_id == owner.id,
                           Resource.status == Status.published.value,
                           Resource.open_type.in_(OPENED)], limit=limit, offset=offset)
