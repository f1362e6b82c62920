"""/readyz when the database cannot be reached: 503 problem+json, never a 500 or a hang."""

from __future__ import annotations

from fastapi.testclient import TestClient

from govdata.main import create_app
from govdata.platform.db import Database
from tests.faultkit import free_port


def unreachable_url(dialect: str, tmp_path) -> str:
    if dialect == "postgresql":  # a loopback port nobody listens on
        return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/govdata?connect_timeout=3"
    (tmp_path / "a-directory").mkdir()
    return f"sqlite:///{tmp_path / 'a-directory'}"  # SQLite cannot open a directory


def test_readyz_with_the_database_down(settings, dialect, tmp_path):
    db = Database(unreachable_url(dialect, tmp_path))
    with TestClient(create_app(settings, database=db), raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200  # alive, but not ready
        response = client.get("/readyz")
    db.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 503 and body["code"] in {"database_unreachable",
                                                      "database_unavailable"}
    assert "数据库" in body["detail"] and "Traceback" not in response.text
