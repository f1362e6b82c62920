"""Fixtures for the console: the exchange's departments and people (with passwords), and a
signed-in browser-like client per person (its own cookies)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.exchange.conftest import (  # noqa: F401 - fixtures shared with the exchange tests
    ITEMS,
    approver,
    consumer,
    load,
    outsider,
    provider,
    requester,
    shared,
    third,
)

PASSWORD = "a long password"
HTML = {"Accept": "text/html,application/xhtml+xml"}


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Browser:
    """A TestClient with a person's cookies; ``post`` fills the CSRF token from a page."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.token = ""

    def get(self, path: str, **kwargs):
        response = self.client.get(path, headers=HTML, **kwargs)
        if "csrf_token" in response.text:
            self.token = csrf_token(response.text)
        return response

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        if not self.token:
            self.get("/console/login")
        body = {**(data or {}), **({"csrf_token": self.token} if csrf else {})}
        return self.client.post(path, data=body, headers=HTML, follow_redirects=False,
                                **kwargs)


@pytest.fixture
def browser(app, connection) -> Iterator[Callable[..., Browser]]:
    from govdata.catalog.datastore.api import stream_bind

    app.dependency_overrides[stream_bind] = lambda: connection  # downloads see the test's data
    clients: list[TestClient] = []

    def open_as(username: str | None = None) -> Browser:
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client.__enter__())
        person = Browser(client)
        if username:
            person.get("/console/login")
            signed = person.post("/console/login", {"username": username,
                                                   "password": PASSWORD})
            assert signed.status_code == 303, signed.text
        return person

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def person(make_user) -> Callable[..., str]:
    """A user with a password: ``person("steward", department=code)``."""

    def make(*roles: str, department: str | None = None) -> str:
        return make_user(*roles, department=department, password=PASSWORD)

    return make
