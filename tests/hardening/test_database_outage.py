"""Issue 7 item 13 and issue 12 item 4: a database outage is 503 problem+json
``database_unavailable`` with Retry-After on connections that stay usable, also while
clients keep the server busy, and the platform recovers without a restart.

The tests run their own PostgreSQL cluster (``tests.faultkit.Cluster``: initdb and pg_ctl
from the server's binaries, in a temporary directory, on a free port) and stop it under a
live server, then start it again.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text

from govdata.main import create_app
from govdata.platform import migrate, service
from govdata.platform.db import Database
from govdata.platform.settings import Settings
from tests.catalog import fields
from tests.conftest import SYSTEM, postgres_only, synthetic_uscc
from tests.faultkit import Cluster, Server, wait_for

from .live import serving


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    own = Cluster().init("fsync = off")
    try:
        own.start()
        yield own
    finally:
        own.destroy()


def steward_token(url: str, settings: Settings, department: str) -> str:
    """A migrated database at ``url`` with ``department`` and its steward; the token."""
    migrate.upgrade(url)
    db = Database(url)
    with db.transaction() as session:
        service.create_department(session, SYSTEM, code=department, name="停机测试局",
                                  uscc=synthetic_uscc(), division_code="500000")
        service.create_user(session, SYSTEM, username=f"{department}-steward",
                            department_code=department, roles=["steward"])
        token = service.issue_token(
            session, settings, user=service.get_user(session, f"{department}-steward")).token
    db.dispose()
    return token


def request(connection: http.client.HTTPConnection, path: str, token: str
            ) -> tuple[int, dict, dict]:
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    body = json.loads(response.read() or b"null")
    return response.status, dict(response.getheaders()), body


def test_outage_is_503_on_a_kept_alive_connection_and_recovers(cluster, tmp_path):
    url = cluster.url()
    settings = Settings(database_url=url, upload_dir=str(tmp_path / "uploads"),
                        rate_limit_per_minute=0)
    token = steward_token(url, settings, "outage-dept")
    paths = ["/api/v1/auth/me", "/api/v1/catalog/resources", "/api/v1/departments"]
    with serving(create_app(settings)) as base:
        host, port = base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        for path in paths:
            assert request(connection, path, token)[0] == 200

        cluster.stop()
        for _ in range(3):  # the same connection, again and again: never dropped
            for path in paths:
                status, headers, body = request(connection, path, token)
                assert status == 503, body
                assert headers["content-type"].startswith("application/problem+json")
                assert body["code"] == "database_unavailable" and body["status"] == 503
                assert int(headers["retry-after"]) > 0
        ready = request(connection, "/readyz", token)
        assert ready[0] == 503

        cluster.start()
        for path in paths:
            status, _, body = request(connection, path, token)
            assert status == 200, body
        connection.close()


# --- the same under load ----------------------------------------------------------------

CLIENTS = 6
_names = itertools.count(1)


@dataclass(frozen=True)
class Answer:
    kind: str
    sent: float
    answered: float
    status: int | None  # None: no answer at all (connection refused, reset, timed out)
    headers: httpx.Headers | None = None
    body: bytes = b""
    error: str = ""

    @property
    def problem(self) -> dict:
        return json.loads(self.body)


def calls(base: str, headers: dict[str, str]):
    """What each client cycles through: the steward's reads, a public read, a registration."""
    def register(http: httpx.Client) -> httpx.Response:
        return http.post(f"{base}/api/v1/catalog/resources", headers=headers,
                         json=fields(name=f"停机期间登记的资源{next(_names)}"))

    def get(path: str, *, public: bool = False):
        return lambda http: http.get(f"{base}{path}", headers={} if public else headers)

    return [("me", get("/api/v1/auth/me")), ("resources", get("/api/v1/catalog/resources")),
            ("register", register), ("departments", get("/api/v1/departments")),
            ("open datasets", get("/api/v1/open/datasets", public=True))]


def client(number: int, work, answers: list[Answer], stop: threading.Event) -> None:
    """One keep-alive connection sending ``work`` in turn until ``stop``."""
    with httpx.Client(timeout=30) as http:
        for kind, send in itertools.islice(itertools.cycle(work), number, None):
            if stop.is_set():
                return
            sent = time.monotonic()
            try:
                response = send(http)
            except httpx.TransportError as exc:
                answers.append(Answer(kind, sent, time.monotonic(), None, error=repr(exc)))
                continue
            answers.append(Answer(kind, sent, time.monotonic(), response.status_code,
                                  response.headers, response.content))


def test_outage_under_load_is_503_and_recovers_without_a_restart(cluster, database_url,
                                                                  tmp_path):
    """Six clients on kept-alive connections to ``govdata serve`` (reads, public reads and
    resource registrations) while PostgreSQL stops and starts again: every answer is 2xx
    or 503 problem+json with Retry-After, none is missing; the same server process serves
    2xx again once the database is back, and every registration it acknowledged is there."""
    postgres_only(database_url)  # its own cluster, not the test database: once, in that pass
    url = cluster.create_database("under_load")
    token = steward_token(url, Settings(database_url=url), "load-dept")
    server = Server(url, tmp_path).start()
    headers = {"Authorization": f"Bearer {token}"}
    work = calls(server.url, headers)
    answers: list[Answer] = []
    stop = threading.Event()
    clients = [threading.Thread(target=client, args=(n, work, answers, stop))
               for n in range(CLIENTS)]
    try:
        for thread in clients:
            thread.start()
        wait_for(lambda: len(answers) >= 5 * CLIENTS, timeout=60, what="answers before")
        down = time.monotonic()
        cluster.stop()
        wait_for(lambda: {a.kind for a in answers if a.sent > down and a.status == 503}
                 == {kind for kind, _ in work}, timeout=30, what="503 for every kind of call")
        cluster.start()
        up = time.monotonic()
        wait_for(lambda: {a.kind for a in answers if a.sent > up and a.status
                          and a.status < 300} == {kind for kind, _ in work},
                 timeout=30, what="every kind of call served again")
        recovered = time.monotonic()
        wait_for(lambda: sum(a.sent > recovered for a in answers) >= 5 * CLIENTS,
                 timeout=30, what="answers after")
    finally:
        stop.set()
        for thread in clients:
            thread.join(60)
        assert server.process is not None and server.process.poll() is None, server.tail()
        server.stop()

    assert [a for a in answers if a.status is None] == []  # nothing dropped or refused
    assert {a.status for a in answers} <= {200, 201, 503}, {a.status for a in answers}
    refused = [a for a in answers if a.status == 503]
    assert refused and all(a.answered > down and a.sent < recovered for a in refused)
    for answer in refused:
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.problem["code"] == "database_unavailable", answer.problem
        assert answer.problem["status"] == 503 and int(answer.headers["retry-after"]) > 0
    assert all(a.status < 300 for a in answers if a.answered < down or a.sent > recovered)

    registered = {json.loads(a.body)["code"] for a in answers if a.status == 201}
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            stored = set(connection.execute(text(
                "SELECT code FROM catalog_resource WHERE name LIKE '停机期间登记的资源%'"))
                .scalars())
            on_ledger = set(connection.execute(text(
                "SELECT resource FROM platform_audit_entry "
                "WHERE action = 'catalog.resource.create'")).scalars())
    finally:
        db.dispose()
    assert registered and registered <= stored and registered <= on_ledger
