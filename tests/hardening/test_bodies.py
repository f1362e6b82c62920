"""Issue 7 items 9 and 10: JSON bodies bounded in size, catalog text fields in length,
duplicate keys, lone surrogates and control characters refused, on every JSON route."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from fastapi import APIRouter, File, Form, UploadFile

from govdata.catalog import rules
from govdata.platform import service
from govdata.platform.bodies import GUARDED, guard_bodies
from govdata.platform.errors import NotFound
from tests.catalog import fields

RESOURCES = "/api/v1/catalog/resources"
JSON = {"content-type": "application/json"}


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
def steward(make_user, make_department) -> str:
    return make_user("steward", department=make_department(name="重庆市生态环境局"))


@pytest.fixture
def admin(make_user) -> str:
    return make_user("admin")


def raw_json(text: str) -> bytes:
    return text.encode("utf-8")


def test_duplicate_key_in_a_user_body_is_refused_not_the_last_taken(
        client, auth, admin, make_department, session):
    department = make_department()
    body = (f'{{"username": "dupkey", "department_code": "{department}", '
            '"roles": ["requester"], "roles": ["admin"]}')
    response = client.post("/api/v1/users", headers={**auth(admin), **JSON},
                           content=raw_json(body))
    found = problem(response, 422, "validation_failed")
    assert "roles" in found["detail"] and found["errors"][0]["loc"] == ["roles"]
    with pytest.raises(NotFound):
        service.get_user(session, "dupkey")


def test_duplicate_keys_nested_in_a_resource_are_refused(client, auth, steward):
    body = json.dumps(fields())[:-1] + ', "items": []}'
    problem(client.post(RESOURCES, headers={**auth(steward), **JSON}, content=raw_json(body)),
            422, "validation_failed")


@pytest.mark.parametrize("escaped", ["\\ud800", "\\udfff", "a\\u0000b", "\\u0007", "\\u001b"])
def test_lone_surrogates_and_control_characters_in_a_json_body_are_refused(
        client, auth, steward, escaped):
    body = json.dumps(fields(name="城市空气日报"), ensure_ascii=False)
    body = body.replace("城市空气日报", f"城市{escaped}日报")
    response = client.post(RESOURCES, headers={**auth(steward), **JSON}, content=raw_json(body))
    found = problem(response, 422, "validation_failed")
    assert found["errors"][0]["loc"] == ["name"]
    assert client.get(RESOURCES, headers=auth(steward)).json()["total"] == 0


def test_multi_line_text_stays_allowed(client, auth, steward):
    response = client.post(RESOURCES, headers=auth(steward),
                           json=fields(summary="第一行\n第二行\t制表\r\n第三行"))
    assert response.status_code == 201, response.text
    assert response.json()["summary"] == "第一行\n第二行\t制表\r\n第三行"


@pytest.mark.parametrize("field", ["name", "summary", "share_condition", "legal_basis"])
def test_control_characters_refused_by_the_catalog_rules_for_every_door(settings, field):
    resource = rules.normalize({**fields(), field: "正常\x00文本", "items": fields()["items"]})
    problems = rules.check(resource, settings)
    assert any(p["loc"] == [field] and p["code"] == "value_invalid" for p in problems), problems


def test_catalog_import_refuses_a_nul_in_a_name(client, auth, steward):
    record = {**fields(), "name": "空气\x00日报"}
    upload = json.dumps([record], ensure_ascii=False).encode()
    response = client.post("/api/v1/catalog/import", headers=auth(steward),
                           files={"file": ("catalog.json", upload, "application/json")})
    assert response.status_code == 422, response.text
    assert client.get(RESOURCES, headers=auth(steward)).json()["total"] == 0


def test_a_huge_json_body_is_413_before_it_is_read(client, auth, steward):
    summary = "长" * (3 << 20)
    response = client.post(RESOURCES, headers=auth(steward), json=fields(summary=summary))
    problem(response, 413, "body_too_large")


def test_the_body_limit_is_a_setting(client, auth, steward, settings):
    settings.json_body_max_bytes = 2000
    problem(client.post(RESOURCES, headers=auth(steward), json=fields(summary="长" * 1000)),
            413, "body_too_large")
    assert client.post(RESOURCES, headers=auth(steward), json=fields()).status_code == 201


def test_a_streamed_body_without_length_is_cut_at_the_limit(client, auth, steward, settings):
    settings.json_body_max_bytes = 2000

    def chunks():
        yield b'{"summary": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    problem(client.post(RESOURCES, headers={**auth(steward), **JSON}, content=chunks()),
            413, "body_too_large")


@pytest.mark.parametrize(("field", "limit"), [
    ("name", 200), ("summary", 4000), ("share_condition", 1000), ("legal_basis", 1000),
    ("open_condition", 1000), ("category_path", 200), ("classification", 32),
])
def test_every_catalog_text_field_has_a_length(client, auth, steward, field, limit):
    too_long = fields(**{field: "长" * (limit + 1)})
    response = client.post(RESOURCES, headers=auth(steward), json=too_long)
    found = problem(response, 422, response.json().get("code"))
    assert any(e["loc"] == [field] for e in found["errors"]), found


def test_a_summary_at_its_length_is_stored(client, auth, steward):
    response = client.post(RESOURCES, headers=auth(steward), json=fields(summary="长" * 4000))
    assert response.status_code == 201, response.text


def test_user_bodies_are_bounded(client, auth, admin, make_department):
    department = make_department()
    many = {"username": "manyroles", "department_code": department,
            "roles": ["requester"] * 2_000_000}
    problem(client.post("/api/v1/users", headers=auth(admin), json=many), 413, "body_too_large")
    eleven = {**many, "roles": [f"role{i}" for i in range(11)]}
    problem(client.post("/api/v1/users", headers=auth(admin), json=eleven), 422,
            "validation_failed")
    long_role = {**many, "roles": ["r" * 33]}
    problem(client.post("/api/v1/users", headers=auth(admin), json=long_role), 422,
            "validation_failed")


def test_ckan_action_bodies_use_the_strict_loader(client):
    body = raw_json('{"q": "空气", "q": "水"}')
    response = client.post("/api/3/action/package_search", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert "JSON Error" in response.json() and "duplicate key" in response.json()
    surrogate = client.post("/api/3/action/package_search", content=raw_json('{"q": "\\ud800"}'),
                            headers=JSON)
    assert surrogate.status_code == 400 and "lone surrogate" in surrogate.json()


def test_routes_taking_files_are_uploads_and_keep_their_own_limits():
    router = APIRouter()

    @router.post("/upload")
    def upload(file: Annotated[UploadFile, File()], note: Annotated[str, Form()]) -> None: ...

    @router.post("/form")
    def form(note: Annotated[str, Form()]) -> None: ...

    guard_bodies([router])
    assert {route.path: getattr(route, GUARDED, False) for route in router.routes} == {
        "/upload": False, "/form": True}
