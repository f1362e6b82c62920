"""The API docs work on a network without internet, and can log in (issue 7, item 18)."""

from __future__ import annotations

import re

import pytest

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_nothing_from_outside(client, page):
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "//" not in html.replace("://", "").replace("<!--", "")  # no protocol-relative
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\s\"']+", html)
    assets = [a or b for a, b in URL.findall(html)]
    assert assets
    for asset in assets:
        assert asset.startswith("/"), asset
        fetched = client.get(asset)
        assert fetched.status_code == 200 and fetched.content, asset


def test_openapi_declares_the_password_flow(client):
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    (scheme,) = schemes.values()
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    me = document["paths"]["/api/v1/auth/me"]["get"]
    assert me["security"] == [{next(iter(schemes)): []}]


def test_the_authorize_button_logs_in(client, make_user):
    """What Swagger UI sends for the password flow: a form with grant_type=password."""
    user = make_user("requester", password="correct horse")
    response = client.post("/api/v1/auth/token", data={
        "grant_type": "password", "username": user, "password": "correct horse",
        "scope": "", "client_id": ""})
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == user
