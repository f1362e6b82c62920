"""Helpers for the catalog tests: resources built through the real service."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from govdata.catalog import service
from govdata.catalog.models import Resource
from govdata.platform.principal import Principal

_names = itertools.count(1)


def steward(department: str, username: str = "steward") -> Principal:
    return Principal(username=f"{username}-{department}", department=department,
                     roles=frozenset({"steward"}))


def item(name: str = "station", title: str = "监测站点", **overrides: Any) -> dict[str, Any]:
    return {"name": name, "title": title, "data_type": "C", "length": 50, **overrides}


def fields(**overrides: Any) -> dict[str, Any]:
    """A valid department resource; override anything."""
    base: dict[str, Any] = {
        "name": f"测试信息资源{next(_names)}",
        "summary": "用于测试的信息资源摘要",
        "classification": "301001",
        "resource_class": "department",
        "format_category": "电子表格",
        "format": "csv",
        "share_type": "unconditional",
        "share_method": "接口",
        "open_type": "none",
        "update_cycle": "每日",
        "items": [item()],
    }
    base.update(overrides)
    return base


def basic_fields(**overrides: Any) -> dict[str, Any]:
    return fields(**{"classification": "101001", "resource_class": "basic",
                     "basic_kind": "法人单位",
                     "items": [item("uscc", "统一社会信用代码", is_basic=True, length=18,
                                    sensitivity="uscc"),
                               item("licence_note", "许可备注")],
                     **overrides})


def create(session: Session, principal: Principal, *, department: str | None = None,
           publish: bool = False, **overrides: Any) -> Resource:
    resource = service.create_resource(session, principal, fields=fields(**overrides),
                                       department=department)
    if publish:
        service.publish_resource(session, principal, code=resource.code)
    return resource
