"""Issue 12 item 2: the authorisation matrix, derived from the app's route table.

Every route (``app.routes``, with the routers included in them) must have its designed
outcome in ``expectations.TABLE``; each is tried by every actor (anonymous, a public account,
steward, requester, approver, auditor, admin, superuser of our department) against objects
of our department, a peer department of our jurisdiction and departments of others, of every
share/open type, as drafts and published. Each answer must be the designed one; a refusal is
problem+json (an HTML page or a sign-in redirect on pages), a 403 is on the ledger, and no
answer, allowed or refused, names a resource or an exchange record the actor may not see."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.routing import Mount, Route

from govdata.console.auth import COOKIE as CONSOLE_COOKIE
from govdata.openportal.deps import SESSION_COOKIE
from govdata.platform.models import AuditEntry
from govdata.platform.web import csrf
from tests.openportal.test_no_personal_data import all_routes

from .expectations import (
    ALLOW,
    LOGIN,
    RELATIONS,
    STAFF,
    TABLE,
    Expect,
    oversees,
    sees,
    writes,
)
from .world import ACTORS, Target, World, exchange_marker, marker

SAFE = {"GET", "HEAD", "OPTIONS"}
STAFF_AUDIENCES = {"staff", "console"}
BINARY = ("spreadsheetml", "octet-stream", "zip")


def route_table(app) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves (static mounts aside)."""
    found = set()
    for route in all_routes(app.routes):
        if isinstance(route, Mount):
            continue
        assert isinstance(route, APIRoute | Route), route
        found |= {(method, route.path) for method in route.methods}
    return found


def test_every_route_is_in_the_table(surface_app):
    routes = route_table(surface_app)
    missing = sorted(routes - TABLE.keys())
    assert not missing, ("routes without their designed outcome in "
                         f"tests/surface/expectations.py TABLE: {missing}")
    assert not sorted(TABLE.keys() - routes), "TABLE names routes the app does not serve"


def test_a_new_route_fails_the_table(surface_app):
    """The check above is not vacuous: a route added to the app is found missing."""
    @surface_app.get("/api/v1/surface-probe")
    def probe() -> dict:
        return {}

    assert ("GET", "/api/v1/surface-probe") in route_table(surface_app) - TABLE.keys()


@contextmanager
def actor_clients(app, world: World) -> Iterator[dict[str, TestClient]]:
    """A client per actor: its bearer token, its console or portal cookie, and a valid
    CSRF pair (so that pages judge the actor, not a missing token)."""
    signer = SimpleNamespace(app=SimpleNamespace(state=app.state))
    nonce = "surface-nonce-" + "x" * 32
    clients = {}
    for actor in ACTORS:
        client = TestClient(app, raise_server_exceptions=False)
        token = world.tokens.get(actor)
        if token:
            client.headers["Authorization"] = f"Bearer {token}"
            client.cookies.set(CONSOLE_COOKIE if actor in STAFF else SESSION_COOKIE, token)
        client.cookies.set(csrf.COOKIE, nonce)
        client.headers[csrf.HEADER] = f"{nonce}.{csrf._sign(signer, nonce)}"
        clients[actor] = client
    try:
        yield clients
    finally:
        for client in clients.values():
            client.close()


def fill(path: str, target: Target | None) -> str:
    if target is None:
        return path
    return re.sub(r"\{[^}]+\}(/\{path:path\})?", lambda _: target.value, path, count=1)


def refused_entries(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.outcome == "refused")) or 0


def last_refusal(session) -> str | None:
    body = session.scalar(select(AuditEntry.body).where(AuditEntry.outcome == "refused")
                          .order_by(AuditEntry.id.desc()).limit(1))
    return json.loads(body).get("rule") if body else None


def outcome_of(response) -> str | int:
    status = response.status_code
    if status in (301, 302, 303, 307):
        location = response.headers.get("location", "")
        return LOGIN if "/login" in location or "/sign-in" in location else ALLOW
    return status if status in (401, 403, 404) else ALLOW


def hidden_markers(world: World, actor: str, audience: str) -> list[str]:
    """What this actor must never be shown on routes of this audience."""
    staff_view = audience in STAFF_AUDIENCES and actor in STAFF
    hidden = []
    for dept, status, kind in world.resources:
        relation = dept if dept in RELATIONS else "far"
        if staff_view:
            visible = sees(actor, relation, status)
        else:
            visible = (status == "published" and kind != "none") or (
                audience == "ckan" and actor in STAFF and writes(actor, relation))
        if not visible:
            hidden.append(marker(dept, status, kind))
    between = {"provider": ("own",), "consumer": ("own",), "peer": ("peer", "far"),
               "far": ("far",)}
    for side, depts in between.items():
        if not (staff_view and ("own" in depts or oversees(actor, *depts))):
            hidden.append(exchange_marker(side))
    return hidden


def check_cell(client, session, world, method, path, expect: Expect, actor, target
               ) -> list[str]:
    url = fill(path, target)
    where = f"{actor:>10} {method} {url} [{target!r}]"
    options = expect.request(world, target) if expect.request else {}
    if expect.audience in ("console", "page"):
        client.headers["Accept"] = "text/html"
    else:
        client.headers.pop("Accept", None)
    before = refused_entries(session)
    savepoint = None if method in SAFE else session.begin_nested()
    try:
        response = client.request(method, url, follow_redirects=False, **options)
        return judge(response, session, world, expect, actor, target, where, before)
    finally:
        if savepoint is not None and savepoint.is_active:
            savepoint.rollback()


def judge(response, session, world, expect, actor, target, where, before) -> list[str]:
    status = response.status_code
    if status >= 500:
        return [f"{where}: {status} {response.text[:300]}"]
    wanted = expect.decide(actor, target)
    got = outcome_of(response)
    problems = []
    if got != wanted:
        problems.append(f"{where}: expected {wanted}, got {status} {response.text[:200]}")
    kind = response.headers.get("content-type", "")
    if (status in (401, 403, 404) and expect.audience not in ("console", "page", "ckan")
            and not kind.startswith("application/problem+json")):
        problems.append(f"{where}: {status} is not problem+json ({kind})")
    if status == 403:
        if refused_entries(session) <= before:
            problems.append(f"{where}: 403 is not on the ledger")
        elif kind.startswith("application/problem+json"):
            rule = last_refusal(session)
            if rule != response.json().get("code"):
                problems.append(f"{where}: ledger says {rule}, answer {response.json()}")
    if not any(b in kind for b in BINARY):
        text = response.text
        leaked = [m for m in hidden_markers(world, actor, expect.audience) if m in text]
        if leaked:
            problems.append(f"{where}: {status} shows {leaked}")
    return problems


@pytest.mark.parametrize("key", sorted(TABLE), ids=" ".join)
def test_route(key, surface_app, session, world):
    method, path = key
    expect = TABLE[key]
    targets = expect.targets(world) if expect.targets else [None]
    problems: list[str] = []
    with actor_clients(surface_app, world) as clients:
        for actor in ACTORS:
            for target in targets:
                problems += check_cell(clients[actor], session, world, method, path, expect,
                                       actor, target)
    assert not problems, f"{len(problems)} cells wrong:\n" + "\n".join(problems)
