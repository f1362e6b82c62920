"""The CKAN Action API's read side against a live server, through the real ckanapi
package (RemoteCKAN), as CONTRACTS.md §2 describes it."""

from __future__ import annotations

import csv
import io
import json

import ckanapi
import pytest
import requests

from govdata.openportal.identifiers import datastore_resource_id

from .conftest import PEOPLE_ROWS


@pytest.fixture(scope="module")
def ckan(portal):
    with ckanapi.RemoteCKAN(portal.url) as remote:
        yield remote


@pytest.fixture(scope="module")
def people(ckan, portal):
    return ckan.action.package_show(id=portal.names["people"])


def datastore_id(package) -> str:
    return next(r["id"] for r in package["resources"] if r["datastore_active"])


def test_api_version_and_status(portal, ckan):
    for path in ("/api", "/api/3"):
        assert requests.get(portal.url + path).json() == {"version": 3}
    status = ckan.action.status_show()
    assert status["ckan_version"].startswith("2.") and status["site_url"] == portal.url
    raw = requests.post(portal.url + "/api/3/action/status_show", json={}).json()
    assert raw["success"] is True
    assert raw["help"] == f"{portal.url}/api/3/action/help_show?name=status_show"


def test_package_list_names_open_datasets_only_sorted(ckan, portal):
    names = ckan.action.package_list()
    assert names == sorted([portal.names["people"], portal.names["air"],
                            portal.names["conditional"]])
    assert ckan.action.package_list(include_private=True, include_drafts=True) == names
    assert ckan.action.package_list(limit=1, offset=1) == names[1:2]


def test_package_show_has_the_ckan_package_shape(ckan, portal, people):
    assert people["name"] == portal.names["people"]
    assert people["title"] == "重庆市低保对象名册" and people["type"] == "dataset"
    assert people["organization"]["name"] == "cq-mzj"
    assert people["organization"]["is_organization"] is True
    assert people["owner_org"] == people["organization"]["id"]
    assert {t["name"] for t in people["tags"]} == {"低保", "民政"} and people["num_tags"] == 2
    assert [g["name"] for g in people["groups"]] == ["shehui-baozhang"]
    keys = [e["key"] for e in people["extras"]]
    assert keys == sorted(keys) and "data_items" in keys and "update_cycle" in keys
    items = json.loads(next(e["value"] for e in people["extras"] if e["key"] == "data_items"))
    assert "secret_note" not in {i["name"] for i in items}
    assert people["license_id"] == "cc-by-4.0" and people["isopen"] is True
    assert people["state"] == "active" and people["private"] is False
    assert "T" in people["metadata_modified"] and "+" not in people["metadata_modified"]
    resource = people["resources"][0]
    assert resource["datastore_active"] is True and resource["package_id"] == people["id"]
    assert resource["format"] == "CSV" and resource["url"].startswith(portal.url)
    assert people["num_resources"] == len(people["resources"])
    by_id = ckan.action.package_show(id=people["id"], include_tracking=True)
    assert by_id["name"] == people["name"]


def test_what_is_not_open_is_not_found(ckan, portal):
    for key in ("closed", "draft"):
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id=portal.names[key])
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.resource_show(id="00000000-0000-4000-8000-000000000000")


def test_package_search_queries_filters_facets_and_pages(ckan, portal):
    found = ckan.action.package_search(q="空气质量")
    assert found["count"] == 1 and found["results"][0]["name"] == portal.names["air"]
    by_org = ckan.action.package_search(fq="organization:cq-mzj", rows=1, sort="name asc")
    assert by_org["count"] == 2 and len(by_org["results"]) == 1
    assert by_org["results"][0]["name"] == min(portal.names["people"],
                                               portal.names["conditional"])
    second = ckan.action.package_search(fq="organization:cq-mzj", rows=1, start=1,
                                        sort="name asc")
    assert second["results"][0]["name"] != by_org["results"][0]["name"]
    assert ckan.action.package_search(fq="tags:低保")["count"] == 1
    assert ckan.action.package_search(fq='tags:"空气质量" +organization:cq-hbj')["count"] == 1
    assert ckan.action.package_search(fq="res_format:CSV")["count"] == 3
    assert ckan.action.package_search(fq="groups:shehui-baozhang")["count"] == 1
    recent = ckan.action.package_search(fq="metadata_modified:[2020-01-01T00:00:00Z TO *]")
    assert recent["count"] == 3
    assert ckan.action.package_search(
        fq="metadata_modified:[2999-01-01T00:00:00Z TO *]")["count"] == 0
    faceted = ckan.action.package_search(**{"facet.field": ["organization", "tags",
                                                            "res_format", "license_id"]})
    assert faceted["facets"]["organization"] == {"cq-mzj": 2, "cq-hbj": 1}
    assert faceted["facets"]["res_format"] == {"CSV": 3}
    assert faceted["facets"]["license_id"] == {"cc-by-4.0": 3}
    items = faceted["search_facets"]["organization"]["items"]
    assert {i["display_name"] for i in items} == {"重庆市民政局", "重庆市环境保护局"}
    newest = ckan.action.package_search(sort="metadata_modified desc", rows=1000)
    assert newest["count"] == 3 and newest["sort"] == "metadata_modified desc"
    assert len(ckan.action.package_search(rows=5000)["results"]) == 3  # capped, not refused


def test_package_search_errors(ckan):
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(q="x", frobnicate=1)
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(fq="colour:red")
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(sort="colour asc")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(rows="many")


def test_get_only_clients_send_lists_as_repeated_keys(portal):
    with ckanapi.RemoteCKAN(portal.url, get_only=True) as remote:
        result = remote.action.package_search(fq="organization:cq-mzj",
                                              **{"facet.field": '["organization"]'})
        assert result["facets"]["organization"] == {"cq-mzj": 2}
        assert remote.action.package_show(id=portal.names["air"])["title"] == "重庆市空气质量日报"


def test_form_body_whose_only_key_is_json(portal):
    body = json.dumps({"id": portal.names["air"]})
    answer = requests.post(portal.url + "/api/action/package_show", data={body: ""})
    assert answer.json()["result"]["name"] == portal.names["air"]


def test_current_package_list_organizations_groups_tags_licences(ckan, portal):
    current = ckan.action.current_package_list_with_resources()
    assert len(current) == 3 and all("resources" in p for p in current)
    assert len(ckan.action.current_package_list_with_resources(limit=1)) == 1
    assert ckan.action.organization_list() == ["cq-hbj", "cq-mzj"]
    orgs = ckan.action.organization_list(all_fields=True)
    assert {o["name"]: o["package_count"] for o in orgs} == {"cq-hbj": 1, "cq-mzj": 2}
    shown = ckan.action.organization_show(id="cq-mzj", include_datasets=True)
    assert shown["title"] == "重庆市民政局" and len(shown["packages"]) == 2
    with pytest.raises(ckanapi.NotFound):
        ckan.action.organization_show(id="nowhere")
    groups = ckan.action.group_list(all_fields=True)
    assert {g["name"]: g["package_count"] for g in groups}["shehui-baozhang"] == 1
    assert ckan.action.group_show(id="shehui-baozhang")["title"] == "社会保障"
    assert "低保" in ckan.action.tag_list() and ckan.action.tag_list(query="空气") == ["空气质量"]
    assert ckan.action.tag_show(id="低保")["name"] == "低保"
    with pytest.raises(ckanapi.NotFound):
        ckan.action.tag_show(id="没有这个标签")
    assert "cc-by-4.0" in {licence["id"] for licence in ckan.action.license_list()}


def test_resource_show(ckan, people):
    resource = ckan.action.resource_show(id=datastore_id(people))
    assert resource["package_id"] == people["id"] and resource["url_type"] == "datastore"


def test_datastore_search_is_desensitised(ckan, people):
    result = ckan.action.datastore_search(resource_id=datastore_id(people), sort="id")
    assert result["fields"][0] == {"id": "_id", "type": "int"}
    first = result["records"][0]
    assert first["person_name"] == "张**" and first["phone"] == "138****1234"
    assert "secret_note" not in first
    assert result["total"] == 3 and result["total_was_estimated"] is False
    assert result["_links"]["start"].startswith("/api/action/datastore_search")
    assert result["limit"] == 100


def test_datastore_search_filters_q_fields_sort_paging_formats(ckan, people):
    rid = datastore_id(people)
    filtered = ckan.action.datastore_search(resource_id=rid, filters={"district": "渝中区"},
                                            fields=["id", "district"], sort="id desc")
    assert [r["id"] for r in filtered["records"]] == [3, 1]
    assert [f["id"] for f in filtered["fields"]] == ["id", "district"]
    listed = ckan.action.datastore_search(resource_id=rid, filters={"district": ["江北区"]},
                                          records_format="lists", fields="id,district")
    assert listed["records"] == [[2, "江北区"]]
    paged = ckan.action.datastore_search(resource_id=rid, limit=1, offset=1, sort="id",
                                         include_total=False)
    assert [r["id"] for r in paged["records"]] == [2] and "total" not in paged
    assert paged["_links"]["next"].endswith("offset=2")
    text = ckan.action.datastore_search(resource_id=rid, records_format="csv", sort="id",
                                        fields=["id", "person_name"])
    assert list(csv.reader(io.StringIO(text["records"]))) == [
        ["1", "张**"], ["2", "欧阳**"], ["3", "李*"]]
    assert text["total"] == 3
    searched = ckan.action.datastore_search(resource_id=rid, q="江北区")
    assert [r["id"] for r in searched["records"]] == [2]
    huge = ckan.action.datastore_search(resource_id=rid, limit=100_000)
    assert huge["limit"] == 32000


def test_datastore_search_distinct_and_tsquery(ckan, people):
    """``distinct`` and ``plain=false`` as CKAN takes them (``to_tsquery``'s syntax)."""
    rid = datastore_id(people)
    districts = ckan.action.datastore_search(resource_id=rid, fields=["district"], distinct=True,
                                             sort="district")
    assert sorted(r["district"] for r in districts["records"]) == ["江北区", "渝中区"]
    assert districts["total"] == 2 and districts["distinct"] is True
    either = ckan.action.datastore_search(resource_id=rid, q="江北区 | 渝中区", plain=False,
                                          sort="id")
    assert [r["id"] for r in either["records"]] == [1, 2, 3] and either["total"] == 3
    neither = ckan.action.datastore_search(resource_id=rid, q="江北区 | 渝中区", sort="id")
    assert neither["records"] == [] and neither["total"] == 0
    besides = ckan.action.datastore_search(resource_id=rid, q="!江北区", plain="false", sort="id")
    assert [r["id"] for r in besides["records"]] == [1, 3]
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=rid, q="(江北区", plain=False)
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=rid, fields=["phone"], distinct=True)
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=rid, fields=["district"], distinct=True,
                                     records_format="csv")


def test_datastore_search_errors(ckan, portal, people):
    rid = datastore_id(people)
    with pytest.raises(ckanapi.ValidationError) as unknown_key:
        ckan.action.datastore_search(resource_id=rid, colour="red")
    assert "colour" in unknown_key.value.error_dict
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=rid, filters={"phone": PEOPLE_ROWS[0][4]})
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=rid, sort="nonexistent")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id="00000000-0000-4000-8000-000000000000")
    conditional = ckan.action.package_show(id=portal.names["conditional"])
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search(resource_id=datastore_id(conditional))


def test_datastore_info(ckan, people):
    info = ckan.action.datastore_info(id=datastore_id(people))
    assert info["meta"]["count"] == 3
    names = [f["id"] for f in info["fields"]]
    assert "_id" not in names and "secret_note" not in names and "phone" in names
    phone = next(f for f in info["fields"] if f["id"] == "phone")
    assert phone["info"]["masked"] is True and phone["type"] == "text"


def test_datastore_dump_streams_every_format(portal, people):
    url = f"{portal.url}/datastore/dump/{datastore_id(people)}"
    dumped = requests.get(url, params={"bom": "true"})
    assert dumped.status_code == 200 and dumped.content.startswith(b"\xef\xbb\xbf")
    assert dumped.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(dumped.content.decode("utf-8-sig"))))
    assert rows[0][0] == "_id" and "secret_note" not in rows[0] and len(rows) == 4
    assert rows[1][rows[0].index("person_name")] == "张**"
    as_json = requests.get(url, params={"format": "json"}).json()
    assert as_json["fields"][0]["id"] == "_id" and len(as_json["records"]) == 3
    assert isinstance(as_json["records"][0], list)
    tsv = requests.get(url, params={"format": "tsv", "limit": 1, "offset": 1})
    assert tsv.text.splitlines()[1].split("\t")[0] == "2"
    xml = requests.get(url, params={"format": "xml", "fields": "_id,person_name"}).text
    assert '<row _id="1"><person_name>张**</person_name></row>' in xml
    filtered = requests.get(url, params={"filters": json.dumps({"district": "江北区"})}).text
    assert len(filtered.strip().splitlines()) == 2
    missing = requests.get(f"{portal.url}/datastore/dump/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_unknown_actions_and_bad_bodies(portal):
    unknown = requests.post(portal.url + "/api/3/action/frobnicate", json={})
    assert unknown.status_code == 400 and isinstance(unknown.json(), str)
    with ckanapi.RemoteCKAN(portal.url) as remote, pytest.raises(ckanapi.CKANAPIError):
        remote.call_action("frobnicate")
    broken = requests.post(portal.url + "/api/action/package_show", data=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    trailing = requests.get(portal.url + "/api/3/action/package_list/", allow_redirects=False)
    assert trailing.status_code == 200


def test_bad_tokens_read_as_anonymous_and_say_so_when_refused(portal):
    with ckanapi.RemoteCKAN(portal.url, apikey="not-a-token") as remote:
        assert portal.names["air"] in remote.action.package_list()
        with pytest.raises(ckanapi.NotAuthorized) as refused:
            remote.action.package_create(title="x")
        assert "令牌" in str(refused.value)


def test_datastore_ids_are_stable_and_map_to_the_package(people):
    assert datastore_id(people) == datastore_resource_id(people["id"])


@pytest.mark.parametrize("header", ["Authorization", "X-CKAN-API-Key", "Bearer"])
def test_stewards_tokens_raw_or_bearer_show_their_own_unopened_datasets(portal, header):
    token = portal.tokens["steward"]
    headers = ({"Authorization": f"Bearer {token}"} if header == "Bearer"
               else {header: token})
    url = f"{portal.url}/api/3/action/package_show"
    closed = requests.post(url, json={"id": portal.names["closed"]}, headers=headers).json()
    assert closed["success"] is True
    assert (closed["result"]["private"], closed["result"]["state"]) == (True, "active")
    draft = requests.post(url, json={"id": portal.names["draft"]}, headers=headers).json()
    assert draft["result"]["state"] == "draft"
    anonymous = requests.post(url, json={"id": portal.names["closed"]})
    assert anonymous.status_code == 404
