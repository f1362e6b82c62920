"""Deadline reminders (run by ``govdata worker``): a pending request or an open dispute
whose deadline is within ``GOVDATA_REMINDER_WORKING_DAYS`` working days (default 2) reminds
the provider once; one past its deadline tells both departments once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govdata.exchange import notifications
from govdata.exchange.models import Dispute, DisputeStatus, RequestStatus, ShareRequest
from govdata.platform import clock
from govdata.platform.settings import Settings
from govdata.platform.workdays import WorkCalendar


def _due(calendar: WorkCalendar, settings: Settings, today: dt.date, deadline: dt.date,
         reminded_on: dt.date | None, overdue_notified: bool) -> str | None:
    """``overdue``, ``soon`` or nothing to say."""
    if today > deadline:
        return None if overdue_notified else "overdue"
    if reminded_on is None and (calendar.working_days_between(today, deadline)
                                <= settings.reminder_working_days):
        return "soon"
    return None


def remind(session: Session, settings: Settings, *, today: dt.date | None = None) -> int:
    """Send the reminders that are due; the number of notifications written."""
    today = today or clock.today()
    calendar = WorkCalendar.from_settings(settings)
    sent = 0
    requests = session.scalars(select(ShareRequest).where(
        ShareRequest.status == RequestStatus.pending.value, ShareRequest.deadline.is_not(None),
        or_(ShareRequest.reminded_on.is_(None), ShareRequest.overdue_notified.is_(False))))
    for request in requests:
        sent += _remind(session, calendar, settings, today, request, "request",
                        f"共享申请 {request.id}: {request.consumer.name} 申请 "
                        f"{request.resource.name}")
    disputes = session.scalars(select(Dispute).where(
        Dispute.status == DisputeStatus.open.value,
        or_(Dispute.reminded_on.is_(None), Dispute.overdue_notified.is_(False))))
    for dispute in disputes:
        sent += _remind(session, calendar, settings, today, dispute, "dispute",
                        f"数据校核 {dispute.id}: {dispute.consumer.name} 对 "
                        f"{dispute.resource.name}")
    return sent


def _remind(session: Session, calendar: WorkCalendar, settings: Settings, today: dt.date,
            subject: ShareRequest | Dispute, kind: str, what: str) -> int:
    due = _due(calendar, settings, today, subject.deadline, subject.reminded_on,
               subject.overdue_notified)
    if due is None:
        return 0
    common = {"subject_type": kind, "subject_id": subject.id,
              "resource": subject.resource.code, "deadline": subject.deadline.isoformat()}
    if due == "soon":
        subject.reminded_on = today
        notifications.notify(session, subject.provider, kind=f"{kind}.deadline_soon",
                             title=f"即将到期 ({subject.deadline.isoformat()}): {what}",
                             **common)
        return 1
    subject.overdue_notified = True
    subject.reminded_on = subject.reminded_on or today
    for department in (subject.provider, subject.consumer):
        notifications.notify(session, department, kind=f"{kind}.overdue",
                             title=f"已逾期 (期限 {subject.deadline.isoformat()}): {what}",
                             **common)
    return 2
