"""Real servers for contract tests: a fresh database built through the services and
committed, served by Uvicorn on a free port in its own process, driven by real clients."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from govdata.platform import migrate
from govdata.platform import service as platform_service
from govdata.platform.db import Database
from govdata.platform.principal import Principal
from govdata.platform.settings import get_settings
from tests.catalog import item
from tests.conftest import SYSTEM, fresh_database, synthetic_uscc
from tests.faultkit import free_port
from tests.openportal.conftest import (
    AIR_ITEMS,
    AIR_ROWS,
    PEOPLE_ITEMS,
    PEOPLE_ROWS,
    create_dataset,
)

BIN = Path(sys.executable).parent
READY = "Uvicorn running on"


@dataclass
class Portal:
    """A running instance of ours: its address, database, tokens and dataset names."""

    url: str
    database_url: str
    tokens: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


def start_server(env: dict[str, str], log: list[str]) -> tuple[subprocess.Popen, str]:
    """``uvicorn govdata.main:create_app`` on a free port, its stderr collected in ``log``;
    returns once it says it is listening (or raises with its log)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "govdata.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    ready = threading.Event()

    def drain() -> None:
        for line in process.stderr:
            log.append(line)
            if READY in line:
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    ready.wait(timeout=120)
    if process.poll() is not None or not any(READY in line for line in log):
        process.kill()
        raise RuntimeError("server did not start:\n" + "".join(log))
    return process, f"http://127.0.0.1:{port}"


def server_env(database_url: str, upload_dir: Path) -> dict[str, str]:
    return {**os.environ, "GOVDATA_ENV": "test", "GOVDATA_DATABASE_URL": database_url,
            "GOVDATA_UPLOAD_DIR": str(upload_dir), "GOVDATA_RATE_LIMIT_PER_MINUTE": "0",
            "GOVDATA_USAGE_FLUSH_SECONDS": "0", "GOVDATA_LOG_LEVEL": "WARNING",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture(scope="module")
def serve(tmp_path_factory) -> Iterator:
    """Start Uvicorn on a database; returns its address once it listens. Every server
    started is stopped at the end of the module."""
    started: list[subprocess.Popen] = []

    def start(database_url: str, log: list[str]) -> str:
        upload_dir = tmp_path_factory.mktemp("uploads")
        process, url = start_server(server_env(database_url, upload_dir), log)
        started.append(process)
        return url

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


def make_dataset(session, principal: Principal, department: str, directory: Path,
                 **fields) -> str:
    resource = create_dataset(session, principal, department, directory, **fields)
    return resource.code.replace("/", "-")


def build(database_url: str, directory: Path, *, with_datasets: bool) -> Portal:
    """Migrate a fresh database and commit departments, users (admin, two stewards) and,
    when asked, datasets in every state."""
    migrate.upgrade(database_url)
    portal = Portal(url="", database_url=database_url)
    db = Database(database_url)
    settings = get_settings()
    with db.sessionmaker() as session, session.begin():
        for code, title in (("cq-mzj", "重庆市民政局"), ("cq-hbj", "重庆市环境保护局")):
            platform_service.create_department(session, SYSTEM, code=code, name=title,
                                               uscc=synthetic_uscc(), division_code="500000")
        for username, department, roles in (("steward", "cq-mzj", ["steward"]),
                                             ("hbj-steward", "cq-hbj", ["steward"]),
                                             ("admin", "cq-mzj", ["admin"])):
            platform_service.create_user(session, SYSTEM, username=username,
                                         department_code=department, roles=roles)
            user = platform_service.get_user(session, username)
            portal.tokens[username] = platform_service.issue_token(session, settings,
                                                                   user=user).token
        if with_datasets:
            steward = Principal(username="steward", department="cq-mzj",
                                roles=frozenset({"steward"}))
            hbj = Principal(username="hbj-steward", department="cq-hbj",
                            roles=frozenset({"steward"}))
            portal.names["people"] = make_dataset(
                session, steward, "cq-mzj", directory, name="重庆市低保对象名册",
                items=PEOPLE_ITEMS, rows=PEOPLE_ROWS, summary="享受最低生活保障的对象及补贴金额",
                theme="社会保障", resource_class="theme", classification="203001",
                tags=["低保", "民政"], open_type="unconditional")
            portal.names["air"] = make_dataset(
                session, hbj, "cq-hbj", directory, name="重庆市空气质量日报", items=AIR_ITEMS,
                rows=AIR_ROWS, summary="全市各监测站点的空气质量指数 AQI",
                tags=["空气质量", "环境"], open_type="unconditional", update_cycle="每日")
            portal.names["conditional"] = make_dataset(
                session, steward, "cq-mzj", directory, name="重庆市养老机构名录",
                items=AIR_ITEMS[:2], rows=[row[:2] for row in AIR_ROWS],
                open_type="conditional",
                open_condition="仅向研究机构开放", tags=["养老"])
            portal.names["closed"] = make_dataset(
                session, steward, "cq-mzj", directory, name="重庆市内部名录",
                items=[item("station", "站点")], rows=None, open_type="none")
            portal.names["draft"] = make_dataset(
                session, steward, "cq-mzj", directory, name="重庆市草稿名录",
                items=[item("station", "站点")], rows=None, open_type="unconditional",
                publish=False)
    db.dispose()
    return portal


def instance(database_url: str, serve, directory: Path, *, with_datasets: bool
             ) -> Iterator[Portal]:
    with fresh_database(database_url, directory) as url:
        built = build(url, directory, with_datasets=with_datasets)
        built.url = serve(url, built.log)
        yield built


@pytest.fixture(scope="module")
def portal(database_url, serve, tmp_path_factory) -> Iterator[Portal]:
    """An instance of ours with datasets in every state."""
    yield from instance(database_url, serve, tmp_path_factory.mktemp("portal"),
                        with_datasets=True)


@pytest.fixture(scope="module")
def empty_portal(database_url, serve, tmp_path_factory) -> Iterator[Portal]:
    """A second instance: the same departments and users, no datasets."""
    yield from instance(database_url, serve, tmp_path_factory.mktemp("empty"),
                        with_datasets=False)


def ckanapi_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real ckanapi command line (its workers find ``ckanapi`` on PATH)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([str(BIN / "ckanapi"), *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)
