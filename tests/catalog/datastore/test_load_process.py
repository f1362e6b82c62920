"""On PostgreSQL a load reads and checks its file in a child process (``loadproc``): its
errors reach the caller as they were, a child that dies or a caller that gives up leaves
nothing behind, and no child outlives its load."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import inspect, select

from govdata.catalog.datastore import loadproc, readers, service
from govdata.catalog.datastore.tables import table_name
from govdata.catalog.models import DataVersion
from govdata.platform.errors import RuleViolation

from .conftest import AQ_HEADER, AQ_ROWS, csv_text
from .test_late_errors import good_row, rows_past_first_batch


def loading_children() -> list[multiprocessing.Process]:
    return [child for child in multiprocessing.active_children()
            if child.name == loadproc.PROCESS_NAME]


def kill_self(sender: loadproc.Sender) -> None:
    sender.data(b"1,half a row")
    sender.close()
    os.kill(os.getpid(), signal.SIGKILL)


def fail(sender: loadproc.Sender) -> None:
    {}["missing"]


def refuse(sender: loadproc.Sender) -> None:
    raise RuleViolation("不行 (no)", code="some_rule", errors=[{"row": 3, "column": "a"}])


def test_a_child_that_dies_is_a_clear_error_not_a_hang():
    with loadproc.LoadProcess(kill_self) as child, pytest.raises(loadproc.LoadProcessDied) \
            as died:
        assert bytes(next(iter(child))) == b"1,half a row"
        list(child)
    assert died.value.status == 500 and died.value.code == "data_load_failed"
    assert "signal 9" in died.value.detail
    assert not loading_children()


def test_a_domain_error_of_the_child_is_raised_as_it_was():
    with loadproc.LoadProcess(refuse) as child, pytest.raises(RuleViolation) as refused:
        list(child)
    assert (refused.value.code, refused.value.errors) == ("some_rule",
                                                          [{"row": 3, "column": "a"}])


def test_a_bug_in_the_child_comes_with_its_traceback():
    with loadproc.LoadProcess(fail) as child, pytest.raises(loadproc.LoadProcessFailed) \
            as failed:
        list(child)
    assert "KeyError: 'missing'" in str(failed.value) and "in fail" in str(failed.value)


def convert_python_values(sender: loadproc.Sender) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    pc.equal(pa.array([1, 2]), 0)
    sender.message("pandas", sys.modules.get("pandas") is not None)


def test_the_loading_process_converts_python_values_without_importing_pandas():
    """pyarrow would import it (0.2 s, 40 MB) to ask whether a value is a pandas object."""
    with loadproc.LoadProcess(convert_python_values) as child:
        assert next(iter(child)) == ("pandas", False)


def test_the_fork_server_imports_neither_sqlalchemy_nor_the_models():
    """It lives as long as its worker: what it imports is memory kept, and time before a
    worker's first load can start."""
    heavy = ("sqlalchemy", "govdata.catalog.models", "govdata.platform.models", "psycopg")
    code = (f"import sys, {', '.join(loadproc.PRELOAD)}; "
            f"print([name for name in {heavy!r} if name in sys.modules])")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert imported == "[]"


@pytest.fixture
def postgres(dialect):
    if dialect != "postgresql":
        pytest.skip("SQLite loads in the caller's process")


@pytest.fixture
def many_rows(write):
    """A file of more batches than the child may send ahead of the parent (``QUEUED``
    and the pipe's), so that it is still at work when the parent has taken the first."""
    batches = loadproc.QUEUED + loadproc.PIPE_SIZE // readers.CSV_BATCH_BYTES + 4
    rows = [good_row(n) for n in range(1, rows_past_first_batch() * batches + 1)]
    return write("many.csv", csv_text(AQ_HEADER, rows))


def assert_only_version_one(session, resource) -> None:
    versions = session.scalars(select(DataVersion)
                               .where(DataVersion.resource_id == resource.id)).all()
    assert [(v.version, v.row_count) for v in versions] == [(1, 5)]
    assert not inspect(session.connection()).has_table(table_name(resource.id, 2))


def test_a_load_whose_child_is_killed_changes_nothing(postgres, session, aq, load, steward,
                                                      many_rows):
    load(aq, AQ_ROWS)

    def kill_the_child(done: int, total: int, rows: int) -> None:
        for child in loading_children():
            os.kill(child.pid, signal.SIGKILL)

    with pytest.raises(loadproc.LoadProcessDied):
        service.load_data(session, steward, aq.code, many_rows, progress=kill_the_child)
    assert_only_version_one(session, aq)
    assert not loading_children()


def test_a_caller_that_gives_up_ends_the_child(postgres, session, aq, load, steward,
                                               many_rows):
    load(aq, AQ_ROWS)
    seen: list[int] = []

    class GaveUp(Exception):
        pass

    def give_up(done: int, total: int, rows: int) -> None:
        seen.extend(child.pid for child in loading_children())
        raise GaveUp

    with pytest.raises(GaveUp):
        service.load_data(session, steward, aq.code, many_rows, progress=give_up)
    assert seen and not loading_children()
    assert_only_version_one(session, aq)


def test_bad_rows_are_reported_as_before(session, aq, load, write):
    rows = [*AQ_ROWS, ["6", "渝中区", "", "2024-02-30", "abc", "", "", "", "", ""]]
    with pytest.raises(RuleViolation) as refused:
        load(aq, rows)
    assert type(refused.value) is RuleViolation
    assert refused.value.code == "data_rows_invalid"
    assert refused.value.detail.startswith("上传的数据有 2 处错误, 涉及 1 行, 未做任何更改")
    assert [(e["row"], e["column"], e["value"]) for e in refused.value.errors] == [
        (6, "day", "2024-02-30"), (6, "aqi", "abc")]
    assert not inspect(session.connection()).has_table(table_name(aq.id, 1))

