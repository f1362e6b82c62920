"""Engine, sessions and the declarative base shared by every part.

SQLite runs with WAL and foreign keys on; its driver's own transaction handling is
replaced by explicit BEGIN so SAVEPOINTs work (the SQLAlchemy pysqlite recipe).

SQLite allows one writer at a time, and a transaction that has read cannot take the write
lock while another writes (it fails at once, without waiting for the busy timeout). So a
unit of work that may write begins ``BEGIN IMMEDIATE``: writers queue for the lock from
the start. Read units of work (GET requests) begin deferred, so reads never wait for a
writer; the few that append to the ledger take the lock with ``write_lock`` before they
read what they write after.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored in UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    return str(uuid.uuid4())


OWN_TRANSACTION = "govdata.own_transaction"
SQLITE_BEGIN = "govdata_sqlite_begin"  # execution option: "IMMEDIATE" or "DEFERRED"
_WRITING = "govdata.sqlite_writing"  # connection info: this transaction holds the lock


def in_own_transaction(session: Session, write: Callable[[Session], None]) -> None:
    """Queue ``write`` to run in a transaction of its own when the session's current unit
    of work ends, committed or rolled back. A refused act's ledger entry is written this
    way: the act's own transaction rolls back, the record of the refusal stays."""
    session.info.setdefault(OWN_TRANSACTION, []).append(write)


@contextmanager
def unit_of_work_on(session: Session, *, nested: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error; then the writes queued
    with ``in_own_transaction`` run in one transaction of their own. ``nested`` makes both
    savepoints (tests run every request inside an outer transaction)."""
    try:
        with session.begin_nested() if nested else session.begin():
            yield session
    finally:
        queued = session.info.pop(OWN_TRANSACTION, [])
        if queued:
            with session.begin_nested() if nested else session.begin():
                write_lock(session)
                for write in queued:
                    write(session)


_FINISH = "govdata.finish_unit_of_work"


@asynccontextmanager
async def unit_of_work_async(session: Session) -> AsyncIterator[Session]:
    """``unit_of_work_on`` for the event loop, then the session closed: entering does no
    I/O; the end (commit or rollback, the queued writes, closing) is one trip to a thread,
    shielded from cancellation and outside the thread pool's limit (a full pool must not
    keep a session from giving its connection back) — unless the endpoint, already in a
    thread, ended it there (``end_unit_of_work``)."""
    work = unit_of_work_on(session)
    work.__enter__()
    ended = False

    def finish(*exc_info) -> None:
        nonlocal ended
        ended = True
        try:
            work.__exit__(*exc_info)
        finally:
            session.close()

    session.info[_FINISH] = finish
    try:
        yield session
    except BaseException as exc:
        if not ended:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(finish, type(exc), exc, exc.__traceback__,
                                               limiter=anyio.CapacityLimiter(1))
        raise
    if not ended:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(finish, None, None, None,
                                           limiter=anyio.CapacityLimiter(1))


def end_unit_of_work(session: Session) -> None:
    """Commit and close a request's unit of work now, in the thread running its endpoint,
    sparing the event loop a trip to a thread for it after the endpoint returns. Call it
    last, once the answer is made; for a session that is not a request's unit of work
    (a read replica's, a test's) nothing happens, and it ends as it would have."""
    finish = session.info.pop(_FINISH, None)
    if finish is not None:
        finish(None, None, None)


def write_lock(session: Session) -> None:
    """Make sure the session's transaction may write without failing on SQLite's lock.

    A deferred SQLite transaction of a read unit of work that has only read so far ends
    and a ``BEGIN IMMEDIATE`` takes its place (waiting for the lock up to the busy
    timeout); whatever the caller reads next is current. Elsewhere (PostgreSQL, immediate
    transactions, the tests' one shared connection) nothing happens."""
    connection = session.connection()
    if connection.dialect.name != "sqlite" or connection.info.get(_WRITING, True):
        return
    if connection.get_execution_options().get(SQLITE_BEGIN) != "DEFERRED":
        return
    connection.exec_driver_sql("COMMIT")
    connection.exec_driver_sql("BEGIN IMMEDIATE")
    connection.info[_WRITING] = True


def _prepare_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms:d}")  # first: the next wait
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(SQLITE_BEGIN) == "IMMEDIATE"
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        connection.info[_WRITING] = immediate


def make_engine(url: str, *, echo: bool = False, busy_timeout: float = 30.0) -> Engine:
    """``busy_timeout``: how long a SQLite writer waits for the lock before failing."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        _prepare_sqlite(engine, int(busy_timeout * 1000))
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


class Database:
    """One engine and its session factory; the app and the CLI each hold one. With
    ``read_urls`` (PostgreSQL streaming replicas) public reads may go to a replica."""

    def __init__(self, url: str, *, echo: bool = False, busy_timeout: float = 30.0,
                 read_urls: Sequence[str] = ()) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo, busy_timeout=busy_timeout)
        self.sessionmaker = sessionmaker(
            self.engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}),
            expire_on_commit=False)
        self.read_sessionmaker = sessionmaker(
            self.engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"}),
            expire_on_commit=False)
        self.read_engines = [make_engine(read_url, echo=echo) for read_url in read_urls]

    @property
    def read_engine(self) -> Engine:
        """A replica (chosen at random) for one read, else the primary."""
        return random.choice(self.read_engines) if self.read_engines else self.engine

    def read_unit_of_work(self) -> Iterator[Session]:
        """A read-only unit of work on a replica when there are any. What it queues with
        ``in_own_transaction`` (usage counts, refusals for the ledger) is written on the
        primary afterwards. Anything that must see its own writes uses ``unit_of_work``."""
        if not self.read_engines:
            yield from self.unit_of_work(read=True)
            return
        with Session(self.read_engine, expire_on_commit=False) as session:
            try:
                with session.begin():
                    yield session
            finally:
                queued = session.info.pop(OWN_TRANSACTION, [])
                if queued:
                    with self.sessionmaker() as primary, primary.begin():
                        for write in queued:
                            write(primary)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session_factory(self, *, read: bool = False) -> sessionmaker:
        """Sessions for a unit of work; ``read``: one that mostly reads (see the module's
        note on SQLite)."""
        return self.read_sessionmaker if read else self.sessionmaker

    def unit_of_work(self, *, read: bool = False) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on any error. ``read``:
        a unit of work that mostly reads (see the module's note on SQLite)."""
        with self.session_factory(read=read)() as session, unit_of_work_on(session):
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """``unit_of_work`` as a context manager (the CLI, the worker)."""
        yield from self.unit_of_work()

    def dispose(self) -> None:
        self.engine.dispose()
        for engine in self.read_engines:
            engine.dispose()
