"""Datastore use cases with their permission rules and audit entries.

- Loading data: stewards of the resource's department (and the administrators of its
  jurisdiction, as for every catalog change: ``catalog.service.require_steward_of``); a
  retired resource takes no new data. One audit entry ``data.load`` per load, in the same
  transaction.
- Reading data here (the staff's own view): stewards of the department and the
  administrators of its jurisdiction, unmasked unless asked; exports are audited
  (``data.export``).

The exchange and the open portal call ``query_rows`` / ``plan_export`` / ``stream_export``
directly with their own rules and masks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import service as catalog_service
from govdata.catalog.datastore import ingest, loadproc
from govdata.catalog.datastore.export import ExportPlan, plan_export
from govdata.catalog.datastore.query import QueryResult, query_rows, sensitivities
from govdata.catalog.datastore.readers import ReadError, detect_format
from govdata.catalog.models import DataVersion, Resource, Status
from govdata.platform import audit, jurisdiction
from govdata.platform.errors import Forbidden, RuleViolation
from govdata.platform.principal import Principal


def resource_for_load(session: Session, principal: Principal, code: str) -> Resource:
    """The resource a principal may load data into (404 unknown, 403 not its steward)."""
    resource = catalog_service.get_resource(session, principal, code)
    catalog_service.require_steward_of(session, principal, resource, action="data.load")
    if resource.status == Status.retired:
        raise RuleViolation(f"信息资源 {code} 已停用, 不能再加载数据 (resource retired)",
                            code="resource_retired")
    return resource


def prepare_load(session: Session) -> None:
    """A file is about to arrive: on PostgreSQL, start what its load runs in (the loading
    processes' fork server) while it does."""
    if session.get_bind().dialect.name == "postgresql":
        loadproc.start_server()


def resource_for_reading(session: Session, principal: Principal, code: str, *,
                         action: str = "data.read") -> Resource:
    """The resource whose data a principal may read here: its department's stewards and
    the administrators of its jurisdiction (anyone else's attempt is on the ledger as a
    refused ``action``)."""
    resource = catalog_service.get_resource(session, principal, code)
    if jurisdiction.covers(principal, resource.department.division_code):
        return resource
    if principal.has("steward") and principal.department == resource.department.code:
        return resource
    raise audit.refused(session, principal, Forbidden(
        f"只有 {resource.department.name} 的数据管理员或其辖区的管理员可以查看此资源的数据",
        code="not_resource_steward"), action=action, resource=code,
        owner=resource.department.code)


def load_data(
    session: Session,
    principal: Principal,
    code: str,
    path: Path,
    *,
    format: str | None = None,
    filename: str | None = None,
    content_type: str | None = None,
    progress: ingest.Progress | None = None,
) -> DataVersion:
    """Load a CSV/XLSX/JSON file as the resource's new current version (atomic: a bad file
    changes nothing and raises ``RuleViolation data_rows_invalid`` listing its bad rows)."""
    resource = resource_for_load(session, principal, code)
    try:
        kind = detect_format(path, filename=filename, content_type=content_type,
                             explicit=format)
    except ReadError as exc:
        raise RuleViolation(str(exc), code="data_file_unreadable") from None
    version = ingest.ingest(session, resource, path, kind=kind, loaded_by=principal.username,
                            source_name=filename or path.name, progress=progress)
    audit.record(session, principal, action="data.load", resource=resource.code,
                 row_count=version.row_count, version=version.version, format=kind,
                 source=version.source_name,
                 data_items=[column["name"] for column in version.columns])
    return version


def list_versions(session: Session, principal: Principal, code: str) -> list[DataVersion]:
    resource = resource_for_reading(session, principal, code, action="data.versions")
    return list(session.scalars(select(DataVersion)
                                .where(DataVersion.resource_id == resource.id)
                                .order_by(DataVersion.version.desc())))


def read_data(session: Session, principal: Principal, code: str, *, masked: bool = False,
              **query: Any) -> QueryResult:
    """A page of the resource's data for its stewards (``query_rows`` arguments)."""
    resource = resource_for_reading(session, principal, code)
    return query_rows(session, resource, masks=sensitivities(resource) if masked else None,
                      **query)


def export_data(session: Session, principal: Principal, code: str, *, masked: bool = False,
                filters: Mapping[str, Any] | None = None, **options: Any) -> ExportPlan:
    """Plan an export for the resource's stewards; stream it with ``stream_export``."""
    resource = resource_for_reading(session, principal, code, action="data.export")
    plan = plan_export(session, resource, masks=sensitivities(resource) if masked else None,
                       filters=filters, **options)
    audit.record(session, principal, action="data.export", resource=resource.code,
                 version=plan.version, format=plan.format, masked=masked,
                 data_items=[c.name for c in plan.selection.columns if c.spec is not None],
                 query=_ledger_safe({key: value for key, value in
                                    {"filters": dict(filters) if filters else None,
                                     "q": options.get("q"), "sort": options.get("sort"),
                                     "limit": options.get("limit"),
                                     "offset": options.get("offset") or None}.items()
                                    if value}))
    return plan


def _ledger_safe(value: Any) -> Any:
    """Audit entries hold no floats (their canonical JSON differs): numbers become text."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str), parse_float=str)
