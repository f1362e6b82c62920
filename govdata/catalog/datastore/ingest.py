"""Loading a file into a new version of a resource's data, atomically.

Inside the caller's transaction, under a savepoint:

1. a new typed table ``ds_<id>_v<n>`` is created (``tables``);
2. the file is read in batches (``readers``), each batch checked column by column
   (``validate``) and, while no row has failed, written. On PostgreSQL the reading and
   checking run in a child process (``loadproc``) that ends with the load, so that the
   memory they take goes with it; it sends the batches as COPY CSV through a pipe, and this
   process writes them into ``COPY … FROM STDIN`` on the session's connection (the child
   reads and checks the next batch while the database parses this one). On SQLite (tests,
   development) all of it runs here, written with ``executemany``;
3. if any row failed, the savepoint is rolled back (the table disappears, nothing else
   changed) and ``RuleViolation data_rows_invalid`` lists every bad row (the first
   ``MAX_REPORTED_ERRORS``, with the total);
4. otherwise the ``DataVersion`` row is added as current and the previous current one
   flipped off: readers see the old version or the new one, never a part of one;
5. versions older than the newest ``KEEP_VERSIONS`` are dropped. The previous version is
   kept so that a reader that looked up the old table just before the switch can still
   finish its export; a drop that waits on such a reader for more than two seconds is left
   for the next load.

Loads of the same resource are serialised (an advisory lock on PostgreSQL).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from psycopg import errors as pg_errors
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from govdata.catalog.datastore import loadproc
from govdata.catalog.datastore.batches import (
    Progress,
    Report,
    Writer,
    header_violation,
    load_batches,
    read_apart,
)
from govdata.catalog.datastore.readers import ReadError, RowTooLarge, open_reader
from govdata.catalog.datastore.stats import Gatherer
from govdata.catalog.datastore.tables import (
    ROW_ID,
    ColumnSpec,
    build_table,
    index_statements,
    specs_for_items,
    table_name,
)
from govdata.catalog.datastore.validate import sqlite_values
from govdata.catalog.models import DataVersion, Resource
from govdata.platform.errors import DomainError, RuleViolation

log = logging.getLogger("govdata.datastore")

KEEP_VERSIONS = 2
DROP_LOCK_TIMEOUT = "2s"
CSV_BLOCK_SIZES = (1 << 20, 16 << 20, 128 << 20)  # a CSV row must fit in a block
LOAD_LOCK_NAMESPACE = 0x64730000_00000000  # xor-ed into the resource id for the advisory lock




def preparer_quote(connection: Connection):
    return connection.dialect.identifier_preparer.quote



@functools.cache
def return_memory_promptly() -> None:
    """Have pyarrow hand the memory of a load back to the system when it is done. Its
    default allocator (mimalloc) keeps it: a web worker grew by about 110 MB with the first
    million-row upload and kept it; jemalloc without decay returns it (where pyarrow was
    built without jemalloc, the system allocator)."""
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:
        pa.set_memory_pool(pa.system_memory_pool())


def ingest(
    session: Session,
    resource: Resource,
    path: Path,
    *,
    kind: str,
    loaded_by: str,
    source_name: str | None = None,
    progress: Progress | None = None,
) -> DataVersion:
    """Load ``path`` (``kind`` csv/xlsx/json) as the resource's new current version."""
    specs = specs_for_items(resource.items)
    if not specs:
        raise RuleViolation(f"信息资源 {resource.code} 没有信息项, 无法加载数据",
                            code="resource_has_no_items")
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        key = int(resource.id.replace("-", "")[:15], 16) ^ LOAD_LOCK_NAMESPACE
        connection.execute(select(func.pg_advisory_xact_lock(key)))
    latest = session.scalar(select(func.max(DataVersion.version))
                            .where(DataVersion.resource_id == resource.id)) or 0
    attempt = _Attempt(session, resource, path, kind=kind, specs=specs, number=latest + 1,
                       source_name=source_name, loaded_by=loaded_by, progress=progress)
    for block_size in CSV_BLOCK_SIZES:
        try:
            version = attempt.run(block_size)
        except RowTooLarge:
            if block_size == CSV_BLOCK_SIZES[-1]:
                raise RuleViolation(f"CSV 文件中有一行超过 {block_size >> 20} MiB, 无法读取 "
                                    "(a row is too long)", code="data_file_unreadable") from None
            continue
        except ReadError as exc:
            raise RuleViolation(str(exc), code="data_file_unreadable") from None
        prune(session, resource, keep=KEEP_VERSIONS)
        return version
    raise AssertionError("unreachable")


@dataclass
class _Attempt:
    """One pass over the file into a new table, under a savepoint: all or nothing."""

    session: Session
    resource: Resource
    path: Path
    kind: str
    specs: list[ColumnSpec]
    number: int
    source_name: str | None
    loaded_by: str
    progress: Progress | None

    def run(self, block_size: int) -> DataVersion:
        if self.session.connection().dialect.name == "postgresql":
            return self._run_apart(block_size)
        return_memory_promptly()
        session, specs = self.session, self.specs
        reader = open_reader(self.path, self.kind, specs, block_size=block_size)
        try:
            if reader.header_errors:
                raise header_violation(reader.header_errors)
            name = table_name(self.resource.id, self.number)
            with session.begin_nested():
                connection = session.connection()
                dialect = connection.dialect.name
                build_table(name, specs, dialect).create(connection)
                writer = SqliteWriter(connection, name, specs)
                report = Report()
                gatherer = Gatherer(specs)
                try:
                    rows, loaded = load_batches(reader, specs, writer, report, self.progress,
                                         gatherer)
                except BaseException:
                    writer.abort()
                    raise
                if report.count:
                    raise report.violation()
                return self._finish(connection, name, rows, loaded, gatherer.result())
        finally:
            reader.close()

    def _run_apart(self, block_size: int) -> DataVersion:
        """PostgreSQL: the file read and checked by a child process, its COPY data written
        here, in the session's transaction."""
        name = table_name(self.resource.id, self.number)
        with loadproc.LoadProcess(read_apart, self.path, self.kind, self.specs, block_size,
                                  passed=(DomainError, ReadError)) as child, \
                self.session.begin_nested():
            connection = self.session.connection()
            build_table(name, self.specs, "postgresql").create(connection)
            rows, loaded, stats = _copy_from(child, connection, name, self.specs,
                                             self.progress)
            return self._finish(connection, name, rows, loaded, stats)

    def _finish(self, connection: Connection, name: str, rows: int,
                loaded: list[ColumnSpec], stats: dict) -> DataVersion:
        if rows == 0:
            raise RuleViolation("文件没有数据行 (the file has no data rows)", code="data_empty")
        for statement in index_statements(name, connection.dialect.name,
                                          preparer_quote(connection)):
            connection.exec_driver_sql(statement)
        return _switch(self.session, self.resource, number=self.number, table=name,
                       specs=loaded, rows=rows, source_name=self.source_name,
                       loaded_by=self.loaded_by, stats=stats)



def _copy_from(child: loadproc.LoadProcess, connection: Connection, table: str,
               specs: Sequence[ColumnSpec], progress: Progress | None
               ) -> tuple[int, list[ColumnSpec], dict]:
    """Write what the child sends into ``COPY … FROM STDIN``; the rows, specs and stats it
    reports. Its bad rows' ``RuleViolation`` (or any error) cancels the COPY."""
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in [ROW_ID, *(s.column for s in specs)])
    sql = f"COPY {quote(table)} ({columns}) FROM STDIN (FORMAT csv, ENCODING 'UTF8')"
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for item in child:
                if isinstance(item, memoryview):
                    copy.write(item)
                elif item[0] == "progress":
                    if progress:
                        progress(*item[1:])
                else:
                    _, rows, loaded, stats, violation = item
                    if violation is not None:
                        raise violation
                    break
    except (pg_errors.DataException, pg_errors.IntegrityError) as error:
        raise RuleViolation(f"数据库拒绝了数据 (the database refused the data): {error}",
                            code="data_rows_invalid") from error
    return rows, loaded, stats



def _switch(session: Session, resource: Resource, *, number: int, table: str,
            specs: Sequence[ColumnSpec], rows: int, source_name: str | None,
            loaded_by: str, stats: dict) -> DataVersion:
    session.execute(update(DataVersion)
                    .where(DataVersion.resource_id == resource.id, DataVersion.is_current)
                    .values(is_current=False))
    version = DataVersion(resource_id=resource.id, version=number, table_name=table,
                          columns=[spec.as_dict() for spec in specs], row_count=rows,
                          is_current=True, loaded_by=loaded_by,
                          source_name=(source_name or "")[:255] or None, column_stats=stats)
    session.add(version)
    session.flush()
    return version


def prune(session: Session, resource: Resource, *, keep: int = KEEP_VERSIONS) -> list[int]:
    """Drop the tables of versions older than the newest ``keep``; returns the versions
    dropped. A table still being read (PostgreSQL lock wait over two seconds) stays for
    the next load."""
    versions = session.scalars(select(DataVersion)
                               .where(DataVersion.resource_id == resource.id)
                               .order_by(DataVersion.version.desc())).all()
    dropped: list[int] = []
    for version in versions[keep:]:
        if version.is_current:
            continue
        quoted = session.get_bind().dialect.identifier_preparer.quote(version.table_name)
        postgres = session.get_bind().dialect.name == "postgresql"
        try:
            with session.begin_nested():
                if postgres:
                    session.execute(text(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
                session.execute(text(f"DROP TABLE IF EXISTS {quoted}"))
                if postgres:
                    session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
                session.delete(version)
                session.flush()
            dropped.append(version.version)
        except DBAPIError as exc:
            log.warning("kept %s: %s", version.table_name, exc.orig)
    return dropped


def drop_data(session: Session, resource: Resource) -> None:
    """Drop every version of a resource's data (its tables and ``DataVersion`` rows), for
    a resource about to be deleted: the rows would go with it by cascade, the tables not."""
    preparer = session.get_bind().dialect.identifier_preparer
    for version in session.scalars(select(DataVersion)
                                   .where(DataVersion.resource_id == resource.id)):
        session.execute(text(f"DROP TABLE IF EXISTS {preparer.quote(version.table_name)}"))
        session.delete(version)
    session.flush()



class SqliteWriter(Writer):
    def __init__(self, connection: Connection, table: str, specs: Sequence[ColumnSpec]) -> None:
        quote = connection.dialect.identifier_preparer.quote
        columns = ", ".join(quote(name) for name in [ROW_ID, *(s.column for s in specs)])
        marks = ", ".join("?" for _ in range(len(specs) + 1))
        self.sql = f"INSERT INTO {quote(table)} ({columns}) VALUES ({marks})"
        self.connection, self.specs = connection, specs

    def write(self, ids: np.ndarray, arrays: Sequence[pa.Array]) -> None:
        columns = [ids.tolist()] + [sqlite_values(spec, array)
                                    for spec, array in zip(self.specs, arrays, strict=True)]
        self.connection.exec_driver_sql(self.sql, list(zip(*columns, strict=True)))


