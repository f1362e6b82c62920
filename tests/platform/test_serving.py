"""``govdata serve --workers N``: Gunicorn with the app preloaded, connections spread over
the workers by ``Balance``."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import psutil
import pytest
from fastapi.testclient import TestClient

from govdata.platform.serving import ABSENT, Balance, build_routes


def test_a_worker_waits_while_another_holds_fewer_connections():
    balance = Balance(3)
    assert not balance.should_wait(0, 5)  # no other worker there
    balance.publish(0, 1)
    balance.publish(1, 1)
    assert not balance.should_wait(0, 1) and not balance.should_wait(1, 1)
    balance.publish(2, 0)
    assert balance.should_wait(0, 1) and not balance.should_wait(2, 0)
    balance.leave(2)
    assert balance.counts[2] == ABSENT and not balance.should_wait(0, 1)
    assert balance.free_slot({0, 2}) == 1 and balance.free_slot({0, 1, 2}) is None
    assert not balance.should_wait(None, 10)  # a worker without a slot never waits


class Server:
    """``python -m govdata serve --workers 2`` on a free port."""

    def __init__(self, database_url: str, workers: int = 2) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, "GOVDATA_DATABASE_URL": database_url, "GOVDATA_LOG_LEVEL": "INFO"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "govdata", "serve", "--port", str(self.port), "--workers",
             str(workers)], env=env, stderr=subprocess.PIPE, text=True)
        self.ready: list[int] = []
        self.changed = threading.Condition()
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()

    def _read_log(self) -> None:
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line)
                if "accepting connections" in line:
                    self.ready.append(int(line.split("worker ")[1].split()[0]))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_ready(self, count: int, *, timeout: float = 120) -> list[int]:
        """Wait until ``count`` workers have logged that they accept connections."""
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.ready) >= count
                                         or self.process.poll() is not None, timeout):
                raise AssertionError("workers not ready:\n" + "".join(self.lines[-20:]))
            assert self.process.poll() is None, "".join(self.lines[-20:])
            return list(self.ready)

    def get(self, connection: http.client.HTTPConnection, path: str = "/healthz") -> int:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def holders(self) -> dict[int, int]:
        """Established connections on the server's port, per worker pid."""
        held: dict[int, int] = {}
        for worker in psutil.Process(self.process.pid).children():
            held[worker.pid] = sum(1 for c in worker.net_connections(kind="tcp")
                                   if c.status == psutil.CONN_ESTABLISHED
                                   and c.laddr.port == self.port)
        return held

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(10)
        self.process.stderr.close()


@pytest.fixture
def server(database_url) -> Iterator[Server]:
    running = Server(database_url)
    yield running
    running.stop()


def test_keep_alive_connections_are_spread_over_the_workers(server):
    server.wait_ready(2)
    connections = [server.connect() for _ in range(4)]
    try:
        for connection in connections:
            assert server.get(connection) == 200
        assert server.get(connections[0], "/readyz") == 200
        assert sorted(server.holders().values()) == [2, 2]
    finally:
        for connection in connections:
            connection.close()


def test_a_worker_that_dies_is_replaced(server):
    first = server.wait_ready(2)
    psutil.Process(first[0]).kill()
    ready = server.wait_ready(3)
    assert ready[2] not in first
    assert sorted(p.pid for p in psutil.Process(server.process.pid).children()) == sorted(
        [first[1], ready[2]])
    connection = server.connect()
    try:
        assert server.get(connection) == 200
    finally:
        connection.close()


def test_the_routes_are_worked_out_before_the_first_request(app, monkeypatch):
    """A worker's first request on any part of the app builds no route (``build_routes``,
    run before the workers fork): FastAPI's lazy building is made to fail once it has run."""
    routing = pytest.importorskip("fastapi.routing")
    included = getattr(routing, "_IncludedRouter", None)
    if included is None:
        pytest.skip("this FastAPI builds its routes when they are included")
    build_routes(app)

    def built_lazily(self, route):
        raise AssertionError(f"route built on a request: {getattr(route, 'path', route)}")

    monkeypatch.setattr(included, "_build_effective_context", built_lazily)
    client = TestClient(app)
    for path in ("/api/3/action/status_show", "/api/v1/open/datasets", "/datasets",
                 "/console", "/data.json", "/api/v1/catalog/resources", "/nowhere"):
        assert client.get(path, follow_redirects=False).status_code < 500, path
