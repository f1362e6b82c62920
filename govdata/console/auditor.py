"""The auditor's pages: the ledger as a filterable, paged table, its CSV export, the
verification of the whole chain and a signed checkpoint to download."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from govdata.catalog.datastore.safecsv import CsvWriter
from govdata.console import views
from govdata.console.auth import Auditor
from govdata.console.views import PAGE_SIZE, Pager
from govdata.platform import audit, checkpoint, clock
from govdata.platform.deps import SessionDep, SettingsDep
from govdata.platform.web import FormErrors, csrf_protect, form_errors

router = APIRouter(prefix="/console", include_in_schema=False,
                   dependencies=[Depends(csrf_protect)])
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
EXPORT_MAX = 100_000
COLUMNS = ("序号", "时间", "操作人", "部门", "操作", "对象", "结果", "内容", "哈希")


class EventFilter(BaseModel):
    actor: str | None = None
    department: str | None = None
    resource: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def query(self) -> dict:
        """Dates are China dates: ``until`` includes its whole day."""
        data = self.model_dump(exclude={"since", "until"})
        data["since"] = (dt.datetime.combine(self.since, dt.time(), clock.CHINA)
                         if self.since else None)
        data["until"] = (dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time(),
                                             clock.CHINA) if self.until else None)
        return data


def _filters(request: Request) -> tuple[dict, EventFilter | None, FormErrors]:
    values = {k: v for k, v in views.clean(dict(request.query_params)).items()
              if k in EventFilter.model_fields}
    try:
        return values, EventFilter.model_validate(values), FormErrors()
    except ValidationError as exc:
        return values, None, form_errors(exc)


@router.get("/audit")
def events(request: Request, session: SessionDep, principal: Auditor, offset: Offset = 0):
    values, parsed, errors = _filters(request)
    rows, total = (audit.list_events(session, **parsed.query(), limit=PAGE_SIZE,
                                     offset=offset) if parsed else ([], 0))
    return views.page(request, principal, "audit.html", {
        "rows": rows, "pager": Pager(total, offset), "values": values, "errors": errors,
        "export_query": request.url.query, "verification": None}, status=422 if errors else 200)


@router.get("/audit/export")
def export(request: Request, session: SessionDep, principal: Auditor):
    _, parsed, errors = _filters(request)
    rows, _ = (audit.list_events(session, **parsed.query(), limit=EXPORT_MAX)
               if parsed else ([], 0))
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 with a BOM
    writer = CsvWriter(out, lineterminator="\r\n")
    writer.header(COLUMNS)
    for e in rows:
        seq = "" if e.seq is None else str(e.seq)  # unsealed yet (PostgreSQL)
        writer.writerow([seq, e.occurred_at, e.actor, e.department, e.action, e.resource,
                         e.outcome, e.body, e.entry_hash], text=True)
    name = f"audit-{clock.today().isoformat()}.csv"
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/audit/verify")
def verify(request: Request, session: SessionDep, principal: Auditor):
    result = audit.verify(session)
    return views.page(request, principal, "audit.html", {
        "rows": [], "pager": Pager(0, 0), "values": {}, "errors": FormErrors(),
        "export_query": "", "verification": result})


@router.get("/audit/checkpoint")
def download_checkpoint(session: SessionDep, settings: SettingsDep, principal: Auditor):
    signed = checkpoint.create(session, settings)
    name = f"checkpoint-{signed['size']}.json"
    return Response(checkpoint.dumps(signed), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
