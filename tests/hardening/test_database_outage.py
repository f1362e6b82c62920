"""Issue 7 item 13: a database outage is 503 problem+json ``database_unavailable`` with
Retry-After on connections that stay usable, and the platform recovers without a restart.

The test runs its own PostgreSQL cluster (initdb and pg_ctl from the server's binaries, in
a temporary directory, on a free port), stops it under a live server and starts it again.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from govdata.main import create_app
from govdata.platform import migrate, service
from govdata.platform.db import Database
from govdata.platform.settings import Settings
from tests.conftest import SYSTEM, synthetic_uscc

from .live import free_port, serving


def postgres_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class Cluster:
    """A throwaway PostgreSQL cluster; as root its commands run as the postgres user."""

    def __init__(self, bin_dir: Path, directory: Path) -> None:
        self.bin, self.data, self.port = bin_dir, directory / "data", free_port()
        self.log = directory / "postgres.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(directory, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories='{self.data}' -c fsync=off")
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                 "-o", options, "-w", "start")

    def stop(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bin_dir = postgres_binaries()
    if bin_dir is None:
        pytest.skip("needs PostgreSQL's server binaries (initdb, pg_ctl): CI installs them")
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _has_postgres_user()):
        pytest.skip("as root, needs the postgres user and runuser to run initdb")
    directory = Path(tempfile.mkdtemp(prefix="govdata-pg-"))  # pytest's are root-only
    own = Cluster(bin_dir, directory)
    try:
        own.init()
        own.start()
        yield own
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            own.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _has_postgres_user() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


def request(connection: http.client.HTTPConnection, path: str, token: str
            ) -> tuple[int, dict, dict]:
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    body = json.loads(response.read() or b"null")
    return response.status, dict(response.getheaders()), body


def test_outage_is_503_on_a_kept_alive_connection_and_recovers(cluster, tmp_path):
    migrate.upgrade(cluster.url)
    settings = Settings(database_url=cluster.url, upload_dir=str(tmp_path / "uploads"),
                        rate_limit_per_minute=0)
    db = Database(cluster.url)
    with db.transaction() as session:
        service.create_department(session, SYSTEM, code="outage-dept", name="停机测试局",
                                  uscc=synthetic_uscc(), division_code="500000")
        service.create_user(session, SYSTEM, username="outage-user",
                            department_code="outage-dept", roles=["steward"])
        token = service.issue_token(session, settings,
                                    user=service.get_user(session, "outage-user")).token
    db.dispose()
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
