"""Login, who-am-I, departments and users through the HTTP API."""

from __future__ import annotations

import pytest

from govdata.platform import service
from govdata.platform.errors import Unauthorized
from tests.conftest import synthetic_uscc


def login(client, username, password):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_login_then_me(client, make_user):
    user = make_user("steward", "approver", password="correct horse")
    response = login(client, user, "correct horse")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["roles"] == ["approver", "steward"]


def test_wrong_password_and_unknown_user_look_the_same(client, make_user):
    user = make_user("steward", password="correct horse")
    wrong = login(client, user, "wrong horse")
    unknown = login(client, "nobody-here", "wrong horse")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_unknown_user_costs_the_same_hash_work(session, settings, make_user, monkeypatch):
    from govdata.platform import passwords

    real = passwords.hasher()
    verified = []

    class CountingHasher:
        def hash(self, password):
            return real.hash(password)

        def verify(self, stored, password):
            verified.append(stored.split("$")[1:4])
            return real.verify(stored, password)

    monkeypatch.setattr(passwords, "hasher", lambda: CountingHasher())
    user = make_user("steward", password="correct horse")
    for name in (user, "nobody-at-all"):
        with pytest.raises(Unauthorized):
            service.login(session, settings, username=name, password="wrong horse")
    assert len(verified) == 2
    assert verified[0] == verified[1]  # same algorithm and cost parameters


def test_demo_accounts_refused_in_production(session, settings, make_user):
    user = service.get_user(session, make_user("steward", password="demo-password"))
    user.is_demo = True
    session.flush()
    assert service.login(session, settings, username=user.username, password="demo-password")
    production = settings.model_copy(update={"env": "production"})
    with pytest.raises(Unauthorized):
        service.login(session, production, username=user.username, password="demo-password")


def test_login_form_validation_is_problem_json(client):
    response = client.post("/api/v1/auth/token", data={"username": "x"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert response.json()["errors"][0]["loc"][-1] == "password"


def test_admin_creates_department_and_user(client, make_user, auth):
    admin = make_user("superuser")
    uscc = synthetic_uscc("440300")
    response = client.post("/api/v1/departments", headers=auth(admin), json={
        "code": "sz-tjj", "name": "深圳市统计局", "uscc": uscc, "division_code": "440300"})
    assert response.status_code == 201, response.text
    assert response.json()["uscc"] == uscc
    got = client.get("/api/v1/departments/sz-tjj", headers=auth(admin))
    assert got.json()["name"] == "深圳市统计局"
    response = client.post("/api/v1/users", headers=auth(admin), json={
        "username": "tjj-steward", "department_code": "sz-tjj", "roles": ["steward"],
        "password": "a long password"})
    assert response.status_code == 201
    assert response.json()["department"] == "sz-tjj"
    assert login(client, "tjj-steward", "a long password").status_code == 200


def test_department_uscc_check_character(client, make_user, auth):
    admin = make_user("admin")
    response = client.post("/api/v1/departments", headers=auth(admin), json={
        "code": "bad-uscc", "name": "校验位错误", "uscc": "91350100M000100Y4Z",
        "division_code": "350100"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "department_invalid"
    assert body["errors"][0]["loc"] == ["uscc"]


def test_duplicate_department_is_conflict(client, make_user, make_department, auth):
    admin = make_user("admin")
    code = make_department()
    response = client.post("/api/v1/departments", headers=auth(admin), json={
        "code": code, "name": "重复", "uscc": synthetic_uscc(), "division_code": "500000"})
    assert response.status_code == 409
    assert response.json()["code"] == "department_exists"


def test_unknown_role_and_unknown_department(client, make_user, make_department, auth):
    admin = make_user("admin")
    response = client.post("/api/v1/users", headers=auth(admin), json={
        "username": "u-role", "department_code": make_department(), "roles": ["king"]})
    assert response.status_code == 422 and response.json()["code"] == "role_unknown"
    response = client.post("/api/v1/users", headers=auth(admin), json={
        "username": "u-dept", "department_code": "missing", "roles": ["steward"]})
    assert response.status_code == 404 and response.json()["code"] == "department_not_found"


def test_departments_are_paged(client, make_user, make_department, auth):
    user = make_user("requester")
    for _ in range(3):
        make_department()
    page = client.get("/api/v1/departments?limit=2&offset=1", headers=auth(user)).json()
    assert page["limit"] == 2 and page["offset"] == 1 and len(page["items"]) == 2
    assert page["total"] >= 4
    too_many = client.get("/api/v1/departments?limit=1001", headers=auth(user))
    assert too_many.status_code == 422


def test_parent_department(session, make_department):
    parent = make_department()
    child = make_department(parent_code=parent)
    assert service.get_department(session, child).parent.code == parent
