"""Catalog use cases: register, change, publish and retire resources (RULES.md §2).

Every change checks the catalog rules (``govdata.catalog.rules``), bumps the resource's
``version``, stores a snapshot in ``catalog_resource_version`` and writes an audit entry, all
in the caller's transaction. Who may see and change what is ``govdata.catalog.access``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import access, codes, rules, textindex
from govdata.catalog.models import DataItem, Resource, ResourceVersion, Status
from govdata.platform import audit
from govdata.platform import service as platform_service
from govdata.platform.db import new_id, utcnow
from govdata.platform.errors import Conflict, NotFound, RuleViolation
from govdata.platform.models import Department
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings, get_settings

CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")  # no daylight saving
IMMUTABLE = ("code", "department", "status", "version")
RESOURCE_DEFAULTS: dict[str, Any] = {
    "open_type": "none", "related_codes": [], "tags": [], "items": [],
}


# --- reading ---------------------------------------------------------------------------

def get_resource(session: Session, principal: Principal, code: str) -> Resource:
    """The resource with this code as the principal may see it: published and retired ones
    for everyone, drafts for the owning department, admins and auditors (to anyone else a
    draft does not exist: NotFound ``resource_not_found``)."""
    resource = session.scalar(select(Resource).where(Resource.code == code))
    if resource is None or not access.can_see(principal, resource):
        raise NotFound(f"信息资源 {code} 不存在", code="resource_not_found")
    return resource


def require_steward_of(session: Session, principal: Principal, resource: Resource, *,
                       action: str) -> None:
    """Forbidden ``not_resource_steward`` unless the principal may change the resource:
    a steward of the owning department, or an administrator of its jurisdiction. The refusal of
    ``action`` is on the ledger."""
    access.require_writer_for(session, principal, resource.department, action=action,
                              resource=resource.code)


def history(session: Session, principal: Principal, *, code: str, limit: int = 20,
            offset: int = 0) -> tuple[list[ResourceVersion], int]:
    """The versions of a resource, newest first."""
    resource = get_resource(session, principal, code)
    where = ResourceVersion.resource_id == resource.id
    total = session.scalar(select(func.count()).select_from(ResourceVersion).where(where)) or 0
    rows = session.scalars(select(ResourceVersion).where(where)
                           .order_by(ResourceVersion.version.desc())
                           .limit(limit).offset(offset)).all()
    return list(rows), total


def snapshot(resource: Resource) -> dict[str, Any]:
    """The resource as a plain dict, items included (what a version stores)."""
    data = {field: getattr(resource, field) for field in rules.RESOURCE_FIELDS}
    data["published_on"] = resource.published_on.isoformat() if resource.published_on else None
    data["related_codes"] = list(resource.related_codes or [])
    data["tags"] = list(resource.tags or [])
    data.update(code=resource.code, department=resource.department.code, status=resource.status,
                version=resource.version)
    data["items"] = [item_dict(item) for item in resource.items]
    return data


def item_dict(item: DataItem) -> dict[str, Any]:
    return {field: getattr(item, field) for field in rules.ITEM_FIELDS}


def editable_fields(resource: Resource) -> dict[str, Any]:
    data = {field: getattr(resource, field) for field in rules.RESOURCE_FIELDS}
    data["related_codes"] = list(resource.related_codes or [])
    data["tags"] = list(resource.tags or [])
    data["items"] = [item_dict(item) for item in resource.items]
    return data


# --- checking --------------------------------------------------------------------------

def check_fields(fields: Mapping[str, Any], settings: Settings | None = None
                 ) -> tuple[dict[str, Any], list[rules.Problem]]:
    """Normalise a resource's fields and list every rule they break (nothing is written).
    The catalog import uses this to judge every row before it changes anything."""
    unknown = sorted(set(fields) - set(rules.RESOURCE_FIELDS) - {"items"})
    data = rules.normalize({**RESOURCE_DEFAULTS, **fields})
    problems = [{"loc": [key], "msg": f"未知字段 {key}", "code": "unknown_field"}
                for key in unknown]
    problems += rules.check(data, settings or get_settings())
    return data, problems


def department_for(session: Session, principal: Principal, department: str | None
                   ) -> Department:
    """The department a principal registers resources for: the one named (admins), or the
    principal's own."""
    code = department or principal.department
    if code is None:
        raise RuleViolation("请指定信息资源提供方 (部门代码)", code="department_required",
                            errors=[{"loc": ["department"], "msg": "必填"}])
    found = platform_service.get_department(session, code)
    access.require_writer_for(session, principal, found, action="catalog.resource.create")
    return found


def name_taken(session: Session, department_id: str, name: str,
               except_id: str | None = None) -> bool:
    query = select(Resource.id).where(Resource.department_id == department_id,
                                      Resource.name == name)
    if except_id is not None:
        query = query.where(Resource.id != except_id)
    return session.scalar(query) is not None


def code_problem(session: Session, code: str, classification: str | None) -> str | None:
    """Why a code given from outside (an import) cannot be used for a new resource."""
    parsed = codes.parse_code(code)
    if parsed is None:
        return f"信息资源代码格式应为 <分类代码>/<6 位序号>: {code!r}"
    if classification is not None and parsed[0] != classification:
        return f"信息资源代码 {code} 与分类代码 {classification} 不符"
    if session.scalar(select(Resource.id).where(Resource.code == code)) is not None:
        return f"信息资源代码 {code} 已被使用"
    return None


# --- changing --------------------------------------------------------------------------

def create_resource(
    session: Session,
    principal: Principal,
    *,
    fields: Mapping[str, Any],
    department: str | None = None,
    code: str | None = None,
    settings: Settings | None = None,
) -> Resource:
    """Register a resource (a draft) with its data items; the platform assigns its code.

    ``fields`` holds ``rules.RESOURCE_FIELDS`` and ``items`` (a list of dicts with
    ``rules.ITEM_FIELDS``). ``code`` is for catalog imports that carry existing codes: it
    must be free and match the classification, and the sequence moves past it.
    """
    owner = department_for(session, principal, department)
    data, problems = check_fields(fields, settings)
    if code is not None and not problems:
        problem = code_problem(session, code, data["classification"])
        if problem:
            problems.append({"loc": ["code"], "msg": problem, "code": "code_invalid"})
    rules.raise_if_any(problems)
    if name_taken(session, owner.id, data["name"]):
        raise Conflict(f"{owner.name} 已有名为 {data['name']} 的信息资源",
                       code="resource_name_exists")
    if code is None:
        code = codes.allocate(session, data["classification"])
    else:
        codes.reserve(session, code)
    resource = Resource(id=new_id(), code=code, department=owner, status=Status.draft.value,
                        version=1)
    _apply(session, resource, data)
    session.add(resource)
    _save(session, principal, resource, change="create", department_name=owner.name)
    return resource


def update_resource(
    session: Session,
    principal: Principal,
    *,
    code: str,
    changes: Mapping[str, Any],
    settings: Settings | None = None,
) -> Resource:
    """Change a draft or published resource (it stays in its state, with a new version).
    ``items``, when given, replaces the whole list. A change that changes nothing writes
    nothing."""
    resource = get_resource(session, principal, code)
    require_steward_of(session, principal, resource, action="catalog.resource.update")
    _refuse_if_retired(resource, "修改")
    problems = [{"loc": [key], "msg": f"{key} 不可修改", "code": "field_immutable"}
                for key in IMMUTABLE if key in changes]
    current = editable_fields(resource)
    editable = {key: value for key, value in changes.items() if key not in IMMUTABLE}
    data, found = check_fields({**current, **editable}, settings)
    problems += found
    if data.get("classification") != resource.classification:
        problems.append({"loc": ["classification"], "code": "classification_immutable",
                         "msg": "分类代码是资源代码的一部分, 不可修改; 请登记新的信息资源"})
    rules.raise_if_any(problems)
    before = rules.normalize(current)
    if data == before:
        return resource
    if data["name"] != resource.name and name_taken(session, resource.department_id,
                                                      data["name"], except_id=resource.id):
        raise Conflict(f"{resource.department.name} 已有名为 {data['name']} 的信息资源",
                       code="resource_name_exists")
    changed = sorted(key for key in data if data[key] != before.get(key))
    _apply(session, resource, data)
    resource.version += 1
    _save(session, principal, resource, change="update",
          department_name=resource.department.name, fields=changed)
    return resource


def publish_resource(session: Session, principal: Principal, *, code: str,
                     settings: Settings | None = None) -> Resource:
    """draft → published; the rules are checked again under the current settings."""
    resource = get_resource(session, principal, code)
    require_steward_of(session, principal, resource, action="catalog.resource.publish")
    _refuse_if_retired(resource, "发布")
    if resource.status == Status.published:
        raise Conflict(f"信息资源 {code} 已发布", code="resource_already_published")
    _, problems = check_fields(editable_fields(resource), settings)
    rules.raise_if_any(problems, "信息资源不符合编目规则, 不能发布")
    resource.status = Status.published.value
    if resource.published_on is None:
        resource.published_on = dt.datetime.now(CHINA).date()
    resource.version += 1
    _save(session, principal, resource, change="publish", refill=False)
    return resource


def retire_resource(session: Session, principal: Principal, *, code: str,
                    reason: str | None = None) -> Resource:
    """draft or published → retired. A retired resource keeps its code and is final."""
    resource = get_resource(session, principal, code)
    require_steward_of(session, principal, resource, action="catalog.resource.retire")
    if resource.status == Status.retired:
        raise Conflict(f"信息资源 {code} 已停用", code="resource_retired")
    resource.status = Status.retired.value
    resource.version += 1
    _save(session, principal, resource, change="retire", refill=False, reason=reason)
    return resource


def _refuse_if_retired(resource: Resource, verb: str) -> None:
    if resource.status == Status.retired:
        raise Conflict(f"信息资源 {resource.code} 已停用, 不能再{verb}", code="resource_retired")


def _apply(session: Session, resource: Resource, data: Mapping[str, Any]) -> None:
    for field in rules.RESOURCE_FIELDS:
        setattr(resource, field, data.get(field))
    resource.related_codes = list(data.get("related_codes") or [])
    resource.tags = list(data.get("tags") or [])
    new_items = [{field: item.get(field) for field in rules.ITEM_FIELDS}
                 for item in data.get("items") or []]
    if [item_dict(item) for item in resource.items] == new_items:
        return
    if resource.items:
        resource.items = []
        session.flush()  # drop the old rows first: item names are unique per resource
    resource.items = [DataItem(position=position, **item)
                      for position, item in enumerate(new_items)]


def _save(session: Session, principal: Principal, resource: Resource, *, change: str,
          department_name: str | None = None, refill: bool = True, **details: Any) -> None:
    """Refill the search columns if the content changed, flush, re-index, store the
    version snapshot and write the audit entry."""
    resource.updated_at = utcnow()
    if refill:
        textindex.fill(resource, department_name or resource.department.name)
    session.flush()
    textindex.index(session, resource)
    session.add(ResourceVersion(resource_id=resource.id, version=resource.version, change=change,
                                snapshot=snapshot(resource), actor=principal.username))
    session.flush()
    audit.record(session, principal, action=f"catalog.resource.{change}", resource=resource.code,
                 version=resource.version, owner=resource.department.code, **details)
