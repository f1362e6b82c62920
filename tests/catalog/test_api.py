"""The catalog through HTTP: rules, lifecycle, history and who may do what."""

from __future__ import annotations

import pytest

from tests.catalog import basic_fields, fields, item

API = "/api/v1/catalog/resources"


@pytest.fixture
def dept(make_department) -> str:
    return make_department(name="重庆市生态环境局")


@pytest.fixture
def owner(make_user, dept) -> str:
    return make_user("steward", department=dept)


def post(client, headers, **overrides):
    return client.post(API, headers=headers, json=fields(**overrides))


def created(client, headers, **overrides) -> dict:
    response = post(client, headers, **overrides)
    assert response.status_code == 201, response.text
    return response.json()


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


def test_register_read_publish_retire(client, auth, owner, dept):
    body = created(client, auth(owner), name="城市空气质量日报", classification="301002",
                   tags=["空气", "aqi"], related_codes=["101001/000001"])
    code = body["code"]
    assert code == "301002/000001"
    assert body["status"] == "draft" and body["version"] == 1
    assert body["department"] == dept and body["department_name"] == "重庆市生态环境局"
    assert body["items"][0] == {"name": "station", "title": "监测站点", "data_type": "C",
                                "length": 50, "required": False, "is_basic": False,
                                "sensitivity": "none", "share_type": None, "open_type": None}
    got = client.get(f"{API}/{code}", headers=auth(owner))
    assert got.status_code == 200 and got.json()["tags"] == ["空气", "aqi"]

    published = client.post(f"{API}/{code}/publish", headers=auth(owner))
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published" and published.json()["published_on"]
    problem(client.post(f"{API}/{code}/publish", headers=auth(owner)), 409,
            "resource_already_published")

    patched = client.patch(f"{API}/{code}", headers=auth(owner), json={"summary": "改过的摘要"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == "published" and patched.json()["version"] == 3

    retired = client.post(f"{API}/{code}/retire", headers=auth(owner),
                          json={"reason": "职责调整"})
    assert retired.json()["status"] == "retired" and retired.json()["status_label"] == "已停用"
    problem(client.patch(f"{API}/{code}", headers=auth(owner), json={"summary": "x"}), 409,
            "resource_retired")
    problem(client.post(f"{API}/{code}/publish", headers=auth(owner)), 409, "resource_retired")
    problem(client.post(f"{API}/{code}/retire", headers=auth(owner)), 409, "resource_retired")

    history = client.get(f"{API}/{code}/history", headers=auth(owner), params={"limit": 2})
    assert history.status_code == 200
    page = history.json()
    assert page["total"] == 4 and page["limit"] == 2 and page["offset"] == 0
    assert [v["change"] for v in page["items"]] == ["retire", "update"]
    assert page["items"][1]["snapshot"]["summary"] == "改过的摘要"
    assert page["items"][0]["actor"] == owner


@pytest.mark.parametrize(("overrides", "code", "loc"), [
    ({"share_type": "none"}, "legal_basis_required", ["legal_basis"]),
    ({"share_type": "conditional"}, "share_condition_required", ["share_condition"]),
    ({"open_type": "conditional"}, "open_condition_required", ["open_condition"]),
    ({"classification": "101001"}, "classification_invalid", ["classification"]),
    ({"resource_class": "theme", "classification": "201001"}, "theme_required", ["theme"]),
    ({"update_cycle": "每两天"}, "value_not_allowed", ["update_cycle"]),
    ({"share_method": "传真"}, "value_not_allowed", ["share_method"]),
    ({"format_category": "纸质"}, "value_not_allowed", ["format_category"]),
    ({"items": [item(name="_x")]}, "item_name_invalid", ["items", 0, "name"]),
    ({"items": [item(data_type="Z")]}, "value_not_allowed", ["items", 0, "data_type"]),
    ({"items": [item(sensitivity="secret", open_type="conditional")]},
     "secret_item_cannot_open", ["items", 0, "open_type"]),
])
def test_rules_answer_problem_json(client, auth, owner, overrides, code, loc):
    body = problem(post(client, auth(owner), **overrides), 422, code)
    assert body["errors"][0]["loc"] == loc
    assert body["errors"][0]["msg"]


def test_basic_resource_must_be_unconditional_over_http(client, auth, owner):
    response = client.post(API, headers=auth(owner), json=basic_fields(
        share_type="conditional", share_condition="仅限"))
    problem(response, 422, "basic_resource_must_be_unconditional")


def test_setting_conditional_needs_legal_basis(client, auth, owner, settings):
    settings.conditional_share_needs_legal_basis = True
    try:
        body = problem(post(client, auth(owner), share_type="conditional",
                            share_condition="仅限执法"), 422, "legal_basis_required")
        assert body["errors"][0]["loc"] == ["legal_basis"]
    finally:
        settings.conditional_share_needs_legal_basis = False


def test_schema_errors_are_problem_json(client, auth, owner):
    response = client.post(API, headers=auth(owner), json={**fields(), "colour": "red"})
    problem(response, 422, "validation_failed")
    response = client.post(API, headers=auth(owner), json={"name": "只有名字"})
    problem(response, 422, "validation_failed")


def test_same_name_conflicts(client, auth, owner):
    created(client, auth(owner), name="重名资源")
    problem(post(client, auth(owner), name="重名资源"), 409, "resource_name_exists")


def test_permission_matrix(client, auth, make_user, make_department, owner, dept):
    other_dept = make_department()
    outsider = make_user("steward", department=other_dept)
    requester = make_user("requester", department=dept)
    colleague = make_user("approver", department=dept)
    admin = make_user("admin", department=other_dept)
    auditor = make_user("auditor", department=other_dept)

    problem(client.get(API), 401, "token_missing")
    problem(post(client, auth(requester)), 403, "not_resource_steward")
    problem(post(client, auth(outsider), department=dept), 403, "not_resource_steward")
    code = created(client, auth(owner))["code"]

    # A draft: its department, admins and auditors see it; to others it does not exist.
    for user in (owner, requester, colleague, admin, auditor):
        assert client.get(f"{API}/{code}", headers=auth(user)).status_code == 200, user
    problem(client.get(f"{API}/{code}", headers=auth(outsider)), 404, "resource_not_found")
    problem(client.get(f"{API}/{code}/history", headers=auth(outsider)), 404,
            "resource_not_found")
    problem(client.post(f"{API}/{code}/publish", headers=auth(outsider)), 404,
            "resource_not_found")
    problem(client.post(f"{API}/{code}/publish", headers=auth(requester)), 403,
            "not_resource_steward")

    assert client.post(f"{API}/{code}/publish", headers=auth(owner)).status_code == 200
    assert client.get(f"{API}/{code}", headers=auth(outsider)).status_code == 200
    problem(client.patch(f"{API}/{code}", headers=auth(outsider), json={"summary": "x"}), 403,
            "not_resource_steward")
    problem(client.post(f"{API}/{code}/retire", headers=auth(colleague)), 403,
            "not_resource_steward")
    # The platform administrator may correct any department's entry (audited).
    patched = client.patch(f"{API}/{code}", headers=auth(admin), json={"summary": "管理员更正"})
    assert patched.status_code == 200
    admin_made = client.post(API, headers=auth(admin), json=fields(department=dept))
    assert admin_made.status_code == 201 and admin_made.json()["department"] == dept


def test_unknown_codes_and_suffixes(client, auth, owner):
    problem(client.get(f"{API}/301001/999999", headers=auth(owner)), 404, "resource_not_found")
    code = created(client, auth(owner))["code"]
    assert client.get(f"{API}/{code}/publish", headers=auth(owner)).status_code == 405
    assert client.get(f"{API}/{code}/nothing-here", headers=auth(owner)).status_code == 404


def test_patch_replaces_items_and_checks_rules(client, auth, owner):
    code = created(client, auth(owner))["code"]
    response = client.patch(f"{API}/{code}", headers=auth(owner), json={"items": [
        item("aqi", "空气质量指数", data_type="I", length=4, required=True),
        item("station", "监测站点")]})
    assert response.status_code == 200, response.text
    assert [i["name"] for i in response.json()["items"]] == ["aqi", "station"]
    assert response.json()["items"][0]["required"] is True
    problem(client.patch(f"{API}/{code}", headers=auth(owner), json={"share_type": "none"}),
            422, "legal_basis_required")
    problem(client.patch(f"{API}/{code}", headers=auth(owner), json={"name": None}), 422,
            "field_required")
    assert client.get(f"{API}/{code}", headers=auth(owner)).json()["version"] == 2


def test_every_change_is_in_the_audit_ledger(client, auth, owner, make_user):
    code = created(client, auth(owner))["code"]
    client.post(f"{API}/{code}/publish", headers=auth(owner))
    auditor = make_user("auditor")
    events = client.get("/api/v1/audit/events", headers=auth(auditor),
                        params={"resource": code}).json()
    assert [e["action"] for e in events["items"]] == ["catalog.resource.publish",
                                                      "catalog.resource.create"]
    assert events["items"][0]["entry"]["version"] == 2
