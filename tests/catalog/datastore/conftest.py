"""Fixtures for the datastore tests: a department, its steward, resources with typed data
items built through the catalog service, and files to upload."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from govdata.catalog.datastore import service
from govdata.catalog.models import Resource
from govdata.platform.principal import Principal
from tests.catalog import create, item

AQ_ITEMS = [
    item("id", "编号", data_type="I", length=None, required=True),
    item("district", "区县", length=20, required=True),
    item("station", "监测站点", length=50),
    item("day", "日期", data_type="D", length=None, required=True),
    item("aqi", "空气质量指数", data_type="I", length=3),
    item("pm25", "细颗粒物浓度", data_type="N", length=None),
    item("pm10", "可吸入颗粒物浓度", data_type="N", length=None),
    item("level", "空气质量级别", length=10),
    item("name", "联系人", length=20, sensitivity="name"),
    item("phone", "联系电话", length=20, sensitivity="phone"),
]
AQ_HEADER = [i["name"] for i in AQ_ITEMS]
AQ_ROWS = [
    ["1", "渝中区", "解放碑", "2024-05-01", "52", "35.2", "60.1", "良", "张三", "13812341234"],
    ["2", "江北区", "唐家沱", "2024-05-01", "38", "21.5", "40", "优", "欧阳娜娜", "13900001111"],
    ["3", "渝中区", "解放碑", "2024-05-02", "75", "55.0", "90.5", "良", "李四", "13711112222"],
    ["4", "沙坪坝区", "虎溪", "2024-05-02", "120", "88.8", "150.2", "轻度污染", "王五",
     "13600003333"],
    ["5", "九龙坡区", "杨家坪", "2024-05-03", "", "", "", "", "", ""],
]

TYPED_ITEMS = [
    item("code", "统一社会信用代码", length=18, sensitivity="uscc"),
    item("person_id", "公民身份号码", length=18, sensitivity="id_number"),
    item("at", "时间", data_type="T", length=None),
    item("flag", "是否有效", data_type="L", length=None),
    item("fee", "金额", data_type="Y", length=None),
    item("ratio", "比率", data_type="F", length=None),
    item("address", "地址", length=100, sensitivity="address"),
    item("card", "银行卡号", length=30, sensitivity="bank_card"),
    item("note", "内部备注", length=100, sensitivity="secret"),
]
TYPED_HEADER = [i["name"] for i in TYPED_ITEMS]
TYPED_ROWS = [
    ["91350100M000100Y43", "11010519491231002X", "2024-05-01T08:30:00+08:00", "是", "12.30",
     "0.5", "重庆市渝中区解放碑街道88号", "6222021234567890123", "仅内部"],
    ["", "440524188001010014", "2024-05-01 00:00", "false", "-3", "1e-3",
     "新疆维吾尔自治区石河子市北泉镇", "", ""],
]


@pytest.fixture
def dept(make_department) -> str:
    return make_department()


@pytest.fixture
def steward_name(make_user, dept) -> str:
    return make_user("steward", department=dept)


@pytest.fixture
def steward(steward_name, dept) -> Principal:
    return Principal(username=steward_name, department=dept, roles=frozenset({"steward"}))


@pytest.fixture
def make_resource(session, steward, dept) -> Callable[..., Resource]:
    def make(items: Sequence[dict[str, Any]] = AQ_ITEMS, **overrides: Any) -> Resource:
        return create(session, steward, department=dept, items=list(items), **overrides)

    return make


@pytest.fixture
def aq(make_resource) -> Resource:
    return make_resource(AQ_ITEMS)


@pytest.fixture
def typed(make_resource) -> Resource:
    return make_resource(TYPED_ITEMS)


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]], *,
             delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture
def write(tmp_path) -> Callable[..., Path]:
    """Write a file to upload: text (with an encoding) or bytes."""

    def make(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return make


@pytest.fixture
def load(session, steward, write) -> Callable[..., Any]:
    """Load rows (CSV by default) into a resource through the service."""

    def run(resource: Resource, rows: Sequence[Sequence[str]] | None = None, *,
            header: Sequence[str] | None = None, path: Path | None = None,
            principal: Principal | None = None, **options: Any):
        if path is None:
            header = header or [i.name for i in resource.items]
            path = write("data.csv", csv_text(header, rows or []))
        return service.load_data(session, principal or steward, resource.code, path, **options)

    return run


def records(result) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "_id"} for r in result.records]


def json_lines(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
