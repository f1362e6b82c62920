"""Reading granted data, every call on the ledger, and the provider's view of who read.

``read_granted`` (a page, JSON) and ``export_granted`` (a streamed CSV/JSON plan) go
through the datastore's own ``query_rows`` / ``plan_export``, limited to the grant's items
of the current version (``items=``): granted items are served as stored (the grant is the
legal basis), the others are absent. Nothing is served without a live grant for the
caller's department (403 ``no_grant``).

Each call is one ledger entry ``exchange.data.read``: served (``allowed``: grant, purpose,
items, query, rows) or refused (``refused``: the rule and reason, in a transaction of its
own). With several live grants the caller names one (``grant=``): each read is under one
grant and its purpose.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import service as catalog_service
from govdata.catalog.datastore import ExportPlan, QueryResult, plan_export, planned_rows
from govdata.catalog.datastore import query_rows as datastore_query
from govdata.catalog.models import Resource
from govdata.exchange import grants as grant_rules
from govdata.exchange import parties
from govdata.exchange.models import Grant
from govdata.platform import audit
from govdata.platform.errors import DomainError, Forbidden, RuleViolation
from govdata.platform.models import AuditEntry
from govdata.platform.principal import Principal

READ = "exchange.data.read"
EXPORT_FORMATS = ("csv", "json")


@dataclass(frozen=True)
class Access:
    resource: Resource
    grant: Grant
    items: list[str]


def ledger_query(**query: Any) -> dict[str, Any] | None:
    """The query as the ledger keeps it: only what was given, numbers as text (entries
    hold no floats)."""
    given = {key: value for key, value in query.items() if value not in (None, "", 0)}
    if not given:
        return None
    return json.loads(json.dumps(given, ensure_ascii=False, default=str), parse_float=str)


def granted_access(session: Session, principal: Principal, code: str,
                   grant_id: int | None) -> Access:
    """The resource, the live grant the call reads under and its items, or why not."""
    parties.require_role(session, principal, "requester", action=READ, resource=code)
    resource = catalog_service.get_resource(session, principal, code)
    live = grant_rules.live_grants(session, resource=resource,
                                   consumer_id=parties.department_id(principal.department))
    if grant_id is not None:
        live = [grant for grant in live if grant.id == grant_id]
    if not live:
        named = f"授权 {grant_id} " if grant_id is not None else ""
        raise Forbidden(f"部门 {principal.department} 没有信息资源 {code} 的有效{named}授权 "
                        "(no live grant)", code="no_grant")
    if len(live) > 1:
        ids = ", ".join(str(grant.id) for grant in live)
        raise RuleViolation(f"有多个有效授权 ({ids}), 请用 grant= 指明按哪一个授权读取",
                            code="grant_ambiguous",
                            errors=[{"loc": ["grant"], "msg": f"one of {ids}"}])
    grant = live[0]
    items = grant_rules.granted_items(grant)
    if not items:
        raise Forbidden(f"授权 {grant.id} 的信息项均已不予共享 (no item left)", code="no_grant")
    return Access(resource, grant, items)


def _entry(access: Access, **details: Any) -> dict[str, Any]:
    return {"grant": access.grant.id, "purpose": access.grant.purpose,
            "owner": access.resource.department.code, **details}


def read_granted(session: Session, principal: Principal, code: str, *,
                 grant: int | None = None, fields: Any = None,
                 filters: Mapping[str, Any] | None = None, q: Any = None, sort: Any = None,
                 limit: int = 20, offset: int = 0, include_total: bool = True
                 ) -> QueryResult:
    """A page of the granted items of the resource's current data."""
    query = {"fields": fields, "filters": dict(filters) if filters else None, "q": q,
             "sort": sort, "limit": limit, "offset": offset}
    try:
        access = granted_access(session, principal, code, grant)
        result = datastore_query(session, access.resource, fields=fields, filters=filters,
                                 q=q, sort=sort, limit=limit, offset=offset,
                                 include_total=include_total, items=access.items)
    except DomainError as error:
        raise audit.refused(session, principal, error, action=READ, resource=code,
                            grant=grant, query=ledger_query(**query), format="json") from None
    served = [field["id"] for field in result.fields if field["id"] != "_id"]
    audit.record(session, principal, action=READ, resource=code,
                 **_entry(access, data_items=served, query=ledger_query(**query),
                          row_count=len(result.records), version=result.version,
                          format="json"))
    return result


def export_granted(session: Session, principal: Principal, code: str, *,
                   format: str = "csv", grant: int | None = None, fields: Any = None,
                   filters: Mapping[str, Any] | None = None, q: Any = None, sort: Any = None,
                   limit: int | None = None, offset: int = 0, bom: bool = False,
                   header: str = "name") -> ExportPlan:
    """Plan a streamed export of the granted items (stream it with ``stream_export``);
    the ledger entry counts the rows the export holds."""
    query = {"fields": fields, "filters": dict(filters) if filters else None, "q": q,
             "sort": sort, "limit": limit, "offset": offset}
    try:
        if format not in EXPORT_FORMATS:
            raise RuleViolation("format 只能是 json 或 csv", code="datastore_query_invalid",
                                errors=[{"loc": ["format"], "msg": "json | csv"}])
        access = granted_access(session, principal, code, grant)
        plan = plan_export(session, access.resource, format=format, fields=fields,
                           filters=filters, q=q, sort=sort, limit=limit, offset=offset,
                           bom=bom, header=header, items=access.items)
    except DomainError as error:
        raise audit.refused(session, principal, error, action=READ, resource=code,
                            grant=grant, query=ledger_query(**query), format=format) from None
    rows = planned_rows(session.connection(), plan.selection, limit=limit, offset=offset)
    served = [column.name for column in plan.selection.columns if column.spec is not None]
    audit.record(session, principal, action=READ, resource=code,
                 **_entry(access, data_items=served, query=ledger_query(**query),
                          row_count=rows, version=plan.version, format=format))
    return plan


# --- who read the provider's data --------------------------------------------------------

def access_log(
    session: Session,
    principal: Principal,
    *,
    resource: str | None = None,
    department: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    outcome: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """The ledger's ``exchange.data.read`` entries on a provider department's resources,
    served and refused, newest first: the department's own users see their department's;
    overseers any department's (``department``) or all."""
    table = AuditEntry.__table__
    where = [table.c.action == READ]
    if department is not None or not parties.oversees_all(principal):
        provider = parties.viewed_department(session, principal, department,
                                             action="exchange.access_log.read")
        owned = select(Resource.code).where(Resource.department_id == provider.id)
        where.append(table.c.resource.in_(owned))
    if resource is not None:
        where.append(table.c.resource == resource)
    if outcome is not None:
        where.append(table.c.outcome == outcome)
    if since is not None:
        where.append(table.c.occurred_at >= audit.timestamp(since))
    if until is not None:
        where.append(table.c.occurred_at < audit.timestamp(until))
    total = session.scalar(select(func.count()).select_from(table).where(*where)) or 0
    rows = session.scalars(select(AuditEntry).where(*where).order_by(AuditEntry.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), total
