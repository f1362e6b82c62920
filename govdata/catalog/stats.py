"""Catalog statistics: resources by class, share type and open type, and how many
departments publish share lists and open lists against the plans' targets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from govdata.catalog.lists import OPENED, SHARED
from govdata.catalog.models import Resource, Status
from govdata.platform import service as platform_service
from govdata.platform.models import Department
from govdata.platform.principal import Principal

# Share of departments that publish an open list (RULES.md §3):
# 重庆市大数据发展工作方案(2016—2018年) 二(二)1 "2017年…50%以上的市政府部门公布数据资源开放清单";
# 沈阳市促进大数据发展三年行动计划 一(二) "50%以上的市直部门公布数据开放清单和开放计划";
# 深圳市促进大数据发展行动计划(2016—2018年) 二 "数据开放单位超过80%".
OPEN_LIST_TARGETS = (
    {"plan": "重庆市大数据发展工作方案(2016—2018年) 二(二)1", "target": 0.5},
    {"plan": "沈阳市促进大数据发展三年行动计划(2016-2018年) 一(二)", "target": 0.5},
    {"plan": "深圳市促进大数据发展行动计划(2016—2018年) 二", "target": 0.8},
)


def _counts(session: Session, column, conditions) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(*conditions)
                           .group_by(column).order_by(column)).all()
    return {value: count for value, count in rows if value is not None}


def catalog_stats(session: Session, principal: Principal, *,
                  department: str | None = None) -> dict[str, Any]:
    """Counts over published resources (``by_status`` counts every state); with a
    department, that department's figures and whether it publishes each list."""
    scope = []
    if department is not None:
        scope.append(Resource.department_id == platform_service.get_department(
            session, department).id)
    published = [*scope, Resource.status == Status.published.value]
    resources = {
        "published": session.scalar(select(func.count()).select_from(Resource)
                                    .where(*published)) or 0,
        "by_status": _counts(session, Resource.status, scope),
        "by_class": _counts(session, Resource.resource_class, published),
        "by_share_type": _counts(session, Resource.share_type, published),
        "by_open_type": _counts(session, Resource.open_type, published),
    }
    sharing = _publishing(session, published, Resource.share_type.in_(SHARED))
    opening = _publishing(session, published, Resource.open_type.in_(OPENED))
    if department is not None:
        return {"department": department, "resources": resources,
                "publishes_share_list": sharing > 0, "publishes_open_list": opening > 0}
    total = session.scalar(select(func.count()).select_from(Department)) or 0
    coverage = round(opening / total, 4) if total else 0.0
    return {
        "resources": resources,
        "departments": {
            "total": total,
            "publishing_share_list": sharing,
            "publishing_open_list": opening,
            "open_list_coverage": coverage,
            "targets": [{**target, "met": coverage >= target["target"]}
                        for target in OPEN_LIST_TARGETS],
        },
    }


def _publishing(session: Session, conditions, listed) -> int:
    return session.scalar(select(func.count(distinct(Resource.department_id)))
                          .where(*conditions, listed)) or 0
