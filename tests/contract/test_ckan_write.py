"""CKAN write actions with a steward's token, and the ckanapi command line (action,
search datasets, dump datasets --all, load datasets) against a live server."""

from __future__ import annotations

import json

import ckanapi
import pytest
import requests

from .conftest import ckanapi_cli

ITEMS = [{"name": "station", "title": "监测站点", "data_type": "C", "length": 50},
         {"name": "aqi", "title": "空气质量指数", "data_type": "I"}]


def new_package(**overrides) -> dict:
    package = {
        "title": "重庆市噪声监测点位", "notes": "全市功能区声环境质量监测点位",
        "owner_org": "cq-hbj", "tags": [{"name": "噪声"}], "license_id": "cc-zero",
        "extras": [{"key": "classification", "value": "312002"},
                   {"key": "resource_class", "value": "department"},
                   {"key": "format_category", "value": "电子表格"},
                   {"key": "format", "value": "csv"},
                   {"key": "share_type", "value": "unconditional"},
                   {"key": "share_method", "value": "接口"},
                   {"key": "open_type", "value": "unconditional"},
                   {"key": "update_cycle", "value": "每年"},
                   {"key": "data_items", "value": json.dumps(ITEMS, ensure_ascii=False)}],
    }
    package.update(overrides)
    return package


@pytest.fixture(scope="module")
def steward(portal):
    with ckanapi.RemoteCKAN(portal.url, apikey=portal.tokens["hbj-steward"]) as remote:
        yield remote


def catalog_entry(portal, name: str) -> requests.Response:
    code = name.replace("-", "/")
    return requests.get(f"{portal.url}/api/v1/catalog/resources/{code}",
                        headers={"Authorization": f"Bearer {portal.tokens['admin']}"})


def test_package_create_makes_a_published_catalog_resource(steward, portal):
    created = steward.action.package_create(**new_package())
    assert created["name"].startswith("312002-") and created["state"] == "active"
    assert created["license_id"] == "cc-zero"
    entry = catalog_entry(portal, created["name"]).json()
    assert entry["status"] == "published" and entry["department"] == "cq-hbj"
    assert [i["name"] for i in entry["items"]] == ["station", "aqi"]
    patched = steward.action.package_patch(id=created["name"], notes="新的摘要")
    assert patched["notes"] == "新的摘要" and patched["title"] == "重庆市噪声监测点位"
    updated = steward.action.package_update(**{**patched, "title": "重庆市噪声监测点位信息"})
    assert updated["title"] == "重庆市噪声监测点位信息"
    steward.action.package_delete(id=created["name"])
    assert catalog_entry(portal, created["name"]).json()["status"] == "retired"
    with pytest.raises(ckanapi.NotFound):
        ckanapi.RemoteCKAN(portal.url).action.package_show(id=created["name"])


def test_write_refusals(steward, portal):
    with pytest.raises(ckanapi.ValidationError) as invalid:
        steward.action.package_create(**new_package(extras=[]))
    assert "classification" in invalid.value.error_dict
    with pytest.raises(ckanapi.ValidationError) as named:
        steward.action.package_create(**new_package(name="my-dataset"))
    assert "name" in named.value.error_dict
    with pytest.raises(ckanapi.NotAuthorized):
        steward.action.package_create(**new_package(owner_org="cq-mzj"))
    with pytest.raises(ckanapi.NotAuthorized):
        steward.action.package_patch(id=portal.names["people"], notes="不是我的")
    with pytest.raises(ckanapi.NotAuthorized):
        ckanapi.RemoteCKAN(portal.url).action.package_create(**new_package())
    titles = [p["title"] for p in ckanapi.RemoteCKAN(portal.url).action.package_search(
        q="噪声", rows=100)["results"]]
    assert titles == []  # nothing half-made by the refused calls


def test_data_through_resource_create_and_the_datastore_actions(steward, portal, tmp_path):
    created = steward.action.package_create(**new_package(title="重庆市噪声监测数据"))
    source = tmp_path / "noise.csv"
    source.write_text("station,aqi\n解放碑,58\n观音桥,61\n", encoding="utf-8")
    with source.open("rb") as upload:
        resource = steward.action.resource_create(package_id=created["id"], upload=upload,
                                                  format="csv")
    assert resource["datastore_active"] is True
    public = ckanapi.RemoteCKAN(portal.url)
    rows = public.action.datastore_search(resource_id=resource["id"], sort="_id")["records"]
    assert [(r["station"], r["aqi"]) for r in rows] == [("解放碑", 58), ("观音桥", 61)]
    steward.action.datastore_upsert(resource_id=resource["id"], method="insert",
                                    records=[{"station": "杨家坪", "aqi": 40}])
    steward.action.datastore_upsert(resource_id=resource["id"], method="update",
                                    records=[{"_id": 1, "aqi": 59}])
    rows = public.action.datastore_search(resource_id=resource["id"], sort="_id")["records"]
    assert [(r["station"], r["aqi"]) for r in rows] == [
        ("解放碑", 59), ("观音桥", 61), ("杨家坪", 40)]
    steward.action.datastore_create(resource_id=resource["id"],
                                    fields=[{"id": "station"}, {"id": "aqi"}],
                                    records=[{"station": "虎溪", "aqi": 33}])
    assert public.action.datastore_search(resource_id=resource["id"])["total"] == 1
    with pytest.raises(ckanapi.ValidationError):
        steward.action.datastore_upsert(resource_id=resource["id"], method="update",
                                        records=[{"_id": 99, "aqi": 1}])
    with pytest.raises(ckanapi.ValidationError):
        steward.action.datastore_create(resource_id=resource["id"], fields=[{"id": "colour"}],
                                        records=[])
    link = steward.action.resource_create(package_id=created["id"], name="说明",
                                          url="https://example.org/noise.pdf", format="pdf")
    shown = public.action.package_show(id=created["name"])
    assert [r["id"] for r in shown["resources"]] == [resource["id"], link["id"]]
    assert shown["resources"][1]["format"] == "PDF"


def test_cli_action_and_search_datasets(portal):
    shown = ckanapi_cli("action", "package_show", f"id={portal.names['air']}", "-r", portal.url,
                        "-j")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["title"] == "重庆市空气质量日报"
    searched = ckanapi_cli("search", "datasets", "q=空气质量日报", "-r", portal.url)
    assert searched.returncode == 0, searched.stderr
    lines = [json.loads(line) for line in searched.stdout.splitlines()]
    assert [p["name"] for p in lines] == [portal.names["air"]]
    missing = ckanapi_cli("action", "package_show", "id=no-such", "-r", portal.url)
    assert missing.returncode != 0 and "NotFound" in missing.stderr


def test_cli_dump_then_load_with_a_stewards_token(portal, tmp_path):
    dumped = tmp_path / "datasets.jsonl"
    result = ckanapi_cli("dump", "datasets", "--all", "-d", "-q", "-r", portal.url,
                         "-O", str(dumped))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in dumped.read_text(encoding="utf-8").splitlines()]
    assert portal.names["air"] in {p["name"] for p in lines}
    assert all(p["name"] not in (portal.names["closed"], portal.names["draft"]) for p in lines)
    air = next(p for p in lines if p["name"] == portal.names["air"])
    assert [f["id"] for f in air["resources"][0]["datastore_fields"]][:2] == ["_id", "station"]
    fresh = new_package(title="重庆市声环境功能区划")
    del fresh["owner_org"]
    source = tmp_path / "load.jsonl"
    source.write_text(json.dumps(fresh, ensure_ascii=False) + "\n", encoding="utf-8")
    loaded = ckanapi_cli("load", "datasets", "-I", str(source), "-r", portal.url,
                         "-a", portal.tokens["hbj-steward"])
    assert loaded.returncode == 0, loaded.stderr
    found = ckanapi.RemoteCKAN(portal.url).action.package_search(q="声环境功能区划")
    assert found["count"] == 1
    name = found["results"][0]["name"]
    assert catalog_entry(portal, name).json()["department"] == "cq-hbj"
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text(json.dumps(new_package(title="重庆市他人的数据集"), ensure_ascii=False),
                       encoding="utf-8")
    refused = ckanapi_cli("load", "datasets", "-I", str(foreign), "-r", portal.url,
                          "-a", portal.tokens["steward"])  # a steward of another department
    assert refused.returncode != 0 and "NotAuthorized" in refused.stderr
