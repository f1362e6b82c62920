"""Evaluation of a department's sharing (绩效评估, RULES.md §1), per calendar year.

Figures, each computed from the records (requests, grants, disputes, data versions):

- ``resources``: its published resources by share type;
- ``requests_received`` (as provider): by outcome, ``answered`` (decided by the provider),
  ``overdue`` (answered after the deadline, or still pending past it), the median reply
  time in working days (submission date to decision date, the working-day calendar);
- ``requests_made`` (as consumer) by outcome;
- ``refusals``: each refusal with its reason;
- ``disputes_received``: answered, open, overdue, median resolution time in working days;
- ``freshness``: each published resource's last data load against its update cycle
  (``fresh``, ``stale``, ``no_data``; ``不定期``/``其他`` are not assessed).

A year is counted by the China date a request or dispute was submitted; ``as_of`` is the
end of the year, or today for the current year.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog.models import DataVersion, Resource, Status
from govdata.exchange import parties
from govdata.exchange.models import Dispute, DisputeStatus, RequestStatus, ShareRequest
from govdata.exchange.requests import SYSTEM_ACTOR
from govdata.platform import clock
from govdata.platform.models import Department
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings
from govdata.platform.workdays import WorkCalendar

CYCLE_DAYS = {"实时": 1, "每日": 1, "每周": 7, "每月": 31, "每季度": 92, "每半年": 183,
              "每年": 366}
SHARE_TYPES = ("unconditional", "conditional", "none")


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime(year, 1, 1, tzinfo=clock.CHINA),
            dt.datetime(year + 1, 1, 1, tzinfo=clock.CHINA))


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def evaluate(session: Session, principal: Principal, settings: Settings, *,
             department: str | None = None, year: int | None = None) -> dict[str, Any]:
    """The department's evaluation for the year (default: this year)."""
    owner = parties.viewed_department(session, principal, department,
                                      action="exchange.evaluation.read")
    today = clock.today()
    year = year or today.year
    as_of = min(today, dt.date(year, 12, 31))
    calendar = WorkCalendar.from_settings(settings)
    start, end = _year_bounds(year)
    received = session.scalars(select(ShareRequest).where(
        ShareRequest.provider_id == owner.id, ShareRequest.created_at >= start,
        ShareRequest.created_at < end).order_by(ShareRequest.id)).all()
    made = session.scalars(select(ShareRequest).where(
        ShareRequest.consumer_id == owner.id, ShareRequest.created_at >= start,
        ShareRequest.created_at < end)).all()
    disputes = session.scalars(select(Dispute).where(
        Dispute.provider_id == owner.id, Dispute.created_at >= start,
        Dispute.created_at < end)).all()
    return {
        "department": {"code": owner.code, "name": owner.name},
        "year": year,
        "as_of": as_of.isoformat(),
        "resources": _resources(session, owner),
        "requests_received": _received(received, calendar, as_of),
        "requests_made": _by_status(made),
        "refusals": [{"request": r.id, "resource": r.resource.code, "consumer": r.consumer.code,
                      "reason": r.decision_reason, "decided_at": r.decided_at.isoformat()}
                     for r in received if r.status == RequestStatus.refused],
        "disputes_received": _disputes(disputes, calendar, as_of),
        "freshness": _freshness(session, owner, as_of),
    }


def _resources(session: Session, owner: Department) -> dict[str, int]:
    rows = dict(session.execute(select(Resource.share_type, func.count()).where(
        Resource.department_id == owner.id, Resource.status == Status.published.value)
        .group_by(Resource.share_type)).all())
    counts = {share_type: rows.get(share_type, 0) for share_type in SHARE_TYPES}
    return {"published": sum(counts.values()), **counts}


def _by_status(requests: list[ShareRequest]) -> dict[str, int]:
    counts = {status.value: 0 for status in RequestStatus}
    for request in requests:
        counts[request.status] += 1
    return {"total": len(requests), **counts}


def _received(requests: list[ShareRequest], calendar: WorkCalendar, as_of: dt.date
              ) -> dict[str, Any]:
    answered = [r for r in requests if r.decided_at is not None and r.decided_by != SYSTEM_ACTOR]
    late = [r for r in answered
            if r.deadline is not None and clock.local_date(r.decided_at) > r.deadline]
    waiting = [r for r in requests if r.status == RequestStatus.pending
               and r.deadline is not None and as_of > r.deadline]
    replies = [calendar.working_days_between(clock.local_date(r.created_at),
                                             clock.local_date(r.decided_at)) for r in answered]
    figures = _by_status(requests)
    return {
        **figures,
        "granted_at_once": sum(r.decided_by == SYSTEM_ACTOR for r in requests),
        "approved": sum(r.status == RequestStatus.granted for r in answered),
        "answered": len(answered),
        "overdue": len(late) + len(waiting),
        "answered_late": len(late),
        "pending_overdue": len(waiting),
        "median_reply_working_days": _median(replies),
    }


def _disputes(disputes: list[Dispute], calendar: WorkCalendar, as_of: dt.date
              ) -> dict[str, Any]:
    answered = [d for d in disputes if d.status == DisputeStatus.answered]
    late = [d for d in answered if clock.local_date(d.answered_at) > d.deadline]
    waiting = [d for d in disputes if d.status == DisputeStatus.open and as_of > d.deadline]
    times = [calendar.working_days_between(clock.local_date(d.created_at),
                                           clock.local_date(d.answered_at)) for d in answered]
    return {"total": len(disputes), "answered": len(answered),
            "open": len(disputes) - len(answered), "overdue": len(late) + len(waiting),
            "answered_late": len(late), "corrected": sum(d.corrected_version is not None
                                                         for d in answered),
            "median_resolution_working_days": _median(times)}


def _freshness(session: Session, owner: Department, as_of: dt.date) -> dict[str, Any]:
    last_load = (select(DataVersion.resource_id, func.max(DataVersion.loaded_at).label("at"))
                 .group_by(DataVersion.resource_id).subquery())
    rows = session.execute(
        select(Resource.code, Resource.name, Resource.update_cycle, last_load.c.at)
        .outerjoin(last_load, last_load.c.resource_id == Resource.id)
        .where(Resource.department_id == owner.id, Resource.status == Status.published.value)
        .order_by(Resource.code)).all()
    items = []
    for code, name, cycle, loaded_at in rows:
        last = clock.local_date(_aware(loaded_at)) if loaded_at is not None else None
        days = CYCLE_DAYS.get(cycle)
        if last is None:
            status, due = "no_data", None
        elif days is None:
            status, due = "not_assessed", None
        else:
            due = last + dt.timedelta(days=days)
            status = "fresh" if as_of <= due else "stale"
        items.append({"resource": code, "name": name, "update_cycle": cycle,
                      "last_loaded": last.isoformat() if last else None,
                      "due": due.isoformat() if due else None, "status": status})
    counts = {key: sum(item["status"] == key for item in items)
              for key in ("fresh", "stale", "no_data", "not_assessed")}
    return {"resources": len(items), **counts, "items": items}


def _aware(moment: dt.datetime | str) -> dt.datetime:
    """``max()`` over a UTC column comes back without its type on SQLite."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


LABELS = {
    "resources": "已发布信息资源", "requests_received": "收到的共享申请",
    "requests_made": "提出的共享申请", "disputes_received": "收到的数据校核",
    "freshness": "数据更新及时性",
}


def as_csv(report: dict[str, Any]) -> bytes:
    """The report as CSV rows ``section, metric, value`` (UTF-8 with BOM, for Excel), then
    the refusals and each resource's freshness."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    department = report["department"]
    writer.writerow(["部门", department["code"], department["name"]])
    writer.writerow(["年度", report["year"], f"截至 {report['as_of']}"])
    writer.writerow(["section", "metric", "value"])
    for section, label in LABELS.items():
        for metric, value in report[section].items():
            if metric != "items":
                writer.writerow([f"{label} ({section})", metric, "" if value is None else value])
    writer.writerow([])
    writer.writerow(["拒绝的申请 (refusals)", "request", "resource", "consumer", "reason"])
    for refusal in report["refusals"]:
        writer.writerow(["", refusal["request"], refusal["resource"], refusal["consumer"],
                         refusal["reason"]])
    writer.writerow([])
    writer.writerow(["数据更新 (freshness)", "resource", "name", "update_cycle", "last_loaded",
                     "due", "status"])
    for item in report["freshness"]["items"]:
        writer.writerow(["", item["resource"], item["name"], item["update_cycle"],
                         item["last_loaded"] or "", item["due"] or "", item["status"]])
    return b"\xef\xbb\xbf" + out.getvalue().encode()
