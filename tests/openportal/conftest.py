"""Fixtures for the open portal: a department with a steward, and datasets in every state
built through the catalog and datastore services, one of them full of personal data."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from govdata.catalog import service as catalog_service
from govdata.catalog.datastore import service as datastore_service
from govdata.catalog.datastore.api import stream_bind
from govdata.catalog.models import Resource
from govdata.openportal import usage
from govdata.platform.principal import Principal
from tests.catalog import create, item

PEOPLE_ITEMS = [
    item("id", "编号", data_type="I", length=None, required=True),
    item("district", "区县", length=20),
    item("person_name", "姓名", length=30, sensitivity="name"),
    item("id_number", "公民身份号码", length=18, sensitivity="id_number"),
    item("phone", "联系电话", length=20, sensitivity="phone"),
    item("address", "住址", length=200, sensitivity="address"),
    item("card", "银行卡号", length=30, sensitivity="bank_card"),
    item("secret_note", "内部备注", length=100, sensitivity="secret"),
    item("internal_score", "内部评分", data_type="I", length=None, open_type="none"),
    item("subsidy", "补贴金额", data_type="Y", length=None),
]
PEOPLE_HEADER = [i["name"] for i in PEOPLE_ITEMS]
PEOPLE_ROWS = [
    ["1", "渝中区", "张三丰", "11010519491231002X", "13812341234",
     "重庆市渝中区解放碑街道八一路88号", "6222021234567890123", "不得公开的备注甲", "97",
     "1200.50"],
    ["2", "江北区", "欧阳娜娜", "440524188001010014", "13900001111", "重庆市江北区观音桥步行街9号",
     "6217001234567890", "不得公开的备注乙", "88", "800"],
    ["3", "渝中区", "李四", "500103199001011232", "13711112222", "重庆市渝中区较场口21号",
     "6228481234567890", "不得公开的备注丙", "75", "650.25"],
]
# Every personal value above that must never be seen unmasked on a public path.
PERSONAL_VALUES = [value for row in PEOPLE_ROWS for value in row[2:9]]

AIR_ITEMS = [
    item("station", "监测站点", length=50),
    item("district", "区县", length=20),
    item("aqi", "空气质量指数", data_type="I", length=None),
]
AIR_ROWS = [["解放碑", "渝中区", "52"], ["唐家沱", "江北区", "38"], ["虎溪", "沙坪坝区", "120"]]


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def create_dataset(session: Session, steward: Principal, department: str, directory: Path, *,
                   items: Sequence[dict[str, Any]], rows: Sequence[Sequence[str]] | None,
                   publish: bool = True, open_type: str = "unconditional",
                   **fields: Any) -> Resource:
    """A resource through the catalog service: published unless ``publish=False``, with
    rows loaded through the datastore service when given."""
    if open_type == "conditional":
        fields.setdefault("open_condition", "仅向科研机构开放")
    resource = create(session, steward, department=department, items=list(items),
                      open_type=open_type, **fields)
    if rows is not None:
        path = directory / f"{resource.id}.csv"
        path.write_text(csv_text([i["name"] for i in items], rows), encoding="utf-8")
        datastore_service.load_data(session, steward, resource.code, path)
    if publish:
        catalog_service.publish_resource(session, steward, code=resource.code)
    return resource


@pytest.fixture(autouse=True)
def fresh_usage_counter(monkeypatch):
    """Counts a test leaves unwritten must not reach another test's database."""
    monkeypatch.setattr(usage, "COUNTER", usage.UsageCounter())


@pytest.fixture
def dept(make_department) -> str:
    return make_department(name="重庆市民政局")


@pytest.fixture
def steward_name(make_user, dept) -> str:
    return make_user("steward", department=dept)


@pytest.fixture
def steward(steward_name, dept) -> Principal:
    return Principal(username=steward_name, department=dept, roles=frozenset({"steward"}))


@pytest.fixture
def make_dataset(session, steward, dept, tmp_path) -> Callable[..., Resource]:

    def make(items: Sequence[dict[str, Any]] = AIR_ITEMS,
             rows: Sequence[Sequence[str]] | None = AIR_ROWS, **fields: Any) -> Resource:
        return create_dataset(session, steward, dept, tmp_path, items=items, rows=rows,
                              **fields)

    return make


@pytest.fixture
def people(make_dataset) -> Resource:
    return make_dataset(PEOPLE_ITEMS, PEOPLE_ROWS, name="重庆市低保对象名册",
                        summary="享受最低生活保障的对象及补贴金额", theme="社会保障",
                        resource_class="theme", classification="203001",
                        tags=["低保", "民政", "社会救助"])


@pytest.fixture
def air(make_dataset) -> Resource:
    return make_dataset(name="重庆市空气质量日报", summary="全市各监测站点的空气质量指数",
                        tags=["空气质量", "环境"], update_cycle="每日")


@pytest.fixture
def api(app, client, connection):
    """The test client; streamed downloads read on the test's connection."""
    app.dependency_overrides[stream_bind] = lambda: connection
    return client


def name_of(resource: Resource) -> str:
    return resource.code.replace("/", "-")
