"""The data reads' per-process cache of open datasets (``readcache``) never serves what
changed: every read checks the resource's fingerprint first, whichever path changed it."""

from __future__ import annotations

from sqlalchemy import update

from govdata.catalog import service as catalog_service
from govdata.catalog.models import DataItem, Resource
from govdata.openportal import readcache
from govdata.openportal.identifiers import datastore_resource_id
from tests.openportal.conftest import AIR_ITEMS, name_of

OPEN = "/api/v1/open"


def _stations(api, resource) -> tuple[list, list]:
    """The station column as the CKAN API and the open API show it."""
    ckan = api.post("/api/3/action/datastore_search",
                    json={"resource_id": datastore_resource_id(resource.id)})
    assert ckan.status_code == 200, ckan.text
    records = api.get(f"{OPEN}/datasets/{name_of(resource)}/records")
    assert records.status_code == 200, records.text
    return ([row.get("station") for row in ckan.json()["result"]["records"]],
            [row.get("station") for row in records.json()["items"]])


def _with_station(sensitivity: str) -> list[dict]:
    return [{**item, "sensitivity": sensitivity} if item["name"] == "station" else item
            for item in AIR_ITEMS]


def test_an_item_made_sensitive_is_masked_on_the_next_read(api, session, steward, air):
    assert _stations(api, air) == (["解放碑", "唐家沱", "虎溪"],) * 2
    catalog_service.update_resource(session, steward, code=air.code,
                                    changes={"items": _with_station("name")})
    for shown in _stations(api, air):
        assert "解放碑" not in shown and shown[0].startswith("解")


def test_a_sensitivity_changed_outside_the_services_is_masked_too(api, session, air):
    """No version bump, no timestamp: the items themselves are part of the fingerprint."""
    _stations(api, air)
    session.execute(update(DataItem).where(DataItem.resource_id == air.id,
                                           DataItem.name == "station")
                    .values(sensitivity="secret"))
    session.flush()
    assert _stations(api, air) == ([None, None, None],) * 2


def test_a_retired_dataset_is_gone_from_the_next_read(api, session, steward, air):
    _stations(api, air)
    catalog_service.retire_resource(session, steward, code=air.code)
    ckan = api.post("/api/3/action/datastore_search",
                    json={"resource_id": datastore_resource_id(air.id)})
    assert ckan.status_code == 404
    assert api.get(f"{OPEN}/datasets/{name_of(air)}/records").status_code == 404


def test_an_open_type_changed_outside_the_services_is_seen(api, session, air):
    _stations(api, air)
    session.execute(update(Resource).where(Resource.id == air.id)
                    .values(open_type="conditional"))
    session.flush()
    response = api.get(f"{OPEN}/datasets/{name_of(air)}/records")
    assert response.status_code == 403 and response.json()["code"] == "open_data_conditional"


def test_new_data_is_read_at_once(api, make_dataset, session, steward, tmp_path):
    from govdata.catalog.datastore import service as datastore_service

    air = make_dataset(rows=[["解放碑", "渝中区", "52"]])
    assert _stations(api, air) == (["解放碑"],) * 2
    path = tmp_path / "second.csv"
    path.write_text("station,district,aqi\n观音桥,江北区,40\n", encoding="utf-8")
    datastore_service.load_data(session, steward, air.code, path)
    assert _stations(api, air) == (["观音桥"],) * 2


def test_the_cached_resource_belongs_to_no_session(session, air):
    first = readcache.open_resource_by_id(session, air.id)
    assert first is not None and first is not air
    assert readcache.open_resource_by_code(session, air.code) is first
    assert [item.name for item in first.items] == [item["name"] for item in AIR_ITEMS]
    assert first not in session
    assert readcache.open_resource_by_id(session, "no-such-id") is None


def test_pages_of_the_same_shape_keep_their_own_values(api, air):
    """The page statements are kept per request: other filter values, other rows."""
    url = "/api/3/action/datastore_search"
    rid = datastore_resource_id(air.id)
    for district, station in (("渝中区", "解放碑"), ("江北区", "唐家沱"), ("渝中区", "解放碑")):
        answer = api.post(url, json={"resource_id": rid, "filters": {"district": district}})
        assert [r["station"] for r in answer.json()["result"]["records"]] == [station]
    for offset, station in ((0, "解放碑"), (1, "唐家沱"), (2, "虎溪")):
        answer = api.post(url, json={"resource_id": rid, "limit": 1, "offset": offset})
        assert [r["station"] for r in answer.json()["result"]["records"]] == [station]
