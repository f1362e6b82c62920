"""Administrators act on the catalog of their own jurisdiction only; a superuser on every
department's (issue 7, item 4)."""

from __future__ import annotations

from tests.catalog import fields
from tests.conftest import synthetic_uscc

API = "/api/v1/catalog/resources"


def draft_in(client, auth, make_user, department: str) -> str:
    steward = make_user("steward", department=department)
    response = client.post(API, headers=auth(steward), json=fields())
    assert response.status_code == 201, response.text
    return response.json()["code"]


def test_a_city_admin_governs_its_city_only(client, auth, make_user, make_department):
    cq = make_department(division_code="500000")
    cq_district = make_department(division_code="500103")
    sz = make_department(division_code="440300", uscc=synthetic_uscc("440300"))
    cq_admin = auth(make_user("admin", department=cq))
    district_code = draft_in(client, auth, make_user, cq_district)
    sz_code = draft_in(client, auth, make_user, sz)

    assert client.get(f"{API}/{district_code}", headers=cq_admin).status_code == 200
    changed = client.patch(f"{API}/{district_code}", headers=cq_admin, json={"summary": "改"})
    assert changed.status_code == 200, changed.text

    assert client.get(f"{API}/{sz_code}", headers=cq_admin).status_code == 404  # a draft
    listed = client.get(API, headers=cq_admin, params={"status": "draft"}).json()
    codes = {item["code"] for item in listed["items"]}
    assert district_code in codes and sz_code not in codes
    created = client.post(API, headers=cq_admin, json=fields(department=sz))
    assert created.status_code == 403 and created.json()["code"] == "not_resource_steward"

    superuser = auth(make_user("superuser", department=cq))
    changed = client.patch(f"{API}/{sz_code}", headers=superuser, json={"summary": "改"})
    assert changed.status_code == 200, changed.text


def test_published_resources_of_elsewhere_stay_read_only(client, auth, make_user,
                                                         make_department):
    sz = make_department(division_code="440300", uscc=synthetic_uscc("440300"))
    code = draft_in(client, auth, make_user, sz)
    sz_steward = make_user("steward", department=sz)
    assert client.post(f"{API}/{code}/publish", headers=auth(sz_steward)).status_code == 200
    cq_admin = auth(make_user("admin", department=make_department(division_code="500000")))
    assert client.get(f"{API}/{code}", headers=cq_admin).status_code == 200
    refused = client.patch(f"{API}/{code}", headers=cq_admin, json={"summary": "改"})
    assert refused.status_code == 403 and refused.json()["code"] == "not_resource_steward"
    data = client.get(f"{API}/{code}/data", headers=cq_admin)
    assert data.status_code == 403
