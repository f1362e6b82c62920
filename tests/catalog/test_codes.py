"""Resource codes: shape, and one code per create even when creates race (PostgreSQL)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from govdata.catalog import codes
from govdata.catalog.models import CodeSequence
from tests.conftest import postgres_only


def test_code_shape():
    assert codes.format_code("301001", 7) == "301001/000007"
    assert codes.parse_code("3010010002/000123") == ("3010010002", 123)
    assert codes.parse_code("301001/12") is None
    assert codes.parse_code("401001/000001") is None
    assert codes.classification_problem("101001", "basic") is None
    assert "首位" in codes.classification_problem("101001", "theme")


def test_reserve_moves_the_sequence_past_a_given_code(session):
    codes.reserve(session, "309999/000041")
    assert codes.allocate(session, "309999") == "309999/000042"
    codes.reserve(session, "309999/000005")  # never backwards
    assert codes.allocate(session, "309999") == "309999/000043"


@pytest.fixture
def race_classification(database):
    classification = "3999990001"
    yield classification
    with Session(database.engine) as session, session.begin():
        session.execute(delete(CodeSequence).where(
            CodeSequence.classification == classification))


def test_concurrent_allocations_never_share_a_code(database_url, database, race_classification):
    postgres_only(database_url)

    def allocate_many(count: int) -> list[str]:
        out = []
        for _ in range(count):
            with Session(database.engine) as session, session.begin():
                out.append(codes.allocate(session, race_classification))
        return out

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = [code for batch in pool.map(allocate_many, [15] * 6) for code in batch]
    assert len(results) == len(set(results)) == 90
    assert sorted(results)[-1] == f"{race_classification}/000090"


def blocked_on_a_lock(database, pid: int, timeout: float = 30.0) -> bool:
    """Whether backend ``pid`` comes to wait on a lock within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with database.engine.connect() as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(text(
                "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid}).scalar()
            watcher.rollback()
            if waiting:
                return True
            time.sleep(0.01)
    return False


def test_a_second_create_waits_for_the_first_to_commit(database_url, database,
                                                       race_classification):
    """The first holds the sequence row until the second is seen waiting on its lock."""
    postgres_only(database_url)
    first_holds_lock = threading.Event()
    second_pid: list[int] = []
    second_connected = threading.Event()
    order: list[str] = []

    def first() -> str:
        with Session(database.engine) as session, session.begin():
            code = codes.allocate(session, race_classification)
            first_holds_lock.set()
            assert second_connected.wait(30)
            assert blocked_on_a_lock(database, second_pid[0])
            order.append("first commits")
        return code

    def second() -> str:
        assert first_holds_lock.wait(30)
        with Session(database.engine) as session, session.begin():
            second_pid.append(session.scalar(text("SELECT pg_backend_pid()")))
            second_connected.set()
            code = codes.allocate(session, race_classification)
            order.append("second allocated")
        return code

    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(first), pool.submit(second)
        assert (a.result(), b.result()) == (f"{race_classification}/000001",
                                            f"{race_classification}/000002")
    assert order == ["first commits", "second allocated"]
