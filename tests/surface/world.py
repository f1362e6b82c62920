"""The world every route of the surface tests is tried against: four departments (our own,
a peer in our jurisdiction, two far ones in other jurisdictions), one user per role in our
own department, resources of every share/open type as drafts and published in three of them,
exchange requests, grants, disputes and notifications on every side, and the public side's
accounts, applications, keys, data requests and error reports. Built once per run in a
database of its own, through the services and the HTTP API (committed), so each test can
roll its own changes back.

Every resource's name carries a marker (``SURF-<dept>-<status>-<kind>``) so that a leak of
a resource to someone who must not see it is found in any answer, whatever its shape."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from govdata.catalog.models import Resource
from govdata.main import create_app
from govdata.openportal.identifiers import datastore_resource_id
from govdata.platform import clock, service
from govdata.platform.db import Database
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings
from tests.catalog import item
from tests.conftest import SYSTEM, synthetic_uscc
from tests.openportal.conftest import create_dataset

# Our own department, a peer under the same division (an admin of ours governs both), and
# two departments of other jurisdictions.
DEPARTMENTS = {"own": ("sf-own", "矩阵本部门", "500000"),
               "peer": ("sf-peer", "矩阵同辖区部门", "500103"),
               "far": ("sf-far", "矩阵外辖区部门", "210100"),
               "far2": ("sf-far2", "矩阵另一外辖区部门", "440300")}
ROLES = ("steward", "requester", "approver", "auditor", "admin", "superuser")
ACTORS = ("anonymous", "public", *ROLES)
STATUSES = ("draft", "published")
# kind: (share type, open type)
KINDS = {"open": ("unconditional", "unconditional"), "cond": ("conditional", "conditional"),
         "none": ("none", "none")}
ITEMS = [item("station", "监测站点", length=50), item("district", "区县", length=20),
         item("aqi", "空气质量指数", data_type="I", length=None)]
ROWS = [["解放碑", "渝中区", "52"], ["唐家沱", "江北区", "38"]]
PASSWORD = "surface-password-2026"
LEGAL_BASIS = "《中华人民共和国个人信息保护法》第十三条"


def marker(dept: str, status: str, kind: str) -> str:
    return f"SURF-{dept}-{status}-{kind}"


@dataclass
class Target:
    """One object a route can be asked about, and how it stands to our actors."""

    kind: str  # resource, request, grant, dispute, ...
    value: str  # what goes into the path
    dept: str = "own"  # own / peer / far: the department it belongs to (or its provider)
    status: str = "published"
    share: str = "open"  # open / cond / none (resource kind)
    side: str | None = None  # requests, grants: "provider" or "consumer" (ours), or None
    owner: str | None = None  # public side: "public" (our account) or "other"
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        parts = [self.kind, self.dept, self.status, self.share, self.side, self.owner]
        return "-".join(p for p in parts if p)


@dataclass
class World:
    url: str
    directory: Path
    departments: dict[str, str]  # relation -> code
    users: dict[str, str]  # role -> username (own department)
    tokens: dict[str, str]  # actor -> bearer token (staff JWT, or the account's session)
    others: dict[str, str]  # relation -> a username of that department
    resources: dict[tuple[str, str, str], Resource]
    requests: dict[str, int] = field(default_factory=dict)
    grants: dict[str, int] = field(default_factory=dict)
    disputes: dict[str, int] = field(default_factory=dict)
    notifications: dict[str, int] = field(default_factory=dict)
    applications: dict[str, int] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # owner -> key id
    raw_keys: dict[str, str] = field(default_factory=dict)  # owner -> the key itself
    data_requests: dict[str, int] = field(default_factory=dict)
    error_reports: dict[str, int] = field(default_factory=dict)

    def resource(self, dept: str, status: str, kind: str) -> Resource:
        return self.resources[(dept, status, kind)]

    def markers(self) -> dict[str, tuple[str, str, str]]:
        return {marker(*key): key for key in self.resources}


def _steward(code: str) -> Principal:
    return Principal(username=f"loader-{code}", department=code,
                     roles=frozenset({"steward"}))


def _ok(response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def build(url: str, directory: Path) -> World:
    settings = Settings(database_url=url, upload_dir=str(directory / "uploads"),
                        rate_limit_per_minute=0)
    db = Database(url)
    try:
        return _build(db, settings, url, directory)
    finally:
        db.dispose()


def _build(db: Database, settings: Settings, url: str, directory: Path) -> World:
    resources: dict[tuple[str, str, str], Resource] = {}
    with db.transaction() as session:
        departments = {}
        for relation, (code, name, division) in DEPARTMENTS.items():
            service.create_department(session, SYSTEM, code=code, name=name,
                                      uscc=synthetic_uscc(division), division_code=division)
            departments[relation] = code
        users, tokens, others = {}, {}, {}
        for role in ROLES:
            username = f"sf-{role}"
            service.create_user(session, SYSTEM, username=username,
                                department_code=departments["own"], roles=[role],
                                password=PASSWORD)
            users[role] = username
        for relation in ("peer", "far", "far2"):
            username = f"sf-{relation}-staff"
            service.create_user(session, SYSTEM, username=username,
                                department_code=departments[relation],
                                roles=["steward", "requester", "approver"])
            others[relation] = username
        for actor in (*ROLES, *(f"sf-{r}-staff" for r in ("peer", "far", "far2"))):
            username = users.get(actor, actor)
            user = service.get_user(session, username)
            tokens[username] = service.issue_token(session, settings, user=user).token
        for relation in ("own", "peer", "far", "far2"):
            code = departments[relation]
            for status in STATUSES:
                if relation == "far2" and status == "draft":
                    continue
                for kind, (share, open_type) in KINDS.items():
                    extra: dict[str, Any] = {}
                    if share == "conditional":
                        extra["share_condition"] = "仅限矩阵测试使用"
                    if share == "none":
                        extra["legal_basis"] = LEGAL_BASIS
                    resources[(relation, status, kind)] = create_dataset(
                        session, _steward(code), code, directory, items=ITEMS, rows=ROWS,
                        publish=status == "published", open_type=open_type,
                        share_type=share, name=f"矩阵资源 {marker(relation, status, kind)}",
                        **extra)
        session.expunge_all()
    world = World(url=url, directory=directory, departments=departments, users=users,
                  tokens={**{role: tokens[users[role]] for role in ROLES},
                          **{f"{r}-staff": tokens[others[r]] for r in others}},
                  others=others, resources=resources)
    app = create_app(settings, database=db)
    with TestClient(app, raise_server_exceptions=True) as client:
        _exchange(client, world)
        _public_side(client, world)
    return world


def _bearer(world: World, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[who]}"}


def exchange_marker(side: str) -> str:
    """In the purpose of the exchange's records between the departments of ``side``."""
    return f"XCH-{side}"


def _ask(client: TestClient, world: World, who: str, resource: Resource, side: str
         ) -> dict[str, Any]:
    until = (clock.today() + dt.timedelta(days=180)).isoformat()
    return _ok(client.post("/api/v1/exchange/requests", headers=_bearer(world, who), json={
        "resource": resource.code, "purpose": f"矩阵测试用途 {exchange_marker(side)}",
        "basis": "《矩阵测试办法》第一条", "until": until}), 201)


def _exchange(client: TestClient, world: World) -> None:
    """Requests pending on each side of ours and between others (in and out of our
    jurisdiction); grants likewise; disputes on a grant of ours and a far one."""
    own_requester = "requester"
    pending = {
        "provider": ("peer-staff", world.resource("own", "published", "cond")),
        "consumer": (own_requester, world.resource("peer", "published", "cond")),
        "peer": ("peer-staff", world.resource("far", "published", "cond")),
        "far": ("far-staff", world.resource("far2", "published", "cond")),
    }
    for side, (who, resource) in pending.items():
        world.requests[side] = _ask(client, world, who, resource, side)["id"]
    granted = {
        "provider": ("peer-staff", world.resource("own", "published", "open")),
        "consumer": (own_requester, world.resource("peer", "published", "open")),
        "peer": ("peer-staff", world.resource("far", "published", "open")),
        "far": ("far-staff", world.resource("far2", "published", "open")),
    }
    for side, (who, resource) in granted.items():
        asked = _ask(client, world, who, resource, side)
        world.grants[side] = asked["grant"]
    for side in ("provider", "far"):
        who, resource = granted[side]
        world.disputes[side] = _ok(client.post(
            "/api/v1/exchange/disputes", headers=_bearer(world, who),
            json={"resource": resource.code,
                  "records": [{"key": "1", "item": "aqi", "problem": "矩阵测试: 指数有误"}]}),
            201)["id"]
    for relation, who in (("own", "steward"), ("peer", "peer-staff"), ("far", "far-staff")):
        _ok(client.put("/api/v1/exchange/webhook", headers=_bearer(world, who),
                       json={"url": f"https://{relation}.example/hooks"}))
    for relation, who in (("own", "approver"), ("far", "far-staff")):
        inbox = _ok(client.get("/api/v1/exchange/inbox", headers=_bearer(world, who)))
        world.notifications[relation] = inbox["items"][0]["id"]


def _account(client: TestClient, email: str) -> str:
    _ok(client.post("/api/v1/open/accounts", json={
        "email": email, "password": PASSWORD, "name": "矩阵测试", "organisation": "矩阵大学"}),
        201)
    return _ok(client.post("/api/v1/open/accounts/token",
                           json={"email": email, "password": PASSWORD}))["access_token"]


UNDERTAKING = "本人承诺仅将数据用于所述研究目的, 不向第三方提供。"


def _apply(client: TestClient, token: str, resource: Resource) -> int:
    until = (clock.today() + dt.timedelta(days=30)).isoformat()
    return _ok(client.post("/api/v1/open/applications",
                           headers={"Authorization": f"Bearer {token}"},
                           json={"dataset": resource.code.replace("/", "-"),
                                 "purpose": "研究矩阵测试数据的分布与变化情况",
                                 "data_items": ["station", "district", "aqi"],
                                 "undertaking": UNDERTAKING,
                                 "until": until}), 201)["id"]


def _public_side(client: TestClient, world: World) -> None:
    """Our public account ("public") and another one ("other"): a pending application of
    ours to our own department's conditional dataset, an approved one with a key to the
    peer's; the other account's approved application and key to a far dataset. Data
    requests and error reports addressed to our department and to a far one."""
    public = _account(client, "sf-public@example.cn")
    other = _account(client, "sf-other@example.cn")
    world.tokens["public"] = public
    world.tokens["other-public"] = other
    world.applications["pending"] = _apply(client, public, world.resource("own", "published",
                                                                           "cond"))
    for owner, token, relation, approver in (("public", public, "peer", "peer-staff"),
                                             ("other", other, "far", "far-staff")):
        number = _apply(client, token, world.resource(relation, "published", "cond"))
        _ok(client.post(f"/api/v1/open/provider/applications/{number}/approve",
                        headers=_bearer(world, approver), json={}))
        issued = _ok(client.post(f"/api/v1/open/applications/{number}/keys",
                                 headers={"Authorization": f"Bearer {token}"}), 201)
        world.applications[owner] = number
        world.keys[owner] = issued["id"]
        world.raw_keys[owner] = issued["key"]
    for relation in ("own", "far"):
        world.data_requests[relation] = _ok(client.post("/api/v1/open/data-requests", json={
            "title": f"矩阵数据需求 {relation}", "description": "希望开放矩阵测试所需的数据集合",
            "department": world.departments[relation]}), 201)["id"]
        resource = world.resource(relation, "published", "open")
        world.error_reports[relation] = _ok(client.post("/api/v1/open/error-reports", json={
            "dataset": resource.code.replace("/", "-"), "data_item": "aqi", "record": "1",
            "description": "矩阵测试: 该站点的指数与实际不符"}), 201)["id"]


def datastore_id(resource: Resource) -> str:
    return datastore_resource_id(resource.id)
