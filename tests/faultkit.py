"""Real processes for the fault tests: ``govdata serve`` on a free port, killed with SIGKILL
and started again; and a PostgreSQL cluster of the test's own (initdb + pg_ctl on a loopback
port), stopped and started while the app runs. Any test needing a cluster it may break or
replicate uses ``Cluster``."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, *, timeout: float = 60.0, every: float = 0.02, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(every)


class Server:
    """``python -m govdata serve`` (one process) on a free port, its log in a file; its
    database sessions carry ``application_name`` APPLICATION."""

    APPLICATION = "govdata-fault-server"

    def __init__(self, database_url: str, directory: Path, **env: str) -> None:
        self.database_url = database_url
        self.directory = directory
        self.env = {**os.environ, "GOVDATA_DATABASE_URL": database_url,
                    "GOVDATA_UPLOAD_DIR": str(directory / "uploads"),
                    "GOVDATA_RATE_LIMIT_PER_MINUTE": "0", "PGAPPNAME": self.APPLICATION,
                    **env}
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = directory / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def upload_dir(self) -> Path:
        return Path(self.env["GOVDATA_UPLOAD_DIR"])

    def start(self) -> Server:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "govdata", "serve", "--port", str(self.port)],
                cwd=self.directory, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._answers, timeout=90, what=f"the server to answer:\n{self.tail()}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.tail()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no goodbye to the database."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed (Debian's layout), or on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Cluster:
    """A PostgreSQL cluster in a temporary directory on a free loopback port, trust auth.

    As root, the server runs as the ``postgres`` system user (PostgreSQL refuses root)."""

    def __init__(self, *, data_dir: Path | None = None, port: int | None = None) -> None:
        self.bin = postgres_bin()
        if self.bin is None:
            pytest.skip("needs the PostgreSQL server binaries (initdb, pg_ctl)")
        self.root = Path(tempfile.mkdtemp(prefix="govdata-pg-"))
        self.data = data_dir or self.root / "data"
        self.port = port or free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"{tool} failed: {result.stdout}\n{result.stderr}")
        return result

    def init(self, *settings: str) -> Cluster:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(["listen_addresses = '127.0.0.1'", f"port = {self.port}",
                                  f"unix_socket_directories = '{self.root}'",
                                  "max_connections = 40", "shared_buffers = 16MB",
                                  *settings]) + "\n")
        return self

    def start(self) -> Cluster:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w",
                 "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends sessions and checkpoints; ``immediate`` is a crash (recovery from
        the WAL at the next start)."""
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop",
                 check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self.run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        "-d", database, "-Atc", sql).stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def replica(self) -> Cluster:
        """A streaming standby of this cluster (pg_basebackup -R), started on its own port.
        ``--checkpoint=fast``: the default spread checkpoint paces its writes over
        checkpoint_timeout (minutes here, two of them per run)."""
        standby = Cluster()
        standby.run("pg_basebackup", "-D", str(standby.data), "-R", "-X", "stream", "-h",
                    "127.0.0.1", "-p", str(self.port), "-U", "postgres", "--no-sync",
                    "--checkpoint=fast")
        with (standby.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {standby.port}\n"
                       f"unix_socket_directories = '{standby.root}'\n")
        return standby.start()

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
