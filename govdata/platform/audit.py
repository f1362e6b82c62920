"""The audit ledger (RULES.md §6): append-only, hash-chained, written in the caller's
transaction.

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
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from govdata.platform.db import in_own_transaction, write_lock
from govdata.platform.errors import DomainError
from govdata.platform.models import AuditEntry
from govdata.platform.principal import Principal

GENESIS_HASH = "0" * 64
LEDGER_LOCK_KEY = 0x676F7664  # pg_advisory_xact_lock key serialising ledger appends
_TABLE = AuditEntry.__table__
_HEAD = select(_TABLE.c.seq, _TABLE.c.entry_hash).order_by(_TABLE.c.seq.desc()).limit(1)
_INSERT = insert(_TABLE)


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
    """Append one entry in the session's transaction and return its sequence number.

    ``details`` are the RULES.md §6 fields that apply (rule, data_items, row_count,
    query, purpose, grant, reason, ...); ``None`` values are left out.
    """
    _lock_ledger(session)
    head = session.execute(_HEAD).first()
    seq, prev_hash = (head.seq + 1, head.entry_hash) if head else (1, GENESIS_HASH)
    entry = {
        "seq": seq,
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
    entry = {key: value for key, value in entry.items() if value is not None}
    body = canonical_json(entry)
    session.execute(_INSERT, {"seq": seq, "body": body,
                              "entry_hash": chain_hash(prev_hash, body)})
    return seq


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


def _lock_ledger(session: Session) -> None:
    """Serialise appends so concurrent writers build one chain. On PostgreSQL a
    transaction-scoped advisory lock; on SQLite the one write lock, taken before the head
    is read (``write_lock``)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LEDGER_LOCK_KEY)))
    else:
        write_lock(session)


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


_CHAIN_SQL = {
    "postgresql": "SELECT seq, body::text, entry_hash FROM platform_audit_entry"
                  " WHERE seq <= %(upto)s ORDER BY seq",
    "sqlite": "SELECT seq, body, entry_hash FROM platform_audit_entry"
              " WHERE seq <= :upto ORDER BY seq",
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
    """Recompute the chain and name the first entry that does not match."""
    sha256 = hashlib.sha256
    prev, expected = GENESIS_HASH.encode(), 1
    for seq, body, stored in iter_chain(session, upto=upto):
        if seq != expected:
            return Verification(False, expected - 1, prev.decode(), expected,
                                f"条目 {expected} 缺失 (entry missing)")
        computed = sha256(prev + body).hexdigest().encode()
        if computed != stored:
            return Verification(False, expected - 1, prev.decode(), seq,
                                f"条目 {seq} 的哈希不符 (entry altered)")
        prev, expected = computed, expected + 1
    return Verification(True, expected - 1, prev.decode())


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
    """Ledger entries, newest first, filtered on the indexed columns."""
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
        select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc())
        .limit(limit).offset(offset)
    ).all()
    return list(rows), total
