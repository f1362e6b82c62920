"""Issue 7 item 12: bursts of parallel writers all succeed (on SQLite they queue for the
one write lock instead of failing with "database is locked"); a writer that waits past the
busy timeout is a 503 with Retry-After. Runs on a database of its own of the test
database's kind, behind a real server."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import func, select

from govdata.main import create_app
from govdata.platform import audit
from govdata.platform.db import Database
from govdata.platform.models import AuditEntry
from tests.catalog import fields
from tests.catalog.datastore.conftest import AQ_HEADER, AQ_ITEMS, AQ_ROWS, csv_text
from tests.conftest import synthetic_uscc

from .live import serving

CSV = csv_text(AQ_HEADER, AQ_ROWS).encode()
RESOURCES = "/api/v1/catalog/resources"


@pytest.fixture(scope="module")
def base(platform):
    with serving(create_app(platform["settings"])) as url:
        yield url


def burst(count: int, request) -> list[httpx.Response]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(request, range(count)))


def register(base: str, headers: dict):
    def post(_index: int) -> httpx.Response:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            return client.post(RESOURCES, json=fields(items=AQ_ITEMS))

    return post


@pytest.mark.parametrize(("count", "rounds"), [(2, 3), (5, 1), (20, 1)])
def test_parallel_registrations_all_succeed(base, platform, count, rounds):
    for _ in range(rounds):
        answers = burst(count, register(base, platform["headers"]))
        assert [a.status_code for a in answers] == [201] * count, [a.text for a in answers]
        assert len({a.json()["code"] for a in answers}) == count


def test_parallel_data_loads_all_succeed_beside_reads_that_write_the_ledger(base, platform):
    headers = platform["headers"]
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        code, read = (client.post(RESOURCES, json=fields(items=AQ_ITEMS)).json()["code"]
                      for _ in range(2))
        for each in (code, read):
            assert client.post(f"{RESOURCES}/{each}/data",
                               files={"file": ("first.csv", CSV, "text/csv")}).status_code == 201
    db: Database = platform["db"]
    with db.transaction() as session:
        ledger_before = session.scalar(select(func.count()).select_from(AuditEntry))

    def load_or_export(index: int) -> httpx.Response:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            if index % 2:  # an export is a GET that appends to the ledger
                return client.get(f"{RESOURCES}/{read}/data/export")
            return client.post(f"{RESOURCES}/{code}/data",
                               files={"file": (f"load{index}.csv", CSV, "text/csv")})

    answers = burst(20, load_or_export)
    assert [a.status_code for a in answers] == [201, 200] * 10, [a.text for a in answers]
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        versions = client.get(f"{RESOURCES}/{code}/data/versions").json()
        assert versions[0]["version"] == 11 and versions[0]["is_current"]
    with db.transaction() as session:
        ledger_after = session.scalar(select(func.count()).select_from(AuditEntry))
        assert audit.verify(session).ok  # one chain, no fork
    assert ledger_after - ledger_before == 20  # ten loads, ten exports


def test_parallel_command_line_loads_all_succeed(platform, base, tmp_path):
    headers = platform["headers"]
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        code = client.post(RESOURCES, json=fields(items=AQ_ITEMS)).json()["code"]
    data = tmp_path / "data.csv"
    data.write_bytes(CSV)
    env = {**os.environ, "GOVDATA_DATABASE_URL": platform["url"]}
    processes = [subprocess.Popen([sys.executable, "-m", "govdata", "data", "load", code,
                                   str(data)], cwd=tmp_path, env=env, text=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for _ in range(5)]
    try:
        results = [(p.wait(timeout=900), p.stderr.read()) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stderr.close()
    assert [code for code, _ in results] == [0] * 5, [err[-2000:] for _, err in results]


@contextmanager
def holding_the_write_lock(url: str) -> Iterator[None]:
    """Another SQLite writer, holding the one write lock until the block ends."""
    other = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_writer_waiting_past_the_busy_timeout_is_503(platform):
    if not platform["url"].startswith("sqlite"):
        pytest.skip("SQLite's one write lock: PostgreSQL writers do not queue for one lock")
    settings = platform["settings"].model_copy(update={"database_busy_timeout_seconds": 0.2})
    with serving(create_app(settings)) as url, \
            httpx.Client(base_url=url, headers=platform["headers"], timeout=60) as client:
        with holding_the_write_lock(platform["url"]):
            refused = client.post(RESOURCES, json=fields(items=AQ_ITEMS))
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["code"] == "database_busy"
            assert int(refused.headers["retry-after"]) >= 1
            assert client.get(RESOURCES).status_code == 200  # readers do not wait
        assert client.post(RESOURCES, json=fields(items=AQ_ITEMS)).status_code == 201


def test_the_command_line_says_so_in_one_line_when_the_database_is_busy(platform, tmp_path):
    if not platform["url"].startswith("sqlite"):
        pytest.skip("SQLite's one write lock")
    env = {**os.environ, "GOVDATA_DATABASE_URL": platform["url"],
           "GOVDATA_CLI_BUSY_TIMEOUT_SECONDS": "0.2"}
    with holding_the_write_lock(platform["url"]):
        result = subprocess.run(
            [sys.executable, "-m", "govdata", "department", "add", "busy-dept", "--name", "忙",
             "--uscc", synthetic_uscc(), "--division", "500000"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "database busy" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
