"""The ledger's table refuses every change but INSERT, on both databases: UPDATE of the hashed
columns themselves (not only of the generated ones, which fail anyway), DELETE and TRUNCATE."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from govdata.platform import audit
from govdata.platform.principal import Principal

ALICE = Principal(username="alice", department="d-1", roles=frozenset({"steward"}))


def statements(dialect: str) -> dict[str, str]:
    body = "CAST(:forged AS JSON)" if dialect == "postgresql" else ":forged"
    return {
        "update body": f"UPDATE platform_audit_entry SET body = {body} WHERE id = :id",
        "update entry_hash": "UPDATE platform_audit_entry SET entry_hash = :digest "
                             "WHERE id = :id",
        "update both": f"UPDATE platform_audit_entry SET body = {body}, entry_hash = :digest "
                       "WHERE id = :id",
        "delete": "DELETE FROM platform_audit_entry WHERE id = :id",
        # SQLite has no TRUNCATE; an unqualified DELETE is its truncate optimisation,
        # which a DELETE trigger switches off.
        "truncate": "TRUNCATE platform_audit_entry" if dialect == "postgresql"
                    else "DELETE FROM platform_audit_entry",
    }


@pytest.mark.parametrize("change", ["update body", "update entry_hash", "update both",
                                    "delete", "truncate"])
def test_ledger_refuses_change(session, dialect, change):
    entry = audit.record(session, ALICE, action="x.guarded", row_count=1)
    audit.seal(session, wait=True)  # PostgreSQL: the sequencer's one allowed UPDATE first
    stored = session.execute(text("SELECT CAST(body AS TEXT), entry_hash FROM "
                                  "platform_audit_entry WHERE id = :id"), {"id": entry}).one()
    forged = stored[0].replace('"row_count":1', '"row_count":2')
    params = {"id": entry, "forged": forged,
              "digest": audit.chain_hash(audit.GENESIS_HASH, forged)}
    statement = statements(dialect)[change]
    nested = session.begin_nested()
    with pytest.raises(DBAPIError) as refused:
        session.execute(text(statement), params if ":" in statement else {})
    nested.rollback()
    assert "append-only" in str(refused.value)
    after = session.execute(text("SELECT CAST(body AS TEXT), entry_hash FROM "
                                 "platform_audit_entry WHERE id = :id"), {"id": entry}).one()
    assert tuple(after) == tuple(stored)
    assert audit.verify(session).ok
