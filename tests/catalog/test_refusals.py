"""Every 403 of the catalog is on the ledger: the refused act rolls back, its entry stays
(written in a transaction of its own)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from govdata.platform.models import AuditEntry
from tests.catalog import create, fields, steward

API = "/api/v1/catalog"


@pytest.fixture
def owner_dept(make_department) -> str:
    return make_department()


@pytest.fixture
def resource(session, owner_dept):
    return create(session, steward(owner_dept), department=owner_dept, publish=True)


@pytest.fixture
def outsider(make_user, make_department) -> str:
    return make_user("steward", department=make_department())


def refusals(session, action: str) -> list[dict]:
    bodies = session.scalars(select(AuditEntry.body).where(AuditEntry.action == action,
                                                           AuditEntry.outcome == "refused"))
    return [json.loads(body) for body in bodies]


def assert_refused_on_ledger(session, response, action: str, actor: str, before: int) -> dict:
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "not_resource_steward"
    entries = refusals(session, action)
    assert len(entries) == before + 1, entries
    entry = entries[-1]
    assert entry["actor"] == actor and entry["rule"] == "not_resource_steward"
    assert entry["reason"] == response.json()["detail"]
    return entry


@pytest.mark.parametrize(("method", "path", "action", "body"), [
    ("patch", "/resources/{code}", "catalog.resource.update", {"summary": "改"}),
    ("post", "/resources/{code}/retire", "catalog.resource.retire", None),
    ("get", "/resources/{code}/data", "data.read", None),
    ("get", "/resources/{code}/data/versions", "data.versions", None),
    ("get", "/resources/{code}/data/export", "data.export", None),
])
def test_refused_changes_and_reads_are_on_the_ledger(client, session, auth, resource, outsider,
                                                      method, path, action, body):
    before = len(refusals(session, action))
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(API + path.format(code=resource.code),
                                       headers=auth(outsider), **kwargs)
    entry = assert_refused_on_ledger(session, response, action, outsider, before)
    assert entry["resource"] == resource.code
    assert entry["owner"] == resource.department.code
    assert resource.status == "published" and resource.version == 2  # nothing changed


def test_refused_publish_and_load_are_on_the_ledger(client, session, auth, owner_dept,
                                                     make_user):
    """A draft is seen only inside its department: a requester there is refused."""
    outsider = make_user("requester", department=owner_dept)
    draft = create(session, steward(owner_dept), department=owner_dept)
    before = len(refusals(session, "catalog.resource.publish"))
    response = client.post(f"{API}/resources/{draft.code}/publish", headers=auth(outsider))
    assert_refused_on_ledger(session, response, "catalog.resource.publish", outsider, before)
    before = len(refusals(session, "data.load"))
    response = client.post(f"{API}/resources/{draft.code}/data", headers=auth(outsider),
                           files={"file": ("a.csv", b"station\nx\n", "text/csv")})
    assert_refused_on_ledger(session, response, "data.load", outsider, before)


def test_refused_registration_and_import_are_on_the_ledger(client, session, auth, owner_dept,
                                                            make_user):
    outsider = make_user("steward")
    before = len(refusals(session, "catalog.resource.create"))
    response = client.post(f"{API}/resources", headers=auth(outsider),
                           json={**fields(), "department": owner_dept})
    entry = assert_refused_on_ledger(session, response, "catalog.resource.create", outsider,
                                     before)
    assert entry["owner"] == owner_dept
    requester = make_user("requester")
    before = len(refusals(session, "catalog.import"))
    response = client.post(f"{API}/import", headers=auth(requester),
                           files={"file": ("目录.csv", b"x\n", "text/csv")})
    assert_refused_on_ledger(session, response, "catalog.import", requester, before)
