"""Faults with real processes: ``govdata serve`` killed with SIGKILL in the middle of a
data upload, of an approval and of a catalog import leaves no half-written version, grant
or entry, and the ledger verifies (PostgreSQL); what the server acknowledged before a
SIGKILL is all there after the restart (both databases). (The upload's temporary file is
left behind by a SIGKILL until the uploads directory is swept at start-up: issue 7 item 14.)

"In the middle" is made exact: the test holds an EXCLUSIVE lock on the ledger table, so the
act does all its writes and then waits to append its ledger entry (in the same
transaction, README); the server is killed while the database shows it waiting.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, inspect, select, text

from govdata.catalog import service as catalog_service
from govdata.catalog import transfer
from govdata.catalog.datastore import service as datastore_service
from govdata.catalog.datastore.tables import table_name
from govdata.catalog.models import DataVersion, Resource
from govdata.exchange import requests as share_requests
from govdata.exchange.models import Grant, ShareRequest
from govdata.openportal.models import Account
from govdata.platform import migrate, service
from govdata.platform.db import Database
from govdata.platform.models import AuditEntry
from govdata.platform.principal import Principal
from govdata.platform.settings import get_settings
from tests.catalog import fields, item
from tests.conftest import fresh_database, postgres_only, synthetic_uscc
from tests.faultkit import Server, wait_for

SYSTEM = Principal.system("test")
ITEMS = [item("person_id", "公民身份号码", length=18, sensitivity="id_number"),
         item("district", "区县", length=20), item("amount", "缴费金额", data_type="N",
                                                  length=None)]
ROWS = [["11010519491231002X", "渝中区", "1200.5"], ["440524188001010014", "江北区", "800"],
        ["500103199001011232", "渝中区", "950"]]


def csv_bytes(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


@dataclass
class World:
    url: str
    db: Database
    server: Server
    provider: Principal
    code: str
    request_id: int
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def scalar(self, statement):
        with self.db.sessionmaker() as session:
            return session.scalar(statement)

    def db_all(self, statement) -> list:
        with self.db.sessionmaker() as session:
            return [tuple(row) if len(row) > 1 else row[0]
                    for row in session.execute(statement)]


def build_world(url: str, directory) -> World:
    """Two departments, a published conditional resource with data version 1, and a pending
    share request for it; tokens for the provider's steward-approver and the requester."""
    migrate.upgrade(url)
    db = Database(url)
    settings = get_settings()
    with db.transaction() as session:
        for code, name in (("f-rsj", "重庆市人力资源和社会保障局"), ("f-mzj", "重庆市民政局")):
            service.create_department(session, SYSTEM, code=code, name=name,
                                      uscc=synthetic_uscc(), division_code="500000")
        service.create_user(session, SYSTEM, username="f-approver", department_code="f-rsj",
                            roles=["steward", "approver"])
        service.create_user(session, SYSTEM, username="f-requester", department_code="f-mzj",
                            roles=["requester"])
        provider = Principal(username="f-approver", department="f-rsj",
                             roles=frozenset({"steward", "approver"}))
        resource = catalog_service.create_resource(session, provider, fields=fields(
            name="社会保险缴费信息", share_type="conditional", items=ITEMS,
            share_condition="仅限社会救助审核使用"))
        catalog_service.publish_resource(session, provider, code=resource.code)
        path = directory / "v1.csv"
        path.write_bytes(csv_bytes([i["name"] for i in ITEMS], ROWS))
        datastore_service.load_data(session, provider, resource.code, path)
        requester = Principal(username="f-requester", department="f-mzj",
                              roles=frozenset({"requester"}))
        request = share_requests.request_share(
            session, requester, settings, resource=resource.code, purpose="最低生活保障资格审核",
            basis="《社会救助暂行办法》第十一条", until=dt.date.today() + dt.timedelta(days=90))
        tokens = {name: service.issue_token(session, settings,
                                            user=service.get_user(session, name)).token
                  for name in ("f-approver", "f-requester")}
        code, request_id = resource.code, request.id
    return World(url, db, Server(url, directory), provider, code, request_id, tokens)


@pytest.fixture(scope="module")
def world(database_url, tmp_path_factory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("faults")
    with fresh_database(database_url, directory) as url:
        built = build_world(url, directory)
        built.server.start()
        try:
            yield built
        finally:
            built.server.stop()
            built.db.dispose()


@pytest.fixture
def mid_act(database_url) -> None:
    """The tests that catch an act mid-way hold a table lock and watch
    ``pg_stat_activity``: PostgreSQL only (SQLite has one writer at a time, no such view)."""
    postgres_only(database_url)


@contextmanager
def ledger_held(world: World) -> Iterator[None]:
    """Appends to the ledger wait while this is open."""
    with world.db.engine.connect() as connection:
        connection.execute(text("LOCK TABLE platform_audit_entry IN EXCLUSIVE MODE"))
        yield
        connection.rollback()


def backends(world: World, *, waiting: bool = False) -> int:
    """The server's sessions on the world's database (those waiting on a lock, if asked)."""
    condition = " AND wait_event_type = 'Lock'" if waiting else ""
    with world.db.engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            f"AND application_name = :name{condition}"), {"name": Server.APPLICATION}).scalar()


def kill_mid_act(world: World, send) -> None:
    """Start ``send`` (an HTTP call), kill the server once its transaction waits on the
    ledger, let the database end the orphaned session, then start the server again."""
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(send())
        except httpx.TransportError as exc:
            outcome.append(exc)

    with ledger_held(world):
        caller = threading.Thread(target=call)
        caller.start()
        wait_for(lambda: backends(world, waiting=True) > 0 or not caller.is_alive(),
                 timeout=60, what="the act to wait on the ledger")
        assert caller.is_alive(), f"the act finished before the kill: {outcome}"
        world.server.kill()
    caller.join(30)
    assert outcome and isinstance(outcome[0], httpx.TransportError), outcome
    wait_for(lambda: backends(world) == 0, timeout=60, what="the killed server's sessions")
    world.server.start()


def assert_ledger_verifies(world: World, cli_env) -> None:
    result = cli_env("audit", "verify")
    assert result.returncode == 0 and "ledger ok" in result.stdout, result.stderr


@pytest.fixture
def cli_env_for(monkeypatch, capsys):
    """``govdata …`` on a world's database, in this process."""
    from govdata.main import command_line
    from govdata.platform.cli import run as run_cli

    def on(world: World):
        def run(*args: str):
            monkeypatch.setenv("GOVDATA_DATABASE_URL", world.url)
            get_settings.cache_clear()
            capsys.readouterr()
            status = run_cli(command_line(), list(args))
            out, err = capsys.readouterr()
            return type("Result", (), {"returncode": status, "stdout": out, "stderr": err})

        return run

    yield on
    get_settings.cache_clear()


@pytest.fixture
def cli_env(world, cli_env_for):
    return cli_env_for(world)


@pytest.mark.postgres
@pytest.mark.usefixtures("mid_act")
def test_kill_during_a_data_upload(world, cli_env):
    resource_id = world.scalar(select(Resource.id).where(Resource.code == world.code))
    body = csv_bytes([i["name"] for i in ITEMS], ROWS * 2000)

    def upload():
        return httpx.post(f"{world.server.url}/api/v1/catalog/resources/{world.code}/data",
                          headers=world.headers("f-approver"),
                          files={"file": ("v2.csv", body, "text/csv")}, timeout=120)

    kill_mid_act(world, upload)
    versions = world.scalar(select(func.count()).select_from(DataVersion)
                            .where(DataVersion.resource_id == resource_id))
    assert versions == 1
    with world.db.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
    assert table_name(resource_id, 1) in tables and table_name(resource_id, 2) not in tables
    page = httpx.get(f"{world.server.url}/api/v1/catalog/resources/{world.code}/data",
                     headers=world.headers("f-approver"), timeout=30)
    assert page.status_code == 200 and page.json()["total"] == len(ROWS)
    assert_ledger_verifies(world, cli_env)


@pytest.mark.postgres
@pytest.mark.usefixtures("mid_act")
def test_kill_during_an_approval(world, cli_env):
    def approve():
        return httpx.post(f"{world.server.url}/api/v1/exchange/requests/{world.request_id}"
                          "/approve", headers=world.headers("f-approver"), json={}, timeout=60)

    kill_mid_act(world, approve)
    assert world.scalar(select(ShareRequest.status).where(
        ShareRequest.id == world.request_id)) == "pending"
    assert world.scalar(select(func.count()).select_from(Grant)) == 0
    assert_ledger_verifies(world, cli_env)
    again = approve()  # the restarted server decides it as if nothing had happened
    assert again.status_code == 200, again.text
    assert world.scalar(select(func.count()).select_from(Grant)) == 1
    assert_ledger_verifies(world, cli_env)


def import_file(names: list[str]) -> bytes:
    rows = [{"信息资源分类": "301006", "信息资源名称": name, "信息资源摘要": "导入的资源",
             "信息资源格式": "电子表格", "文件格式": "csv", "共享类型": "无条件共享",
             "共享方式": "接口", "开放类型": "不予开放", "更新周期": "每月",
             "信息项": json.dumps([{"name": "a", "title": "甲", "data_type": "C"}],
                               ensure_ascii=False)} for name in names]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(transfer.HEADERS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


@pytest.mark.postgres
@pytest.mark.usefixtures("mid_act")
def test_kill_during_a_catalog_import(world, cli_env):
    names = [f"导入资源{n}" for n in range(50)]
    before = world.scalar(select(func.count()).select_from(Resource))

    def send():
        return httpx.post(f"{world.server.url}/api/v1/catalog/import",
                          headers=world.headers("f-approver"),
                          files={"file": ("catalog.csv", import_file(names), "text/csv")},
                          timeout=120)

    kill_mid_act(world, send)
    assert world.scalar(select(func.count()).select_from(Resource)) == before
    assert world.scalar(select(func.count()).select_from(Resource)
                        .where(Resource.name.in_(names))) == 0
    assert_ledger_verifies(world, cli_env)


ACKNOWLEDGED = ("catalog.resource.create", "catalog.resource.publish", "data.load",
                "exchange.request", "exchange.approve", "exchange.data.read")


def test_what_was_acknowledged_survives_a_kill(world, cli_env):
    """Registrations (catalog resources, a public account), a data upload, a share request,
    its approval and an audited read of the granted data, each answered 2xx; SIGKILL right
    after the last answer. In the database afterwards: every one of them, each act on the
    ledger once, and the ledger verifies; the restarted server serves them all."""
    tag = uuid.uuid4().hex[:6]
    steward, requester = world.headers("f-approver"), world.headers("f-requester")

    def ok(response: httpx.Response, status: int = 200) -> dict:
        assert response.status_code == status, response.text
        return response.json()

    with httpx.Client(base_url=world.server.url, timeout=60) as http:
        created = [ok(http.post("/api/v1/catalog/resources", headers=steward,
                                json=fields(name=f"确认后的资源{tag}{n}")), 201)["code"]
                   for n in range(5)]
        shared = ok(http.post("/api/v1/catalog/resources", headers=steward, json=fields(
            name=f"确认后共享的资源{tag}", share_type="conditional", items=ITEMS,
            share_condition="仅限社会救助审核使用")), 201)["code"]
        ok(http.post(f"/api/v1/catalog/resources/{shared}/publish", headers=steward))
        loaded = ok(http.post(f"/api/v1/catalog/resources/{shared}/data", headers=steward,
                              files={"file": ("v1.csv", csv_bytes([i["name"] for i in ITEMS],
                                                                  ROWS), "text/csv")}), 201)
        asked = ok(http.post("/api/v1/exchange/requests", headers=requester, json={
            "resource": shared, "purpose": "最低生活保障资格审核", "basis": "《社会救助暂行办法》",
            "until": (dt.date.today() + dt.timedelta(days=30)).isoformat()}), 201)
        approved = ok(http.post(f"/api/v1/exchange/requests/{asked['id']}/approve",
                                headers=steward, json={}))
        email = f"public-{tag}@example.org"
        ok(http.post("/api/v1/open/accounts", json={
            "email": email, "password": "a long enough password", "name": "公众用户"}), 201)
        read = ok(http.get(f"/api/v1/exchange/data/{shared}", headers=requester))
    world.server.kill()  # right after the last answer

    codes = [*created, shared]
    assert approved["status"] == "granted" and approved["grant"] is not None
    assert loaded["version"] == 1 and read["total"] == len(ROWS)
    assert set(world.db_all(select(Resource.code).where(Resource.code.in_(codes)))) == set(codes)
    resource_id = world.scalar(select(Resource.id).where(Resource.code == shared))
    assert world.db_all(select(DataVersion.version, DataVersion.row_count)
                        .where(DataVersion.resource_id == resource_id)) == [(1, len(ROWS))]
    assert world.scalar(select(ShareRequest.status)
                        .where(ShareRequest.id == asked["id"])) == "granted"
    assert world.scalar(select(Grant.id)
                        .where(Grant.request_id == asked["id"])) == approved["grant"]
    assert world.scalar(select(Account.email).where(Account.email == email)) == email
    entries = Counter(world.db_all(select(AuditEntry.action, AuditEntry.resource).where(
        AuditEntry.resource.in_(codes), AuditEntry.action.in_(ACKNOWLEDGED))))
    assert entries == Counter({**{("catalog.resource.create", code): 1 for code in codes},
                               **{(action, shared): 1 for action in ACKNOWLEDGED[1:]}})
    assert_ledger_verifies(world, cli_env)

    world.server.start()
    with httpx.Client(base_url=world.server.url, timeout=60) as http:
        for code in created:
            ok(http.get(f"/api/v1/catalog/resources/{code}", headers=steward))
        assert ok(http.get(f"/api/v1/catalog/resources/{shared}", headers=steward)
                  )["status"] == "published"
        assert ok(http.get(f"/api/v1/exchange/data/{shared}", headers=requester)
                  )["total"] == len(ROWS)
        ok(http.post("/api/v1/open/accounts/token",
                     json={"email": email, "password": "a long enough password"}))
