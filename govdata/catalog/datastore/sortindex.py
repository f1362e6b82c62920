"""Indexes for sorted pages, built when a large version is first sorted by a column.

A page sorted by a column without an index reads and sorts the whole table (a million
rows: 150–300 ms every time). Version tables never change after their load, so an index
built once serves every later page of that version; building one for every column at load
would cost the load a second or more per column, for columns nobody sorts by. So the first
sorted page of a large version (at least ``datastore_sort_index_min_rows`` rows) asks for a
btree index on each column it sorts by, and a thread of the process builds it beside the
requests (the one asking is answered without it). The default btree order serves both
``asc nulls last`` and, scanned backwards, ``desc nulls first``, as the query sorts; the
``_id`` tie-break is an incremental sort of the few rows with equal values.

A plain ``CREATE INDEX`` takes a SHARE lock, which no reader waits on and no writer of an
immutable table needs; it waits at most ``LOCK_TIMEOUT`` for one (a table being dropped)
and gives up. Asked of a read replica, it fails (read-only) and is not retried in this
process: the index must come from a primary."""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Iterable

from sqlalchemy.engine import Engine

log = logging.getLogger("govdata.datastore")

LOCK_TIMEOUT = "2s"


class SortIndexes:
    """What this process has asked for, and the thread that builds it."""

    def __init__(self) -> None:
        self._asked: set[tuple[Engine, str, str]] = set()
        self._queue: queue.Queue[tuple[Engine, str, str]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def want(self, engine: Engine, table: str, columns: Iterable[str]) -> None:
        """Ask for an index on each column (once per process and table)."""
        for column in columns:
            key = (engine, table, column)  # an engine per database and process
            with self._lock:
                if key in self._asked:
                    continue
                self._asked.add(key)
                self._queue.put((engine, table, column))
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, daemon=True,
                                                    name="datastore-sort-index")
                    self._thread.start()

    def wait(self) -> None:
        """Until every index asked for so far is built or given up (for tests)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            engine, table, column = self._queue.get()
            try:
                build(engine, table, column)
            except Exception as exc:  # noqa: BLE001 - a missing index only costs speed
                log.info("no sort index on %s.%s: %s", table, column, exc)
            finally:
                self._queue.task_done()


def index_name(table: str, column: str) -> str:
    """Short and distinct whatever the column's name (identifiers stop at 63 bytes)."""
    return f"{table}__s_{hashlib.sha1(column.encode()).hexdigest()[:10]}"


def build(engine: Engine, table: str, column: str) -> None:
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        try:
            connection.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {quote(index_name(table, column))} "
                f"ON {quote(table)} ({quote(column)})")
        finally:
            connection.exec_driver_sql("RESET lock_timeout")


SORT_INDEXES = SortIndexes()
