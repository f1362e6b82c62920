"""What a department's stewards set on the open side of their resources: the licence and
coverage (``OpenMetadata``) and links to distributions kept elsewhere (``Link``). Same
permission as the catalog (the owning department's stewards, the administrators of its
jurisdiction),
audited in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govdata.catalog import service as catalog_service
from govdata.catalog.models import Resource
from govdata.openportal.models import Link, OpenMetadata
from govdata.openportal.vocab import LICENCES
from govdata.platform import audit
from govdata.platform.db import utcnow
from govdata.platform.errors import RuleViolation
from govdata.platform.principal import Principal

OPEN_FIELDS = ("licence", "temporal_start", "temporal_end", "spatial")
METADATA_ACTION, LINKS_ACTION = "open.metadata.update", "open.links.update"
MAX_LINKS = 50


def stewarded_resource(session: Session, principal: Principal, code: str, *,
                       action: str) -> Resource:
    """The catalog resource with this code, if the principal may change it (a refusal of
    ``action`` goes on the ledger)."""
    resource = catalog_service.get_resource(session, principal, code)
    catalog_service.require_steward_of(session, principal, resource, action=action)
    return resource


def _date(value: Any, key: str, problems: list[dict[str, Any]]) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        problems.append({"loc": [key], "msg": f"应为日期 YYYY-MM-DD (收到 {value!r})"})
        return None


def check_open_fields(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Normalise the open attributes; RuleViolation ``open_metadata_invalid`` lists every
    problem."""
    problems: list[dict[str, Any]] = []
    out: dict[str, Any] = {}
    for key in changes:
        if key not in OPEN_FIELDS:
            problems.append({"loc": [key], "msg": f"未知字段 {key}"})
    if "licence" in changes:
        licence = changes["licence"] or None
        if licence is not None and licence not in LICENCES:
            problems.append({"loc": ["licence"],
                             "msg": f"许可协议只能是: {', '.join(LICENCES)} (收到 {licence!r})"})
        out["licence"] = licence
    for key in ("temporal_start", "temporal_end"):
        if key in changes:
            out[key] = _date(changes[key], key, problems)
    if "spatial" in changes:
        spatial = changes["spatial"]
        spatial = spatial.strip() if isinstance(spatial, str) else spatial
        if spatial is not None and (not isinstance(spatial, str) or len(spatial) > 200):
            problems.append({"loc": ["spatial"], "msg": "空间范围是不超过 200 字的文本"})
        out["spatial"] = spatial or None
    start, end = out.get("temporal_start"), out.get("temporal_end")
    if start and end and start > end:
        problems.append({"loc": ["temporal_end"], "msg": "时间范围的结束早于开始"})
    if problems:
        raise RuleViolation("开放属性无效", code="open_metadata_invalid", errors=problems)
    return out


def update_open_metadata(session: Session, principal: Principal, *, code: str,
                         changes: Mapping[str, Any]) -> OpenMetadata:
    """Set a resource's licence and coverage (only the keys given change)."""
    resource = stewarded_resource(session, principal, code, action=METADATA_ACTION)
    values = check_open_fields(changes)
    row = session.get(OpenMetadata, resource.id)
    if row is None:
        row = OpenMetadata(resource_id=resource.id)
        session.add(row)
    changed = sorted(key for key, value in values.items() if getattr(row, key) != value)
    if not changed:
        return row
    for key in changed:
        setattr(row, key, values[key])
    row.updated_at = utcnow()
    session.flush()
    audit.record(session, principal, action=METADATA_ACTION, resource=resource.code,
                 owner=resource.department.code, fields=changed)
    return row


def check_link(link: Mapping[str, Any], index: int) -> dict[str, Any]:
    problems = []
    url = link.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append({"loc": ["resources", index, "url"],
                         "msg": f"链接必须是 http(s) 地址 (收到 {url!r})"})
    name = link.get("name") or (parts.path.rsplit("/", 1)[-1] if parts else "") or "链接"
    fmt = link.get("format") or None
    if fmt is not None and (not isinstance(fmt, str) or len(fmt) > 20):
        problems.append({"loc": ["resources", index, "format"], "msg": "格式不超过 20 个字符"})
    if problems:
        raise RuleViolation("链接无效", code="open_link_invalid", errors=problems)
    return {"name": str(name)[:200], "url": url, "format": fmt.upper() if fmt else None,
            "description": link.get("description") or None}


def replace_links(session: Session, principal: Principal, *, code: str,
                  links: Sequence[Mapping[str, Any]]) -> list[Link]:
    """Replace a resource's links with these (``[]`` removes them)."""
    resource = stewarded_resource(session, principal, code, action=LINKS_ACTION)
    if len(links) > MAX_LINKS:
        raise RuleViolation(f"至多 {MAX_LINKS} 个链接", code="open_link_invalid")
    checked = [check_link(link, index) for index, link in enumerate(links)]
    current = list(session.scalars(select(Link).where(Link.resource_id == resource.id)
                                   .order_by(Link.position)))
    if [(c.name, c.url, c.format, c.description) for c in current] == [
            (c["name"], c["url"], c["format"], c["description"]) for c in checked]:
        return current
    session.execute(delete(Link).where(Link.resource_id == resource.id))
    rows = [Link(resource_id=resource.id, position=position, **values)
            for position, values in enumerate(checked)]
    session.add_all(rows)
    session.flush()
    audit.record(session, principal, action=LINKS_ACTION, resource=resource.code,
                 owner=resource.department.code, links=len(rows))
    return rows


def add_link(session: Session, principal: Principal, *, code: str,
             link: Mapping[str, Any]) -> Link:
    """Add one link after the others."""
    resource = stewarded_resource(session, principal, code, action=LINKS_ACTION)
    count = len(list(session.scalars(select(Link.id).where(Link.resource_id == resource.id))))
    if count >= MAX_LINKS:
        raise RuleViolation(f"至多 {MAX_LINKS} 个链接", code="open_link_invalid")
    row = Link(resource_id=resource.id, position=count, **check_link(link, count))
    session.add(row)
    session.flush()
    audit.record(session, principal, action=LINKS_ACTION, resource=resource.code,
                 owner=resource.department.code, links=count + 1)
    return row
