"""The audit ledger: chain, tamper detection, transactions, concurrency, checkpoints."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
import rfc8785
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from govdata.platform import audit, checkpoint, migrate
from govdata.platform.db import Database, unit_of_work_on
from govdata.platform.errors import Forbidden
from govdata.platform.principal import Principal
from tests.conftest import postgres_only

ALICE = Principal(username="alice", department="d-1", roles=frozenset({"steward"}),
                  client_ip="127.0.0.1", request_id="r-1")

AT = "%Y-%m-%dT%H:%M:%S.%fZ"
json_leaf = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
json_values = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(alphabet=st.characters(max_codepoint=127), max_size=8), children,
                      max_size=4),
    max_leaves=12,
)


@hsettings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(alphabet=st.characters(max_codepoint=127), max_size=10),
                       json_values, max_size=8))
def test_canonical_json_is_rfc8785(entry):
    assert audit.canonical_json(entry).encode() == rfc8785.dumps(entry)


@pytest.mark.parametrize("entry", [{"aqi": 1.5}, {"rows": [1, 2.5]}, {"rows": (1, 2.5)},
                                   {"query": {"filters": {"aqi": [0.5]}}}])
def test_canonical_json_refuses_floats(entry):
    """Also inside lists and objects, at any depth: RFC 8785 writes floats otherwise."""
    with pytest.raises(TypeError, match="no floats"):
        audit.canonical_json(entry)


def test_canonical_json_keeps_chinese_as_utf8():
    assert audit.canonical_json({"reason": "不予共享", "a": 1}) == '{"a":1,"reason":"不予共享"}'


@pytest.fixture
def in_china(monkeypatch):
    """The server's local time is 北京时间 (UTC+8), as on most deployments."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("in_china")
def test_timestamps_are_utc_whatever_the_local_time():
    assert audit.timestamp(dt.datetime(2026, 1, 2, 3, 4, 5, 6)) == "2026-01-02T03:04:05.000006Z"
    beijing = dt.timezone(dt.timedelta(hours=8))
    assert (audit.timestamp(dt.datetime(2026, 1, 2, 11, 4, 5, 6, tzinfo=beijing))
            == "2026-01-02T03:04:05.000006Z")
    now = dt.datetime.strptime(audit.timestamp(), AT).replace(tzinfo=dt.UTC)
    assert abs(now - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


@pytest.mark.usefixtures("in_china")
def test_an_entry_says_who_did_what_when_and_how_it_ended(session):
    """Who (user, department, sorted roles, address, request), what, on what, the outcome
    (``allowed`` unless said), the details given; ``None`` details are left out, and an act
    of the platform itself names no one."""
    bob = Principal(username="bob", department="d-2", roles=frozenset({"steward", "approver"}),
                    client_ip="10.0.0.7", request_id="r-9")
    started = dt.datetime.now(dt.UTC)
    entry = entry_body(session, audit.record(session, bob, action="x.share",
                                             resource="201001/000003", row_count=3,
                                             purpose=None))
    at = dt.datetime.strptime(entry.pop("at"), AT).replace(tzinfo=dt.UTC)
    assert started - dt.timedelta(seconds=1) <= at <= dt.datetime.now(dt.UTC)
    assert entry == {"actor": "bob", "department": "d-2", "roles": ["approver", "steward"],
                     "client_ip": "10.0.0.7", "request_id": "r-9", "action": "x.share",
                     "resource": "201001/000003", "outcome": "allowed", "row_count": 3}
    system = entry_body(session, audit.record(session, None, action="x.expire",
                                              outcome="expired"))
    assert set(system) == {"at", "action", "outcome"} and system["outcome"] == "expired"


def test_a_refusal_stays_on_the_ledger_once(session):
    """``refused``: the refused act rolls back, its entry (rule = the error's code, reason =
    its detail, the details given) is written after, in a transaction of its own; the same
    error refused again is not recorded twice."""
    before, newest = chain_length(session), last_id(session)
    error = Forbidden("不是该资源的管理员 (not the steward)", code="not_resource_steward")
    with pytest.raises(Forbidden), unit_of_work_on(session, nested=True):
        audit.record(session, ALICE, action="x.change", resource="201001/000004")
        raise audit.refused(session, ALICE, error, action="x.change", resource="201001/000004",
                            purpose="核查", grant=None)
    [entry] = session.execute(text("SELECT id FROM platform_audit_entry WHERE id > :n"),
                              {"n": newest}).scalars()
    body = entry_body(session, entry)
    body.pop("at")
    assert body == {"actor": "alice", "department": "d-1", "roles": ["steward"],
                    "client_ip": "127.0.0.1", "request_id": "r-1", "action": "x.change",
                    "resource": "201001/000004", "outcome": "refused",
                    "rule": "not_resource_steward", "reason": error.detail, "purpose": "核查"}
    with pytest.raises(Forbidden), unit_of_work_on(session, nested=True):
        raise audit.refused(session, ALICE, error, action="x.change")
    assert chain_length(session) == before + 1


def chain_length(session) -> int:
    return session.execute(text("SELECT count(*) FROM platform_audit_entry")).scalar()


def last_id(session) -> int:
    return session.execute(text("SELECT coalesce(max(id), 0) FROM platform_audit_entry")
                           ).scalar()


def entry_body(session, entry: int) -> dict:
    return json.loads(body_of_id(session, entry))


def sealed(session, ids: list[int]) -> list[int]:
    """Run the sequencer; the sequence numbers the entries ``ids`` were given."""
    audit.seal(session, wait=True)
    return [session.execute(text("SELECT seq FROM platform_audit_entry WHERE id = :i"),
                            {"i": i}).scalar_one() for i in ids]


def test_entries_chain_and_verify(session):
    start = audit.verify(session).entries
    seqs = sealed(session, [
        audit.record(session, ALICE, action="resource.publish", resource=f"101001/00000{i}",
                     data_items=["name", "uscc"], row_count=i) for i in range(3)])
    assert seqs == list(range(start + 1, start + 4))
    result = audit.verify(session)
    assert result.ok and result.entries == start + 3
    entry = json.loads(session.execute(text(
        "SELECT CAST(body AS TEXT) FROM platform_audit_entry WHERE seq = :s"),
        {"s": seqs[0]}).scalar())
    assert entry["actor"] == "alice" and entry["department"] == "d-1"
    assert entry["client_ip"] == "127.0.0.1" and entry["data_items"] == ["name", "uscc"]


def test_entries_with_backslashes_and_spaces_verify(session):
    """Read back through COPY on PostgreSQL, a body's backslashes arrive doubled and its
    fields tab-separated: what is hashed again must be the stored text exactly."""
    audit.record(session, ALICE, action="x.search", query='C:\\数据\\ "空气 质量"\\\\n')
    audit.seal(session, wait=True)
    result = audit.verify(session)
    assert result.ok and result.unsealed == 0, result


def body_of(session, seq: int) -> str:
    return session.execute(text("SELECT CAST(body AS TEXT) FROM platform_audit_entry "
                                "WHERE seq = :s"), {"s": seq}).scalar()


def hash_of(session, seq: int) -> str:
    return session.execute(text("SELECT entry_hash FROM platform_audit_entry WHERE seq = :s"),
                           {"s": seq}).scalar()


def as_body(dialect: str, param: str) -> str:
    return f"CAST({param} AS JSON)" if dialect == "postgresql" else param


def drop_guards(session, dialect):
    if dialect == "postgresql":
        session.execute(text("ALTER TABLE platform_audit_entry DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER platform_audit_no_update"))
        session.execute(text("DROP TRIGGER platform_audit_no_delete"))


def test_ledger_refuses_update_and_delete(session, dialect):
    [seq] = sealed(session, [audit.record(session, ALICE, action="x.test")])
    for statement in ("UPDATE platform_audit_entry SET actor = 'mallory' WHERE seq = :s",
                      "DELETE FROM platform_audit_entry WHERE seq = :s"):
        nested = session.begin_nested()
        with pytest.raises((DBAPIError, IntegrityError)):
            session.execute(text(statement), {"s": seq})
        nested.rollback()


def test_tampered_body_is_named(session, dialect):
    seqs = sealed(session, [audit.record(session, ALICE, action="x.test", row_count=i)
                            for i in range(5)])
    drop_guards(session, dialect)
    session.execute(text(f"UPDATE platform_audit_entry SET body = {as_body(dialect, ':b')} "
                         "WHERE seq = :s"), {"b": body_of(session, seqs[2]).replace(
                             '"row_count":2', '"row_count":9'), "s": seqs[2]})
    audit.record(session, ALICE, action="x.later")  # waits for the sequencer on PostgreSQL
    result = audit.verify(session)
    assert result == audit.Verification(
        False, seqs[2] - 1, hash_of(session, seqs[1]), seqs[2],
        f"条目 {seqs[2]} 的哈希不符 (entry altered)", audit.unsealed(session))


def test_index_columns_cannot_be_altered_apart_from_the_body(session, dialect):
    """actor, department, action, ... are generated from the hashed body by the database."""
    seqs = sealed(session, [audit.record(session, ALICE, action="x.test") for _ in range(2)])
    drop_guards(session, dialect)
    nested = session.begin_nested()
    with pytest.raises(DBAPIError):
        session.execute(text("UPDATE platform_audit_entry SET actor = 'mallory' WHERE seq = :s"),
                        {"s": seqs[1]})
    nested.rollback()
    forged = body_of(session, seqs[1]).replace('"actor":"alice"', '"actor":"mallory"')
    session.execute(text(f"UPDATE platform_audit_entry SET body = {as_body(dialect, ':b')} "
                         "WHERE seq = :s"), {"b": forged, "s": seqs[1]})
    assert session.execute(text("SELECT actor FROM platform_audit_entry WHERE seq = :s"),
                           {"s": seqs[1]}).scalar() == "mallory"
    result = audit.verify(session)
    assert not result.ok and result.first_bad_seq == seqs[1]


def test_deleted_entry_is_named(session, dialect):
    seqs = sealed(session, [audit.record(session, ALICE, action="x.test") for _ in range(3)])
    drop_guards(session, dialect)
    session.execute(text("DELETE FROM platform_audit_entry WHERE seq = :s"), {"s": seqs[1]})
    audit.record(session, ALICE, action="x.later")  # waits for the sequencer on PostgreSQL
    result = audit.verify(session)
    assert result == audit.Verification(
        False, seqs[1] - 1, hash_of(session, seqs[0]), seqs[1],
        f"条目 {seqs[1]} 缺失 (entry missing)", audit.unsealed(session))


def test_rolled_back_act_leaves_no_entry(session):
    before = chain_length(session)
    nested = session.begin_nested()
    audit.record(session, ALICE, action="resource.publish", resource="101001/000009")
    assert chain_length(session) == before + 1
    nested.rollback()
    assert chain_length(session) == before
    assert audit.verify(session).ok


def test_failed_request_leaves_no_entry(client, session, make_user, auth):
    admin = make_user("admin")
    before = chain_length(session)
    response = client.post("/api/v1/users", headers=auth(admin), json={
        "username": "ghost", "department_code": "no-such-dept", "roles": ["steward"]})
    assert response.status_code == 404
    assert chain_length(session) == before


def test_events_api_filters(client, session, make_user, auth):
    auditor = make_user("auditor")
    audit.record(session, ALICE, action="data.access", resource="201001/000001")
    audit.record(session, ALICE, action="data.access", resource="201001/000002")
    response = client.get("/api/v1/audit/events", headers=auth(auditor),
                          params={"actor": "alice", "resource": "201001/000002"})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    assert body["items"][0]["entry"]["resource"] == "201001/000002"
    since = client.get("/api/v1/audit/events", headers=auth(auditor),
                       params={"action": "data.access", "since": "2000-01-01T00:00:00Z",
                               "until": "2000-01-02T00:00:00Z"})
    assert since.json()["total"] == 0


def test_verify_api(client, session, make_user, auth, dialect):
    auditor = make_user("auditor")
    assert client.get("/api/v1/audit/verify", headers=auth(auditor)).json()["ok"] is True
    [seq] = sealed(session, [audit.record(session, ALICE, action="x.test")])
    drop_guards(session, dialect)
    session.execute(text("UPDATE platform_audit_entry SET entry_hash = :h WHERE seq = :s"),
                    {"h": "f" * 64, "s": seq})
    body = client.get("/api/v1/audit/verify", headers=auth(auditor)).json()
    assert body["ok"] is False and body["first_bad_seq"] == seq


def test_checkpoint_detects_a_rewritten_prefix(session, settings, dialect):
    for i in range(4):
        audit.record(session, ALICE, action="x.test", row_count=i)
    audit.seal(session, wait=True)
    signed = checkpoint.create(session, settings)
    assert checkpoint.check(session, settings, signed).ok
    audit.record(session, ALICE, action="x.after")
    audit.seal(session, wait=True)
    assert checkpoint.check(session, settings, signed).ok  # appending is fine
    # Rewrite the whole chain consistently: plain verify cannot see it, the checkpoint can.
    drop_guards(session, dialect)
    rows = session.execute(text("SELECT seq, CAST(body AS TEXT) FROM platform_audit_entry "
                                "WHERE seq IS NOT NULL ORDER BY seq")).all()
    prev = audit.GENESIS_HASH
    for seq, body in rows:
        if seq == 1:
            body = body.replace('"action":', '"forged":true,"action":', 1)
        digest = audit.chain_hash(prev, body)
        session.execute(text(f"UPDATE platform_audit_entry SET body = {as_body(dialect, ':b')}, "
                             "entry_hash = :h WHERE seq = :s"), {"b": body, "h": digest, "s": seq})
        prev = digest
    assert audit.verify(session).ok
    result = checkpoint.check(session, settings, signed)
    assert not result.ok and "rewritten" in result.reason


def test_checkpoint_signature_is_checked(session, settings):
    audit.record(session, ALICE, action="x.test")
    signed = checkpoint.create(session, settings)
    forged = dict(signed, size=signed["size"] - 1)
    from govdata.platform.errors import RuleViolation

    with pytest.raises(RuleViolation) as refused:
        checkpoint.check(session, settings, forged)
    assert refused.value.code == "checkpoint_signature_invalid"


def test_unsealed_entries_are_reported_then_sealed(session, dialect):
    before = audit.verify(session)
    ids = [audit.record(session, ALICE, action="x.test", row_count=i) for i in range(3)]
    waiting = audit.verify(session)
    assert waiting.ok
    if dialect == "postgresql":  # written with the act, sealed by the sequencer
        assert (waiting.entries, waiting.unsealed) == (before.entries, before.unsealed + 3)
        assert audit.seal(session, wait=True) == before.unsealed + 3
    else:  # SQLite seals each entry as it is written
        assert (waiting.entries, waiting.unsealed) == (before.entries + 3, 0)
        assert audit.seal(session) == 0
    after = audit.verify(session)
    assert after.ok and after.unsealed == 0
    assert after.entries == before.entries + before.unsealed + 3
    assert sealed(session, ids) == list(range(after.entries - 2, after.entries + 1))


def test_verify_api_reports_unsealed(client, session, make_user, auth, dialect):
    auditor = make_user("auditor")
    audit.seal(session, wait=True)
    audit.record(session, ALICE, action="x.test")
    body = client.get("/api/v1/audit/verify", headers=auth(auditor)).json()
    assert body["ok"] is True and body["unsealed"] == (1 if dialect == "postgresql" else 0)
    events = client.get("/api/v1/audit/events", headers=auth(auditor),
                        params={"action": "x.test"}).json()
    assert events["total"] == 1  # listed before it is sealed
    assert (events["items"][0]["seq"] is None) == (dialect == "postgresql")


def test_trigger_lets_only_sealing_through(session, database_url):
    """An unsealed entry can be given its seq and hash once; nothing else changes."""
    postgres_only(database_url)
    entry = audit.record(session, ALICE, action="x.test")
    body = body_of_id(session, entry)
    refused = [
        ("UPDATE platform_audit_entry SET body = CAST(:b AS JSON), seq = -1, entry_hash = 'x'"
         " WHERE id = :i", {"b": body.replace("x.test", "x.forged"), "i": entry}),
        ("UPDATE platform_audit_entry SET seq = -1 WHERE id = :i", {"i": entry}),
        ("DELETE FROM platform_audit_entry WHERE id = :i", {"i": entry}),
    ]
    for statement, params in refused:
        nested = session.begin_nested()
        with pytest.raises(DBAPIError):
            session.execute(text(statement), params)
        nested.rollback()
    [seq] = sealed(session, [entry])
    nested = session.begin_nested()
    with pytest.raises(DBAPIError):  # sealed once, sealed for good
        session.execute(text("UPDATE platform_audit_entry SET seq = :s, entry_hash = 'x' "
                             "WHERE id = :i"), {"s": seq + 1000, "i": entry})
    nested.rollback()
    assert audit.verify(session).ok


def body_of_id(session, entry: int) -> str:
    return session.execute(text("SELECT CAST(body AS TEXT) FROM platform_audit_entry "
                                "WHERE id = :i"), {"i": entry}).scalar()


def test_one_sequencer_at_a_time(database_url):
    postgres_only(database_url)
    db = Database(database_url)
    audit.seal_all(db)
    with db.transaction() as session:
        audit.record(session, ALICE, action="x.test")
    with Session(db.engine) as first, first.begin():
        assert audit.seal(first) == 1
        with Session(db.engine) as second, second.begin():
            assert audit.seal(second) == 0  # the first still holds the sequencer's lock
    with Session(db.engine) as session:
        result = audit.verify(session)
    db.dispose()
    assert result.ok and result.unsealed == 0


def test_concurrent_writers_build_one_chain(database_url):
    """8 writers appending and committing at once on PostgreSQL while two sequencers seal
    at once: one valid chain holding every entry."""
    postgres_only(database_url)
    db = Database(database_url)
    writers, per_writer = 8, 25
    barrier = threading.Barrier(writers + 2)
    writing = threading.Event()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_writer):
                with Session(db.engine) as session, session.begin():
                    audit.record(session, ALICE, action="x.concurrent", row_count=n * 1000 + i)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def sequence() -> None:
        try:
            barrier.wait()
            while writing.is_set():
                audit.seal_all(db, wait=False)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    audit.seal_all(db)
    with Session(db.engine) as session:
        before = audit.verify(session).entries
    writing.set()
    sequencers = [threading.Thread(target=sequence) for _ in range(2)]
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in sequencers + threads:
        thread.start()
    for thread in threads:
        thread.join()
    writing.clear()
    for thread in sequencers:
        thread.join()
    audit.seal_all(db)
    with Session(db.engine) as session:
        result = audit.verify(session)
    db.dispose()
    assert not errors
    assert result.ok, result.reason
    assert result.entries == before + writers * per_writer and result.unsealed == 0


def test_migration_keeps_the_chain_written_before_it(fresh_database_url):
    """Entries sealed by the old append (seq in the body, seq the key) stay verified; new
    entries continue the chain; downgrading keeps it too."""
    migrate.upgrade(fresh_database_url, "0008_openportal_people")
    db = Database(fresh_database_url)
    prev = audit.GENESIS_HASH
    with db.engine.begin() as connection:
        body_param = as_body(db.dialect, ":b")
        for seq in range(1, 4):
            body = audit.canonical_json({"seq": seq, "at": audit.timestamp(), "action": "x.old",
                                         "outcome": "allowed"})
            prev = audit.chain_hash(prev, body)
            connection.execute(text("INSERT INTO platform_audit_entry (seq, body, entry_hash) "
                                    f"VALUES (:s, {body_param}, :h)"),
                               {"s": seq, "b": body, "h": prev})
    db.dispose()
    migrate.upgrade(fresh_database_url)
    db = Database(fresh_database_url)
    with db.transaction() as session:
        assert session.execute(text("SELECT id, seq FROM platform_audit_entry ORDER BY id")
                               ).all() == [(1, 1), (2, 2), (3, 3)]
        assert audit.record(session, ALICE, action="x.new") == 4
    audit.seal_all(db)
    with Session(db.engine) as session:
        result = audit.verify(session)
    db.dispose()
    assert result.ok and result.entries == 4 and result.unsealed == 0
    migrate.downgrade(fresh_database_url, "0008_openportal_people")
    db = Database(fresh_database_url)
    with Session(db.engine) as session:
        assert audit.verify(session).as_dict() == dict(result.as_dict())
    db.dispose()


def test_events_page_newest_first_within_a_time_window(session):
    """``list_events``: 20 a page unless asked, newest first, ``offset`` pages on; ``since``
    includes its instant, ``until`` excludes its own."""
    ids = [audit.record(session, ALICE, action="x.paged", row_count=n) for n in range(25)]
    page, total = audit.list_events(session, action="x.paged")
    assert total == 25 and [e.id for e in page] == ids[::-1][:20]
    page, _ = audit.list_events(session, action="x.paged", limit=5, offset=5)
    assert [e.id for e in page] == ids[::-1][5:10]
    moments = [dt.datetime.strptime(entry_body(session, i)["at"], AT).replace(tzinfo=dt.UTC)
               for i in ids]
    first, last = moments[0], moments[-1]
    inside, total = audit.list_events(session, action="x.paged", since=first, until=last,
                                      limit=100)
    assert {e.id for e in inside} == {i for i, at in zip(ids, moments, strict=True)
                                      if first <= at < last}
    assert ids[0] in {e.id for e in inside} and ids[-1] not in {e.id for e in inside}
    assert total == len(inside)
    later, total = audit.list_events(session, action="x.paged", since=last)
    assert total == sum(at >= last for at in moments) and ids[-1] in {e.id for e in later}


def test_the_worker_job_seals_what_is_waiting(fresh_database_url, settings):
    """``govdata worker`` runs ``audit.jobs``: the sequencer, every
    GOVDATA_AUDIT_SEAL_SECONDS, sealing every waiting entry (SQLite has none waiting)."""
    migrate.upgrade(fresh_database_url)
    db = Database(fresh_database_url)
    try:
        with db.transaction() as session:
            for n in range(3):
                audit.record(session, ALICE, action="x.waiting", row_count=n)
        [job] = audit.jobs(db, settings)
        assert (job.name, job.every) == ("audit.seal", settings.audit_seal_seconds)
        waiting = 3 if db.dialect == "postgresql" else 0
        with db.transaction() as session:
            assert audit.unsealed(session) == waiting
        assert job.run() == waiting
        assert job.run() == 0
        with db.transaction() as session:
            result = audit.verify(session)
        assert result.ok and (result.entries, result.unsealed) == (3, 0)
    finally:
        db.dispose()
