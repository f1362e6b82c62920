"""Errors are problem+json everywhere; the operations endpoints answer."""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter

from govdata.platform.app import create_app
from govdata.platform.errors import RuleViolation


def assert_problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == status and body["code"] == code
    assert "Traceback" not in response.text
    return body


def test_unknown_route_is_problem_json(client):
    assert_problem(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_problem_json(client):
    assert_problem(client.delete("/api/v1/auth/me"), 405, "method_not_allowed")


def test_bad_json_body_is_problem_json(client, make_user, auth):
    admin = make_user("admin")
    headers = {**auth(admin), "content-type": "application/json"}
    body = assert_problem(client.post("/api/v1/departments", headers=headers, content=b"{not json"),
                          422, "validation_failed")
    assert body["errors"]
    body = assert_problem(client.post("/api/v1/departments", headers=auth(admin),
                                      json={"code": "Bad Code!"}), 422, "validation_failed")
    assert {tuple(e["loc"]) for e in body["errors"]} >= {("code",), ("name",), ("uscc",)}


def test_bad_query_parameter_is_problem_json(client, make_user, auth):
    auditor = make_user("auditor")
    assert_problem(client.get("/api/v1/audit/events?since=yesterday", headers=auth(auditor)),
                   422, "validation_failed")


def test_unexpected_error_is_a_clean_500(settings, database):
    router = APIRouter()

    @router.get("/boom")
    def boom():
        raise ZeroDivisionError("secret internals")

    @router.get("/rule")
    def rule():
        raise RuleViolation("不合规", code="some_rule", errors=[{"loc": ["x"], "msg": "y"}])

    from fastapi.testclient import TestClient

    app = create_app(settings, routers=[router], database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        body = assert_problem(client.get("/boom"), 500, "internal_error")
        assert "secret internals" not in json.dumps(body)
        assert assert_problem(client.get("/rule"), 422, "some_rule")["errors"] == [
            {"loc": ["x"], "msg": "y"}]


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_readyz_fails_when_migrations_are_behind(settings, tmp_path):
    from fastapi.testclient import TestClient

    from govdata.platform import migrate
    from govdata.platform.db import Database

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    migrate.upgrade(url, "0001")
    db = Database(url)
    with TestClient(create_app(settings, database=db)) as client:
        assert_problem(client.get("/readyz"), 503, "migrations_pending")
    db.dispose()


def test_metrics_are_prometheus_text(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "govdata_http_requests_total" in response.text
    assert 'route="/healthz"' in response.text


def test_request_id_and_one_json_log_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="govdata.access"):
        response = client.get("/healthz", headers={"X-Request-ID": "req-42"})
    assert response.headers["x-request-id"] == "req-42"
    lines = [r for r in caplog.records if r.name == "govdata.access"]
    assert len(lines) == 1
    assert lines[0].fields["request_id"] == "req-42" and lines[0].fields["status"] == 200
    from govdata.platform.observability import JsonFormatter

    assert json.loads(JsonFormatter().format(lines[0]))["path"] == "/healthz"


def test_openapi_and_docs(client):
    assert client.get("/openapi.json").json()["info"]["title"].startswith("政务数据")
    assert client.get("/docs").status_code == 200


def test_huge_offsets_are_refused_not_overflowed(client, make_user, auth):
    """Found by schemathesis: an offset past 64-bit integers used to reach the database."""
    user = make_user("auditor")
    for path in ("/api/v1/departments", "/api/v1/audit/events", "/api/v1/catalog/negative-list"):
        response = client.get(path, params={"offset": 10**20}, headers=auth(user))
        assert_problem(response, 422, "validation_failed")
