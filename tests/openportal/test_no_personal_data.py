"""RULES.md §4 on every public path: every public route is requested, in every format it
answers in, for a dataset full of personal data, and no unmasked value shows anywhere.

A public route is one that carries the rate-limit dependency; each must be in ``PLAN``
(a route added without a plan fails ``test_every_public_route_is_in_the_plan``)."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pytest

from govdata.openportal import accounts, apikeys, applications
from govdata.openportal.identifiers import datastore_resource_id
from govdata.openportal.ratelimit import limit_rate
from govdata.platform import clock
from govdata.platform.principal import Principal
from govdata.platform.settings import get_settings

from .conftest import PEOPLE_ITEMS, PEOPLE_ROWS, name_of

# What must never be seen: names, ID numbers, phones, the part of each address after its
# district, bank cards, secret notes, and the names of the items that are not opened.
FORBIDDEN = [
    *(row[2] for row in PEOPLE_ROWS), *(row[3] for row in PEOPLE_ROWS),
    *(row[4] for row in PEOPLE_ROWS), *(row[5][len("重庆市渝中区"):] for row in PEOPLE_ROWS),
    *(row[6] for row in PEOPLE_ROWS), *(row[7] for row in PEOPLE_ROWS),
    "secret_note", "internal_score",
]


def ckan_reads(dataset: str, resource_id: str, department: str) -> list[tuple[str, dict]]:
    """Every read action of the CKAN API, with the arguments that reach the dataset."""
    calls = [
        ("status_show", {}), ("package_list", {}), ("package_show", {"id": dataset}),
        ("package_search", {"q": "低保", "facet.field": ["organization", "tags"]}),
        ("package_search", {"fq": f"organization:{department}"}),
        ("current_package_list_with_resources", {}), ("resource_show", {"id": resource_id}),
        ("organization_list", {"all_fields": True}),
        ("organization_show", {"id": department, "include_datasets": True}),
        ("group_list", {"all_fields": True}), ("group_show", {"id": "shehui-baozhang"}),
        ("tag_list", {"all_fields": True}), ("tag_show", {"id": "低保"}), ("license_list", {}),
        ("datastore_info", {"id": resource_id}),
    ]
    for records_format in ("objects", "lists", "csv", "tsv"):
        calls.append(("datastore_search", {"resource_id": resource_id,
                                           "records_format": records_format}))
    calls.append(("datastore_search", {"resource_id": resource_id, "q": "渝中区"}))
    return calls


def plan(dataset: str, resource_id: str, department: str) -> dict[str, list[tuple]]:
    """For each public route path: the requests (method, url, params or JSON) to make."""
    records = f"/api/v1/open/datasets/{dataset}/records"
    download = f"/api/v1/open/datasets/{dataset}/download"
    dump = f"/datastore/dump/{resource_id}"
    actions = [("POST", f"/api/3/action/{name}", {"json": body})
               for name, body in ckan_reads(dataset, resource_id, department)]
    return {
        "/api/v1/open/datasets": [("GET", "/api/v1/open/datasets", {}),
                                  ("GET", "/api/v1/open/datasets", {"params": {"q": "低保"}})],
        "/api/v1/open/datasets/{name}": [("GET", f"/api/v1/open/datasets/{dataset}", {})],
        "/api/v1/open/datasets/{name}/records": [
            ("GET", records, {}), ("GET", records, {"params": {"q": "渝中区", "limit": 1000}}),
            ("GET", records, {"params": {"fields": "person_name,phone,address"}})],
        "/api/v1/open/datasets/{name}/download": [
            ("GET", download, {"params": {"format": fmt, "header": header}})
            for fmt in ("csv", "json", "xlsx") for header in ("name", "title")],
        "/api/v1/open/departments/{department}/datasets": [
            ("GET", f"/api/v1/open/departments/{department}/datasets", {})],
        "/api/v1/open/stats": [("GET", "/api/v1/open/stats", {})],
        "/api/v1/open/licences": [("GET", "/api/v1/open/licences", {})],
        "/api": [("GET", "/api", {})], "/api/3": [("GET", "/api/3", {})],
        "/api/action/{name}": [("GET", "/api/action/package_show", {"params": {"id": dataset}}),
                               *[(m, u.replace("/api/3/", "/api/"), k) for m, u, k in actions]],
        "/api/action/{name}/": [("GET", "/api/action/package_show/",
                                 {"params": {"id": dataset}})],
        "/api/3/action/{name}": actions,
        "/api/3/action/{name}/": [("POST", "/api/3/action/datastore_search/",
                                   {"json": {"resource_id": resource_id}})],
        "/datastore/dump/{resource_id}": [("GET", dump, {"params": {"format": fmt}})
                                          for fmt in ("csv", "tsv", "json", "xml")],
        "/catalog.jsonld": [("GET", "/catalog.jsonld", {})],
        "/catalog.ttl": [("GET", "/catalog.ttl", {})],
        "/dataset/{name}.jsonld": [("GET", f"/dataset/{dataset}.jsonld", {})],
        "/dataset/{name}.ttl": [("GET", f"/dataset/{dataset}.ttl", {})],
        "/data.json": [("GET", "/data.json", {})],
        # the pages
        "/": [("GET", "/", {})],
        "/datasets": [("GET", "/datasets", {}), ("GET", "/datasets", {"params": {"q": "低保"}})],
        "/datasets/{name}": [("GET", f"/datasets/{dataset}", {}),
                             ("GET", f"/datasets/{dataset}", {"params": {"page": 2}})],
        "/departments/{code}": [("GET", f"/departments/{department}", {})],
        "/coverage": [("GET", "/coverage", {})],
        "/developers": [("GET", "/developers", {})],
        "/datasets/{name}/report": [("GET", f"/datasets/{dataset}/report", {})],
        "/datasets/{name}/apply": [("GET", f"/datasets/{dataset}/apply", {})],
        "/requests": [("GET", "/requests", {})],
        "/requests/new": [("GET", "/requests/new", {})],
        "/account/sign-in": [("GET", "/account/sign-in", {})],
        "/account/sign-up": [("GET", "/account/sign-up", {})],
        "/account": [("GET", "/account", {})],
    }


# Public routes that show no dataset's data: they change it (stewards only), or they are
# the people side (accounts, applications, keys, data requests, error reports), whose
# keyed reads of conditional data are checked in test_keyed_reads_show_no_personal_data.
PEOPLE_SIDE = {
    ("POST", "/api/v1/open/accounts"), ("POST", "/api/v1/open/accounts/token"),
    ("DELETE", "/api/v1/open/accounts/token"), ("GET", "/api/v1/open/accounts/me"),
    ("GET", "/api/v1/open/applications"), ("POST", "/api/v1/open/applications"),
    ("GET", "/api/v1/open/applications/{application_id}"),
    ("POST", "/api/v1/open/applications/{application_id}/keys"),
    ("GET", "/api/v1/open/keys"), ("POST", "/api/v1/open/keys/{key_id}/revoke"),
    ("GET", "/api/v1/open/provider/applications"),
    ("GET", "/api/v1/open/provider/applications/{application_id}"),
    *(("POST", f"/api/v1/open/provider/applications/{{application_id}}/{verb}")
      for verb in ("approve", "reject", "revoke")),
    ("GET", "/api/v1/open/data-requests"), ("POST", "/api/v1/open/data-requests"),
    ("GET", "/api/v1/open/data-requests/{request_id}"),
    ("POST", "/api/v1/open/data-requests/{request_id}/answer"),
    ("GET", "/api/v1/open/error-reports"), ("POST", "/api/v1/open/error-reports"),
    ("GET", "/api/v1/open/error-reports/{report_id}"),
    ("POST", "/api/v1/open/error-reports/{report_id}/answer"),
}
# The people side's pages: forms that change state, and status pages of one request,
# report or application (no dataset's data; their masking is that of the API above).
PEOPLE_PAGES = {
    ("POST", "/account/sign-up"), ("POST", "/account/sign-in"), ("POST", "/account/sign-out"),
    ("POST", "/datasets/{name}/apply"), ("GET", "/account/applications/{application_id}"),
    ("POST", "/account/applications/{application_id}/keys"),
    ("POST", "/account/keys/{key_id}/revoke"), ("POST", "/requests"),
    ("GET", "/requests/{request_id}"), ("POST", "/datasets/{name}/report"),
    ("GET", "/reports/{report_id}"),
}
NOT_READS = {("PATCH", "/api/v1/open/datasets/{name}"), *PEOPLE_SIDE, *PEOPLE_PAGES}


def all_routes(routes):
    """Every route, also inside included routers (FastAPI ≥ 0.13x nests them)."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from all_routes(nested.routes)
        else:
            yield route


def public_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in all_routes(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue
        calls = {d.call for d in dependant.dependencies}
        if limit_rate in calls:
            found |= {(method, route.path) for method in route.methods}
    return found


def text_of(response) -> str:
    kind = response.headers.get("content-type", "")
    if "spreadsheetml" in kind:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        return "\n".join(str(cell.value) for row in sheet.iter_rows() for cell in row)
    if "json" in kind:
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode("utf-8-sig")


def test_every_public_route_is_in_the_plan(app, people):
    assert len(public_routes(app)) > 20  # the scan sees the routes
    routes = plan("x", "y", "z")
    missing = {(m, p) for m, p in public_routes(app) - NOT_READS if p not in routes}
    assert not missing, f"public routes without a masking check: {sorted(missing)}"


@pytest.mark.parametrize("path", sorted(plan("x", "y", "z")))
def test_no_public_route_shows_personal_data(api, people, dept, path):
    requests = plan(name_of(people), datastore_resource_id(people.id), dept)[path]
    assert requests
    seen = []
    for method, url, options in requests:
        response = api.request(method, url, **options)
        assert response.status_code == 200, (url, options, response.text[:300])
        body = text_of(response)
        leaked = [value for value in FORBIDDEN if value in body]
        assert not leaked, (url, options, leaked)
        seen.append(body)
    if path in ("/api/v1/open/datasets/{name}/records", "/datastore/dump/{resource_id}",
                "/datasets/{name}"):
        assert any("张**" in body for body in seen)  # the data was there, masked


def test_the_scan_finds_unmasked_data(api, people, auth, steward_name):
    """The scan is not blind: the stewards' own (unmasked) view of the same data holds
    every value the public routes must not show."""
    response = api.get(f"/api/v1/catalog/resources/{people.code}/data",
                       headers=auth(steward_name), params={"limit": 100})
    body = text_of(response)
    assert [value for value in FORBIDDEN if value not in body] == []


def test_keyed_reads_show_no_personal_data(api, session, make_dataset, steward, dept,
                                           make_user):
    """An approved applicant's key to a conditional dataset, for every item, reads it
    masked on every data path, as anyone reads unconditional data."""
    resource = make_dataset(PEOPLE_ITEMS, PEOPLE_ROWS, name="重庆市低保有条件名册",
                            open_type="conditional")
    account = accounts.register(session, email="k@example.cn", password="长城-secret-2026",
                                name="测试")
    public = accounts.as_principal(account)
    wanted = [item["name"] for item in PEOPLE_ITEMS if item["name"] not in
              ("secret_note", "internal_score")]
    application = applications.apply(
        session, account, get_settings(), dataset=name_of(resource), principal=public,
        purpose="研究低保对象的区县分布情况", data_items=wanted,
        undertaking="承诺仅用于研究, 不向第三方提供。", until=clock.today() + dt.timedelta(days=9))
    approver = Principal(username=make_user("approver", department=dept), department=dept,
                         roles=frozenset({"approver"}))
    applications.approve(session, approver, application.id)
    _, key = apikeys.issue(session, account, application.id, principal=public)
    name, resource_id = name_of(resource), datastore_resource_id(resource.id)
    calls = [("GET", f"/api/v1/open/datasets/{name}/records", {}),
             *[("GET", f"/api/v1/open/datasets/{name}/download", {"params": {"format": f}})
               for f in ("csv", "json", "xlsx")],
             *[("POST", "/api/3/action/datastore_search",
                {"json": {"resource_id": resource_id, "records_format": f}})
               for f in ("objects", "csv")],
             ("GET", f"/datastore/dump/{resource_id}", {})]
    for method, url, options in calls:
        response = api.request(method, url, headers={"Authorization": key}, **options)
        assert response.status_code == 200, (url, response.text[:300])
        body = text_of(response)
        assert "张**" in body, url
        assert not [value for value in FORBIDDEN if value in body], url
