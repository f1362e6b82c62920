"""The exchange's jobs for ``govdata worker``: webhook deliveries, deadline reminders and
grant expiry, each round in transactions of its own."""

from __future__ import annotations

from govdata.exchange import deadlines, grants, notifications
from govdata.platform.db import Database
from govdata.platform.settings import Settings
from govdata.platform.worker import Job


def jobs(db: Database, settings: Settings) -> list[Job]:
    def deliver() -> int:
        return notifications.deliver_due(db.transaction, settings)

    def remind() -> int:
        with db.transaction() as session:
            return deadlines.remind(session, settings)

    def expire() -> int:
        with db.transaction() as session:
            return grants.expire_grants(session)

    return [Job("exchange.deliveries", settings.worker_poll_seconds, deliver),
            Job("exchange.reminders", settings.worker_reminder_seconds, remind),
            Job("exchange.grant_expiry", settings.worker_reminder_seconds, expire)]
