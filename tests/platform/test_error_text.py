"""Error text is Chinese with English in brackets everywhere (issue 7, item 19)."""

from __future__ import annotations

import re

import pytest

CHINESE = re.compile(r"[\u4e00-\u9fff]")
BRACKETED_ENGLISH = re.compile(r"\([^()]*[A-Za-z][^()]*\)")


def bilingual(text: str) -> bool:
    return bool(CHINESE.search(text)) and bool(BRACKETED_ENGLISH.search(text))


def test_validation_errors(client, make_user, auth):
    admin = make_user("admin")
    response = client.post("/api/v1/users", headers=auth(admin), json={
        "username": "x", "roles": [], "password": "short"})
    assert response.status_code == 422
    body = response.json()
    assert bilingual(body["detail"])
    assert body["errors"] and all(bilingual(error["msg"]) for error in body["errors"])
    missing = next(e for e in body["errors"] if e["loc"] == ["department_code"])
    assert missing["msg"].startswith("必填")


@pytest.mark.parametrize("payload", [b'{"username": ', b"not json at all", b'{"a": 1,}'])
def test_a_malformed_body(client, make_user, auth, payload):
    admin = make_user("admin")
    response = client.post("/api/v1/users", content=payload, headers={
        **auth(admin), "Content-Type": "application/json"})
    assert response.status_code == 422
    body = response.json()
    assert bilingual(body["detail"]) and "JSON" in body["detail"]
    assert all(bilingual(error["msg"]) for error in body["errors"])


def test_a_wrong_password(client, make_user):
    user = make_user("steward", password="correct horse")
    response = client.post("/api/v1/auth/token", data={"username": user, "password": "wrong!!"})
    assert response.status_code == 401 and bilingual(response.json()["detail"])


def test_routing_errors(client):
    missing = client.get("/api/v1/no-such-route")
    assert missing.status_code == 404 and CHINESE.search(missing.json()["title"])
    assert bilingual(missing.json()["detail"])
    wrong_method = client.delete("/healthz")
    assert wrong_method.status_code == 405 and bilingual(wrong_method.json()["detail"])


def test_query_parameter_errors(client, make_user, auth):
    response = client.get("/api/v1/departments", params={"limit": "many"},
                          headers=auth(make_user("requester")))
    assert response.status_code == 422
    assert all(bilingual(error["msg"]) for error in response.json()["errors"])
