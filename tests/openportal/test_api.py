"""The open-data JSON API: anonymous search, metadata, records and downloads; what is not
open never shows; conditional data is refused; usage is counted."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json

import openpyxl
import pytest
from sqlalchemy import select

from govdata.catalog import service as catalog_service
from govdata.catalog.models import DataVersion
from govdata.openportal.identifiers import datastore_resource_id
from govdata.platform.models import AuditEntry

from .conftest import AIR_ROWS, name_of

OPEN = "/api/v1/open"


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


def test_search_is_anonymous_and_shows_only_open_published_datasets(api, make_dataset, air):
    conditional = make_dataset(name="重庆市有条件开放名录", open_type="conditional")
    make_dataset(name="重庆市不开放名录", open_type="none")
    make_dataset(name="重庆市草稿名录", publish=False)
    page = api.get(f"{OPEN}/datasets", params={"q": "重庆市"})
    assert page.status_code == 200, page.text
    body = page.json()
    names = {item["title"] for item in body["items"]}
    assert names == {"重庆市空气质量日报", "重庆市有条件开放名录"}
    assert body["facets"]["open_type"] == {"unconditional": 1, "conditional": 1}
    by_name = {item["name"]: item for item in body["items"]}
    assert by_name[name_of(conditional)]["data_access"] == "application"
    assert by_name[name_of(air)]["data_access"] == "open"
    assert by_name[name_of(air)]["rows"] == 3


def test_retired_and_unopened_datasets_do_not_exist(api, session, steward, make_dataset):
    retired = make_dataset(name="重庆市停用名录")
    catalog_service.retire_resource(session, steward, code=retired.code)
    closed = make_dataset(name="重庆市不开放名录", open_type="none")
    draft = make_dataset(name="重庆市草稿名录", publish=False)
    for resource in (retired, closed, draft):
        for suffix in ("", "/records", "/download"):
            response = api.get(f"{OPEN}/datasets/{name_of(resource)}{suffix}")
            assert_problem(response, 404, "dataset_not_found")
    assert api.get(f"{OPEN}/datasets", params={"q": "名录"}).json()["total"] == 0


def test_search_in_chinese_with_facets_filters_and_sorts(api, make_dataset, people, air):
    response = api.get(f"{OPEN}/datasets", params={"q": "空气质量"})
    body = response.json()
    assert [item["title"] for item in body["items"]] == ["重庆市空气质量日报"]
    assert body["items"][0]["score"] is not None
    everything = api.get(f"{OPEN}/datasets").json()
    assert everything["total"] == 2
    assert everything["facets"]["theme"] == {"社会保障": 1}
    themed = api.get(f"{OPEN}/datasets", params={"theme": "shehui-baozhang"}).json()
    assert [item["name"] for item in themed["items"]] == [name_of(people)]
    assert themed["items"][0]["group"] == "shehui-baozhang"
    tagged = api.get(f"{OPEN}/datasets", params=[("tag", "环境"), ("tag", "空气质量")]).json()
    assert [item["name"] for item in tagged["items"]] == [name_of(air)]
    newest = api.get(f"{OPEN}/datasets", params={"sort": "modified desc"}).json()
    assert [item["name"] for item in newest["items"]] == [name_of(air), name_of(people)]
    by_code = api.get(f"{OPEN}/datasets", params={"sort": "name", "limit": 1,
                                                  "offset": 1}).json()
    assert by_code["total"] == 2 and len(by_code["items"]) == 1
    assert_problem(api.get(f"{OPEN}/datasets", params={"sort": "sideways"}), 422,
                   "sort_invalid")
    assert_problem(api.get(f"{OPEN}/datasets", params={"limit": 1001}), 422,
                   "validation_failed")


def test_dataset_metadata_shows_public_items_licence_coverage_and_usage(api, people):
    name = name_of(people)
    body = api.get(f"{OPEN}/datasets/{name}").json()
    assert body["name"] == name and body["code"] == people.code
    assert body["department"]["name"] == "重庆市民政局"
    items = {item["name"]: item for item in body["items"]}
    assert "secret_note" not in items and "internal_score" not in items
    assert items["phone"]["masked"] is True and items["district"]["masked"] is False
    assert items["id_number"]["sensitivity_label"] == "公民身份号码"
    assert body["licence"]["id"] == "cc-by-4.0"
    assert body["spatial"] == "500000"
    assert body["overdue"] is False
    assert body["downloads"]["csv"].endswith(f"/api/v1/open/datasets/{name}/download?format=csv")
    assert body["usage"]["views"] == 0  # this view is counted after the answer was made
    again = api.get(f"{OPEN}/datasets/{name}").json()
    assert again["usage"] == {"views": 1, "record_queries": 0, "downloads": 0}


def test_records_are_desensitised_and_masked_items_cannot_be_queried(api, people):
    url = f"{OPEN}/datasets/{name_of(people)}/records"
    body = api.get(url, params={"sort": "id"}).json()
    first = body["items"][0]
    assert first["person_name"] == "张**" and first["id_number"] == "110105********002X"
    assert first["phone"] == "138****1234" and first["address"] == "重庆市渝中区"
    assert first["card"] == "6222***********0123"
    assert "secret_note" not in first and "internal_score" not in first
    assert body["total"] == 3 and body["items"][1]["person_name"] == "欧阳**"
    filtered = api.get(url, params={"filters": json.dumps({"district": "渝中区"})}).json()
    assert [r["id"] for r in filtered["items"]] == [1, 3]
    for params in ({"filters": json.dumps({"phone": "13812341234"})}, {"sort": "person_name"},
                   {"q": json.dumps({"person_name": "张"})}, {"fields": "secret_note"}):
        assert_problem(api.get(url, params=params), 422, "datastore_query_invalid")
    assert api.get(url, params={"q": "张三丰"}).json()["total"] == 0
    assert_problem(api.get(url, params={"limit": 1001}), 422, "validation_failed")


def test_conditional_data_is_refused_but_its_metadata_is_public(api, make_dataset):
    conditional = make_dataset(name="重庆市有条件开放名录", open_type="conditional")
    name = name_of(conditional)
    meta = api.get(f"{OPEN}/datasets/{name}")
    assert meta.status_code == 200 and meta.json()["open_condition"] == "仅向科研机构开放"
    for suffix in ("/records", "/download"):
        body = assert_problem(api.get(f"{OPEN}/datasets/{name}{suffix}"), 403,
                              "open_data_conditional")
        assert "仅向科研机构开放" in body["detail"]


def test_every_refusal_of_conditional_data_is_on_the_ledger(api, session, make_dataset):
    """Open API records and downloads, CKAN datastore_search and the datastore dump: each
    refused read of conditional data is a refused entry naming the rule and the dataset."""
    conditional = make_dataset(name="重庆市有条件开放名录", open_type="conditional")
    resource_id = datastore_resource_id(conditional.id)
    reads = [
        ("openportal.data.read", api.get(f"{OPEN}/datasets/{name_of(conditional)}/records")),
        ("openportal.data.download",
         api.get(f"{OPEN}/datasets/{name_of(conditional)}/download?format=xlsx")),
        ("openportal.data.read", api.post("/api/3/action/datastore_search",
                                          json={"resource_id": resource_id})),
        ("openportal.data.download", api.get(f"/datastore/dump/{resource_id}")),
    ]
    for _, response in reads:
        assert response.status_code == 403, response.text
    entries = [json.loads(body) for body in session.scalars(
        select(AuditEntry.body).where(AuditEntry.resource == conditional.code,
                                      AuditEntry.outcome == "refused").order_by(AuditEntry.id))]
    assert [(e["action"], e["rule"], e["actor"]) for e in entries] == [
        (action, "open_data_conditional", "anonymous") for action, _ in reads]


def test_downloads_stream_csv_with_bom_json_and_xlsx(api, people, air):
    url = f"{OPEN}/datasets/{name_of(people)}/download"
    response = api.get(url)
    assert response.status_code == 200, response.text
    assert response.content.startswith(codecs.BOM_UTF8)
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E9%87%8D%E5%BA%86" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["_id", "id", "district", "person_name", "id_number", "phone", "address",
                       "card", "subsidy"]
    assert rows[1][3:8] == ["张**", "110105********002X", "138****1234", "重庆市渝中区",
                            "6222***********0123"]
    as_json = api.get(url, params={"format": "json"})
    assert as_json.json()[1]["person_name"] == "欧阳**"
    titled = api.get(url, params={"header": "title", "bom": "false"})
    assert titled.content.decode().splitlines()[0].startswith("_id,编号,区县,姓名")
    xlsx = api.get(f"{OPEN}/datasets/{name_of(air)}/download", params={"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [cell.value for cell in sheet[2]][1:] == ["解放碑", "渝中区", 52]
    assert_problem(api.get(url, params={"format": "exe"}), 422, "validation_failed")
    usage = api.get(f"{OPEN}/datasets/{name_of(people)}").json()["usage"]
    assert usage["downloads"] == 3


def test_usage_counts_views_queries_and_downloads(api, air):
    name = name_of(air)
    for _ in range(2):
        api.get(f"{OPEN}/datasets/{name}/records")
    api.get(f"{OPEN}/datasets/{name}/download")
    api.get(f"{OPEN}/datasets/{name}")
    body = api.get(f"{OPEN}/datasets/{name}").json()
    assert body["usage"] == {"views": 1, "record_queries": 2, "downloads": 1}
    stats = api.get(f"{OPEN}/stats").json()
    assert stats["usage"]["record_queries"] >= 2
    assert stats["datasets"]["total"] >= 1 and stats["datasets"]["with_data"] >= 1
    assert {"total", "publishing_open_list", "open_list_coverage", "targets"} <= set(
        stats["departments"])


def test_overdue_against_the_update_cycle(api, session, air):
    version = session.scalar(select(DataVersion).where(DataVersion.resource_id == air.id,
                                                       DataVersion.is_current))
    version.loaded_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    session.flush()
    body = api.get(f"{OPEN}/datasets/{name_of(air)}").json()
    assert body["update_cycle"] == "每日" and body["overdue"] is True
    assert api.get(f"{OPEN}/stats").json()["datasets"]["overdue"] >= 1


def test_department_open_list(api, dept, air, people, make_dataset):
    make_dataset(name="重庆市不开放名录", open_type="none")
    body = api.get(f"{OPEN}/departments/{dept}/datasets").json()
    assert body["department"]["code"] == dept and body["total"] == 2
    assert_problem(api.get(f"{OPEN}/departments/nowhere/datasets"), 404,
                   "department_not_found")


def test_stewards_set_licence_and_coverage(api, auth, steward_name, make_user, people):
    url = f"{OPEN}/datasets/{name_of(people)}"
    body = {"licence": "cc-zero", "temporal_start": "2020-01-01", "spatial": "重庆市"}
    assert_problem(api.patch(url, json=body), 401, "token_missing")
    other = make_user("steward")
    assert_problem(api.patch(url, json=body, headers=auth(other)), 403, "not_resource_steward")
    bad = api.patch(url, json={"licence": "mine", "temporal_start": "2021-01-01",
                               "temporal_end": "2020-01-01"}, headers=auth(steward_name))
    assert len(assert_problem(bad, 422, "open_metadata_invalid")["errors"]) == 2
    changed = api.patch(url, json=body, headers=auth(steward_name))
    assert changed.status_code == 200, changed.text
    shown = api.get(url).json()
    assert shown["licence"]["id"] == "cc-zero" and shown["spatial"] == "重庆市"
    assert shown["temporal"] == {"start": "2020-01-01", "end": None}
    licences = api.get(f"{OPEN}/licences").json()
    assert {"cc-by-4.0", "cc-zero"} <= {licence["id"] for licence in licences}


@pytest.mark.parametrize("suffix", ["", "/records", "/download"])
def test_unknown_dataset_names(api, suffix):
    assert_problem(api.get(f"{OPEN}/datasets/not-a-name{suffix}"), 404, "dataset_not_found")
    assert_problem(api.get(f"{OPEN}/datasets/999999-999999{suffix}"), 404, "dataset_not_found")


def test_rows_of_records_match_the_source(api, air):
    body = api.get(f"{OPEN}/datasets/{name_of(air)}/records", params={"fields": "station,aqi"})
    assert [[r["station"], r["aqi"]] for r in body.json()["items"]] == [
        [row[0], int(row[2])] for row in AIR_ROWS]
