"""A request's unit of work (``unit_of_work_async``) ended in its endpoint's thread
(``end_unit_of_work``): committed there, once, and never undone by what follows."""

from __future__ import annotations

import asyncio

import anyio
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from govdata.platform.db import end_unit_of_work, in_own_transaction, unit_of_work_async


@pytest.fixture
def probe(database):
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE uow_probe (note varchar(20))"))
    yield database
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE uow_probe"))


def notes(database) -> list[str]:
    with database.engine.connect() as connection:
        return sorted(connection.execute(text("SELECT note FROM uow_probe")).scalars())


def insert(session: Session, note: str) -> None:
    session.execute(text("INSERT INTO uow_probe VALUES (:note)"), {"note": note})


def request(database, endpoint) -> None:
    """``endpoint(session)`` as a request runs it: in a thread, inside the unit of work."""
    async def run() -> None:
        async with unit_of_work_async(Session(database.engine)) as session:
            await anyio.to_thread.run_sync(endpoint, session)
    asyncio.run(run())


def test_ended_in_the_thread_it_is_committed_there_with_its_queued_writes_once(probe):
    seen = {}

    def endpoint(session: Session) -> None:
        insert(session, "act")
        in_own_transaction(session, lambda s: insert(s, "ledger"))
        end_unit_of_work(session)
        seen["at the end of the endpoint"] = notes(probe)

    request(probe, endpoint)
    assert seen["at the end of the endpoint"] == ["act", "ledger"]
    assert notes(probe) == ["act", "ledger"]


def test_an_error_after_the_end_undoes_nothing(probe):
    def endpoint(session: Session) -> None:
        insert(session, "act")
        in_own_transaction(session, lambda s: insert(s, "ledger"))
        end_unit_of_work(session)
        raise RuntimeError("after the answer was made")

    with pytest.raises(RuntimeError):
        request(probe, endpoint)
    assert notes(probe) == ["act", "ledger"]


def test_an_error_before_the_end_rolls_back_as_always(probe):
    def endpoint(session: Session) -> None:
        insert(session, "act")
        in_own_transaction(session, lambda s: insert(s, "refusal"))
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        request(probe, endpoint)
    assert notes(probe) == ["refusal"]


def test_not_ended_in_the_thread_it_is_committed_after_it(probe):
    request(probe, lambda session: insert(session, "act"))
    assert notes(probe) == ["act"]


def test_a_session_that_is_no_request_unit_of_work_is_left_as_it_is(probe):
    with Session(probe.engine) as session:
        insert(session, "act")
        end_unit_of_work(session)
        assert notes(probe) == []
        session.rollback()
    assert notes(probe) == []
