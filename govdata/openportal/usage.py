"""Usage counts per dataset: views, record queries, downloads (RULES.md §3, shown in the
dataset's metadata).

A public read must not queue behind other readers of the same dataset, nor turn into a
writer, so a worker adds its counts up in memory and writes them as one upsert per dataset
every ``GOVDATA_USAGE_FLUSH_SECONDS`` (0: on every request), in a transaction of their own
after the unit of work of the request that happens to be due (``db.in_own_transaction``).
Counts of a worker that dies between two flushes are lost: at most that many seconds of
usage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from govdata.openportal.models import Usage
from govdata.platform.db import in_own_transaction

KINDS = ("views", "record_queries", "downloads")
log = logging.getLogger("govdata.openportal.usage")


class UsageCounter:
    """The counts this worker has not written yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, Counter[str]] = {}
        self._flushed_at = time.monotonic()

    def add(self, resource_id: str, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown usage kind {kind!r}")
        with self._lock:
            self._pending.setdefault(resource_id, Counter())[kind] += 1

    def pending(self, resource_id: str) -> Counter[str]:
        with self._lock:
            return Counter(self._pending.get(resource_id, ()))

    def flush_if_due(self, session: Session, every_seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            if not self._pending or now - self._flushed_at < every_seconds:
                return
            taken, self._pending, self._flushed_at = self._pending, {}, now
        in_own_transaction(session, lambda own: write(own, taken))


def write(session: Session, counts: dict[str, Counter[str]]) -> None:
    """Add counts to the stored ones: one upsert per dataset, in a stable order so two
    workers flushing at once lock rows in the same order, each in a savepoint so that a
    failure (a dataset deleted meanwhile) loses only its own counts, never the request."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for resource_id in sorted(counts):
        delta = {kind: counts[resource_id].get(kind, 0) for kind in KINDS}
        statement = insert(Usage).values(resource_id=resource_id, **delta)
        statement = statement.on_conflict_do_update(
            index_elements=[Usage.resource_id],
            set_={kind: getattr(Usage, kind) + statement.excluded[kind] for kind in KINDS})
        try:
            with session.begin_nested():
                session.execute(statement)
        except SQLAlchemyError:
            log.exception("usage counts lost", extra={"fields": {"dataset": resource_id}})


COUNTER = UsageCounter()


def count(session: Session, resource_id: str, kind: str, *, every_seconds: float) -> None:
    """Count one use, and write this worker's counts if they are due."""
    COUNTER.add(resource_id, kind)
    COUNTER.flush_if_due(session, every_seconds)


def totals(session: Session, resource_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Stored counts plus this worker's unwritten ones, per dataset."""
    ids = list(resource_ids)
    stored = {row.resource_id: row for row in session.scalars(
        select(Usage).where(Usage.resource_id.in_(ids)))} if ids else {}
    out = {}
    for resource_id in ids:
        row = stored.get(resource_id)
        pending = COUNTER.pending(resource_id)
        out[resource_id] = {kind: (getattr(row, kind) if row else 0) + pending.get(kind, 0)
                            for kind in KINDS}
    return out
