"""Fixtures for the exchange tests: a provider department with an approver and published
resources of each share type holding data, a consumer department with a requester, a
third department, and a clock the tests can set."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from govdata.catalog.datastore import service as datastore_service
from govdata.catalog.models import Resource
from govdata.platform import clock
from govdata.platform.models import AuditEntry
from govdata.platform.principal import Principal
from tests.catalog import create, item

ITEMS = [
    item("person_id", "公民身份号码", length=18, sensitivity="id_number"),
    item("name", "姓名", length=20, sensitivity="name"),
    item("district", "区县", length=20),
    item("amount", "缴费金额", data_type="N", length=None),
]
ROWS = [
    ["11010519491231002X", "张三", "渝中区", "1200.5"],
    ["440524188001010014", "欧阳娜娜", "江北区", "800"],
    ["500103199001011232", "李四", "渝中区", "950"],
]
LEGAL_BASIS = "《中华人民共和国个人信息保护法》第十三条"
API = "/api/v1/exchange"


class Clock:
    """The platform clock, set by the test (a China date at 10:00)."""

    def __init__(self, monkeypatch) -> None:
        self.moment = dt.datetime.now(dt.UTC)
        monkeypatch.setattr(clock, "now", lambda: self.moment)

    def set(self, day: dt.date, hour: int = 10) -> None:
        self.moment = dt.datetime(day.year, day.month, day.day, hour,
                                  tzinfo=clock.CHINA).astimezone(dt.UTC)

    def advance(self, days: int) -> None:
        self.moment += dt.timedelta(days=days)

    @property
    def today(self) -> dt.date:
        return clock.local_date(self.moment)


@pytest.fixture
def now(monkeypatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def provider(make_department) -> str:
    return make_department(name="重庆市人力资源和社会保障局")


@pytest.fixture
def consumer(make_department) -> str:
    return make_department(name="重庆市民政局")


@pytest.fixture
def third(make_department) -> str:
    return make_department(name="重庆市公安局")


@pytest.fixture
def approver(make_user, provider) -> str:
    return make_user("approver", "steward", department=provider)


@pytest.fixture
def requester(make_user, consumer) -> str:
    return make_user("requester", department=consumer)


@pytest.fixture
def outsider(make_user, third) -> str:
    """A department with every role but no part in the exchange under test."""
    return make_user("requester", "approver", "steward", department=third)


def csv_file(tmp_path, rows, header) -> Any:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / f"data-{len(list(tmp_path.iterdir()))}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def load(session, provider, tmp_path) -> Callable[..., int]:
    steward = Principal(username="loader", department=provider, roles=frozenset({"steward"}))

    def run(resource: Resource, rows=ROWS, header=None) -> int:
        header = header or [i.name for i in resource.items]
        rows = [[*row, *[""] * (len(header) - len(row))] for row in rows]
        path = csv_file(tmp_path, rows, header)
        return datastore_service.load_data(session, steward, resource.code, path).version

    return run


@pytest.fixture
def shared(session, provider, load) -> Callable[..., Resource]:
    """A published resource of the provider with data: ``shared("conditional")``."""
    steward = Principal(username="steward", department=provider, roles=frozenset({"steward"}))

    def make(share_type: str = "conditional", items=None, **overrides: Any) -> Resource:
        extra: dict[str, Any] = {}
        if share_type == "conditional" or any((i.get("share_type") == "conditional")
                                              for i in items or []):
            extra["share_condition"] = "仅限社会救助审核使用"
        if share_type == "none" or any(i.get("share_type") == "none" for i in items or []):
            extra["legal_basis"] = LEGAL_BASIS
        resource = create(session, steward, department=provider, publish=True,
                          share_type=share_type, items=list(items or ITEMS),
                          **{**extra, **overrides})
        if share_type != "none":
            load(resource)
        return resource

    return make


def ask(client, headers, resource, *, items=None, until=None, **overrides):
    body = {"resource": resource.code, "purpose": "最低生活保障资格审核",
            "basis": "《社会救助暂行办法》第十一条",
            "until": (until or clock.today() + dt.timedelta(days=180)).isoformat(),
            **overrides}
    if items is not None:
        body["data_items"] = items
    return client.post(f"{API}/requests", headers=headers, json=body)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


def ledger(session, action: str, outcome: str | None = None) -> list[dict]:
    import json

    query = select(AuditEntry.body).where(AuditEntry.action == action)
    if outcome is not None:
        query = query.where(AuditEntry.outcome == outcome)
    return [json.loads(body) for body in session.scalars(query.order_by(AuditEntry.id))]
