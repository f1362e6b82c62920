"""The audit ledger (RULES.md §6): append-only, hash-chained, written in the caller's
transaction.

Writing an entry and sealing it are two steps, as in Certificate Transparency logs and
Trillian. ``record`` writes the entry in the transaction of the act it records (no act
without its entry) but, on PostgreSQL, unsealed: no sequence number, no hash, and no lock,
so concurrent acts commit side by side. ``seal``, the single sequencer (one at a time by an
advisory lock; run by ``govdata worker`` every ``GOVDATA_AUDIT_SEAL_SECONDS`` and before
``audit verify`` and ``audit checkpoint``), takes the unsealed entries in arrival order and
gives each its ``seq`` and ``entry_hash``. The append-only trigger lets that one change
through and no other. SQLite has one writer at a time anyway: there ``record`` seals at once.

``entry_hash = SHA-256(prev_hash ‖ body)`` where ``body`` is the entry's canonical JSON
(RFC 8785). Entries hold only strings, integers, booleans, null, lists and objects with
ASCII keys, and for those ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` is exactly the RFC 8785 form (tests check it against the
``rfc8785`` package). The body is stored as hashed, so verification rehashes stored bytes
instead of rebuilding them; the indexed columns are generated from the body by the
database, so they cannot be altered apart from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from psycopg import ClientCursor
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from govdata.platform.db import Database, in_own_transaction, write_lock
from govdata.platform.errors import DomainError
from govdata.platform.models import AuditEntry
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings
from govdata.platform.worker import Job

GENESIS_HASH = "0" * 64
SEQUENCER_LOCK_KEY = 0x676F7664  # advisory lock key: one sequencer at a time
SEAL_BATCH = 10_000
_TABLE = AuditEntry.__table__
_HEAD = (select(_TABLE.c.seq, _TABLE.c.entry_hash).where(_TABLE.c.seq.is_not(None))
         .order_by(_TABLE.c.seq.desc()).limit(1))
_INSERT = insert(_TABLE).returning(_TABLE.c.id)
_UNSEALED = text("SELECT id, body::text FROM platform_audit_entry WHERE seq IS NULL"
                 " ORDER BY id LIMIT :n")
_SEAL = text("UPDATE platform_audit_entry AS e SET seq = s.seq, entry_hash = s.entry_hash"
             " FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]),"
             " CAST(:hashes AS text[])) AS s(id, seq, entry_hash)"
             " WHERE e.id = s.id AND e.seq IS NULL")


def canonical_json(entry: dict[str, Any]) -> str:
    _refuse_floats(entry)
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("audit entries carry no floats (their canonical form differs)")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def timestamp(moment: dt.datetime | None = None) -> str:
    moment = moment or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record(
    session: Session,
    principal: Principal | None,
    *,
    action: str,
    resource: str | None = None,
    outcome: str = "allowed",
    **details: Any,
) -> int:
    """Write one entry in the session's transaction and return its id (arrival order).

    ``details`` are the RULES.md §6 fields that apply (rule, data_items, row_count,
    query, purpose, grant, reason, ...); ``None`` values are left out.
    """
    entry = {
        "at": timestamp(),
        "actor": principal.username if principal else None,
        "department": principal.department if principal else None,
        "roles": sorted(principal.roles) if principal else None,
        "client_ip": principal.client_ip if principal else None,
        "request_id": principal.request_id if principal else None,
        "action": action,
        "resource": resource,
        "outcome": outcome,
        **details,
    }
    body = canonical_json({key: value for key, value in entry.items() if value is not None})
    if _sequenced_later(session):
        return session.execute(_INSERT, {"body": body}).scalar_one()
    write_lock(session)  # SQLite: the one write lock, taken before the head is read
    head = session.execute(_HEAD).first()
    seq, prev_hash = (head.seq + 1, head.entry_hash) if head else (1, GENESIS_HASH)
    return session.execute(_INSERT, {"seq": seq, "body": body,
                                     "entry_hash": chain_hash(prev_hash, body)}).scalar_one()


def _sequenced_later(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def seal(session: Session, *, wait: bool = False, limit: int = SEAL_BATCH) -> int:
    """The sequencer: seal up to ``limit`` unsealed entries in arrival order, in the
    session's transaction; return how many. Another sequencer at work makes this one
    return 0 at once, or with ``wait`` wait for it."""
    if not _sequenced_later(session):
        return 0
    lock = func.pg_advisory_xact_lock if wait else func.pg_try_advisory_xact_lock
    if session.execute(select(lock(SEQUENCER_LOCK_KEY))).scalar() is False:
        return 0
    rows = session.execute(_UNSEALED, {"n": limit}).all()
    if not rows:
        return 0
    head = session.execute(_HEAD).first()
    seq, digest = (head.seq, head.entry_hash) if head else (0, GENESIS_HASH)
    seqs, hashes = [], []
    for _id, body in rows:
        seq, digest = seq + 1, chain_hash(digest, body)
        seqs.append(seq)
        hashes.append(digest)
    session.execute(_SEAL, {"ids": [row.id for row in rows], "seqs": seqs, "hashes": hashes})
    return len(rows)


def seal_all(db: Database, *, wait: bool = True) -> int:
    """Seal every entry waiting, a batch per transaction; return how many."""
    total = 0
    while True:
        with db.transaction() as session:
            done = seal(session, wait=wait)
        total += done
        if done < SEAL_BATCH:
            return total


def unsealed(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(_TABLE)
                          .where(_TABLE.c.seq.is_(None))) or 0


def jobs(db: Database, settings: Settings) -> list[Job]:
    """The sequencer's round in ``govdata worker``."""
    return [Job("audit.seal", settings.audit_seal_seconds,
                lambda: seal_all(db, wait=False))]


def refused(
    session: Session,
    principal: Principal | None,
    error: DomainError,
    *,
    action: str,
    resource: str | None = None,
    **details: Any,
) -> DomainError:
    """Record a refused act and return ``error`` for the caller to raise.

    The entry (outcome ``refused``, ``rule`` the error's code, ``reason`` its detail) is
    written in a transaction of its own when the unit of work ends
    (``db.in_own_transaction``): the refused act's transaction rolls back, its entry stays.
    An error already recorded is not recorded again (one refusal, one entry).
    """
    if getattr(error, "on_ledger", False):
        return error
    error.on_ledger = True
    details = {key: value for key, value in details.items() if value is not None}

    def write(own: Session) -> None:
        record(own, principal, action=action, resource=resource, outcome="refused",
               rule=error.code, reason=error.detail, **details)

    in_own_transaction(session, write)
    return error


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None
    unsealed: int = 0  # entries written but not yet sealed into the chain

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "unsealed": self.unsealed,
        }


_CHAIN_SQL = {
    "postgresql": "SELECT seq, body::text, entry_hash FROM platform_audit_entry"
                  " WHERE seq IS NOT NULL AND seq <= %(upto)s ORDER BY seq",
    "sqlite": "SELECT seq, body, entry_hash FROM platform_audit_entry"
              " WHERE seq IS NOT NULL AND seq <= :upto ORDER BY seq",
}
_NO_LIMIT = 2**62
ChainRow = tuple[int, bytes, bytes]


def iter_chain(session: Session, *, upto: int | None = None) -> Iterator[ChainRow]:
    """Stream ``(seq, body, entry_hash)`` in order, body and hash as the bytes that were
    hashed, straight from the driver and in the session's transaction."""
    connection = session.connection()
    dbapi = connection.connection.dbapi_connection
    params = {"upto": upto if upto is not None else _NO_LIMIT}
    if connection.dialect.name == "postgresql":
        yield from _copy_rows(dbapi, params)
        return
    cursor = dbapi.cursor()
    text_factory, dbapi.text_factory = dbapi.text_factory, bytes
    try:
        cursor.execute(_CHAIN_SQL["sqlite"], params)
        while rows := cursor.fetchmany(20_000):
            yield from rows
    finally:
        dbapi.text_factory = text_factory
        cursor.close()


def _copy_rows(dbapi, params) -> Iterator[ChainRow]:
    """``COPY (…) TO STDOUT``: the server streams while the client hashes. A canonical
    body holds no raw control characters, so the only text-format escape it can carry
    is a doubled backslash."""
    with ClientCursor(dbapi) as cursor:
        query = cursor.mogrify(_CHAIN_SQL["postgresql"], params)
        with cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
            for block in copy:
                seq, body, digest = bytes(block)[:-1].split(b"\t")
                if b"\\" in body:
                    body = body.replace(b"\\\\", b"\\")
                yield int(seq), body, digest


def verify(session: Session, *, upto: int | None = None) -> Verification:
    """Recompute the sealed chain and name the first entry that does not match; count the
    entries still waiting for the sequencer."""
    sha256 = hashlib.sha256
    prev, expected = GENESIS_HASH.encode(), 1
    waiting = unsealed(session)
    for seq, body, stored in iter_chain(session, upto=upto):
        if seq != expected:
            return Verification(False, expected - 1, prev.decode(), expected,
                                f"条目 {expected} 缺失 (entry missing)", waiting)
        computed = sha256(prev + body).hexdigest().encode()
        if computed != stored:
            return Verification(False, expected - 1, prev.decode(), seq,
                                f"条目 {seq} 的哈希不符 (entry altered)", waiting)
        prev, expected = computed, expected + 1
    return Verification(True, expected - 1, prev.decode(), unsealed=waiting)


def list_events(
    session: Session,
    *,
    actor: str | None = None,
    department: str | None = None,
    resource: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    outcome: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Ledger entries, sealed or not, newest first, filtered on the indexed columns."""
    conditions = []
    for column, value in ((_TABLE.c.actor, actor), (_TABLE.c.department, department),
                          (_TABLE.c.resource, resource), (_TABLE.c.action, action),
                          (_TABLE.c.outcome, outcome)):
        if value is not None:
            conditions.append(column == value)
    if since is not None:
        conditions.append(_TABLE.c.occurred_at >= timestamp(since))
    if until is not None:
        conditions.append(_TABLE.c.occurred_at < timestamp(until))
    total = session.scalar(select(func.count()).select_from(_TABLE).where(*conditions)) or 0
    rows = session.scalars(
        select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc())
        .limit(limit).offset(offset)
    ).all()
    return list(rows), total
