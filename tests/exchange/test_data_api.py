"""Granted data through HTTP: only granted items, every call on the ledger, revocation,
expiry and suspension cutting access at once, the provider's access log."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from govdata.catalog import service as catalog_service
from govdata.exchange import grants
from govdata.platform.principal import Principal
from tests.exchange.conftest import API, ITEMS, ask, item, ledger, ok, problem


@pytest.fixture
def data_client(app, client, connection):
    """Streamed CSV reads on the test's connection (its data is not committed)."""
    from govdata.catalog.datastore.api import stream_bind

    app.dependency_overrides[stream_bind] = lambda: connection
    return client


@pytest.fixture
def granted(client, auth, shared, requester, approver):
    """A conditional resource, its request approved for name and district only."""
    resource = shared("conditional")
    asked = ok(ask(client, auth(requester), resource), 201)
    body = ok(client.post(f"{API}/requests/{asked['id']}/approve", headers=auth(approver),
                          json={"data_items": ["name", "district"]}))
    return resource, body["grant"]


def url(resource) -> str:
    return f"{API}/data/{resource.code}"


def test_only_granted_items_are_served_as_stored(data_client, auth, session, granted,
                                                 requester, consumer):
    resource, grant = granted
    before = len(ledger(session, "exchange.data.read"))
    page = ok(data_client.get(url(resource), headers=auth(requester), params={"limit": 2}))
    assert [f["id"] for f in page["fields"]] == ["_id", "name", "district"]
    assert page["items"] == [{"_id": 1, "name": "张三", "district": "渝中区"},
                             {"_id": 2, "name": "欧阳娜娜", "district": "江北区"}]
    assert (page["total"], page["limit"], page["offset"], page["version"]) == (3, 2, 0, 1)
    entries = ledger(session, "exchange.data.read")
    assert len(entries) == before + 1
    entry = entries[-1]
    assert entry["outcome"] == "allowed" and entry["grant"] == grant
    assert entry["purpose"] == "最低生活保障资格审核" and entry["department"] == consumer
    assert entry["data_items"] == ["name", "district"] and entry["row_count"] == 2
    assert entry["query"] == {"limit": 2}

    filtered = ok(data_client.get(url(resource), headers=auth(requester),
                                  params={"filters": '{"district": "渝中区"}', "sort": "name desc",
                                          "fields": "name"}))
    assert filtered["items"] == [{"name": "李四"}, {"name": "张三"}]
    assert ledger(session, "exchange.data.read")[-1]["query"] == {
        "fields": "name", "filters": {"district": "渝中区"}, "sort": "name desc", "limit": 20}
    for params in ({"fields": "person_id"}, {"filters": '{"amount": 800}'},
                   {"sort": "person_id"}, {"q": '{"person_id": "1101"}'}):
        problem(data_client.get(url(resource), headers=auth(requester), params=params), 422,
                "datastore_query_invalid")
    refused = ledger(session, "exchange.data.read", "refused")[-1]
    assert refused["rule"] == "datastore_query_invalid" and refused["resource"] == resource.code


def test_csv_is_streamed_with_only_granted_items(data_client, auth, session, granted,
                                                 requester):
    resource, grant = granted
    response = data_client.get(url(resource), headers=auth(requester),
                               params={"format": "csv", "bom": "true", "header": "title"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["_id", "姓名", "区县"] and len(rows) == 4
    entry = ledger(session, "exchange.data.read")[-1]
    assert entry["format"] == "csv" and entry["row_count"] == 3 and entry["grant"] == grant


def test_no_grant_no_data_and_every_refusal_on_the_ledger(data_client, auth, session, shared,
                                                          granted, outsider, requester,
                                                          make_user, consumer):
    resource, _ = granted
    before = len(ledger(session, "exchange.data.read", "refused"))
    problem(data_client.get(url(resource), headers=auth(outsider)), 403, "no_grant")
    problem(data_client.get(url(resource), headers=auth(outsider), params={"format": "csv"}),
            403, "no_grant")
    steward_only = make_user("steward", department=consumer)
    problem(data_client.get(url(resource), headers=auth(steward_only)), 403, "role_required")
    other = shared("conditional")
    problem(data_client.get(url(other), headers=auth(requester)), 403, "no_grant")
    problem(data_client.get(f"{API}/data/999999/000009", headers=auth(requester)), 404,
            "resource_not_found")
    refusals = ledger(session, "exchange.data.read", "refused")[before:]
    assert [(r["actor"], r["rule"]) for r in refusals] == [
        (outsider, "no_grant"), (outsider, "no_grant"), (steward_only, "role_required"),
        (requester, "no_grant"), (requester, "resource_not_found")]


def test_revocation_cuts_access_at_once(data_client, auth, session, granted, requester,
                                        approver, outsider):
    resource, grant = granted
    ok(data_client.get(url(resource), headers=auth(requester)))
    problem(data_client.post(f"{API}/grants/{grant}/revoke", headers=auth(outsider),
                             json={"reason": "x"}), 403, "not_grant_party")
    problem(data_client.post(f"{API}/grants/{grant}/revoke", headers=auth(approver),
                             json={"reason": " "}), 422, "reason_required")
    body = ok(data_client.post(f"{API}/grants/{grant}/revoke", headers=auth(approver),
                               json={"reason": "发现超范围使用"}))
    assert body["status"] == "revoked" and body["revoked_reason"] == "发现超范围使用"
    problem(data_client.get(url(resource), headers=auth(requester)), 403, "no_grant")
    problem(data_client.post(f"{API}/grants/{grant}/revoke", headers=auth(approver),
                             json={"reason": "again"}), 409, "grant_not_active")
    entry = ledger(session, "exchange.grant.revoke", "allowed")[-1]
    assert entry["grant"] == grant and entry["reason"] == "发现超范围使用"
    request = ok(data_client.get(f"{API}/requests/{body['request']}", headers=auth(requester)))
    assert request["history"][-1]["action"] == "revoked"


def test_expiry_cuts_access_at_once_and_the_worker_records_it(data_client, auth, session,
                                                              shared, requester, now):
    resource = shared("unconditional")
    until = now.today + dt.timedelta(days=3)
    body = ok(ask(data_client, auth(requester), resource, until=until), 201)
    now.set(until)
    ok(data_client.get(url(resource), headers=auth(requester)))  # the last day still reads
    now.set(until + dt.timedelta(days=1))
    problem(data_client.get(url(resource), headers=auth(requester)), 403, "no_grant")
    grant = ok(data_client.get(f"{API}/grants/{body['grant']}", headers=auth(requester)))
    assert grant["status"] == "expired"
    assert grants.expire_grants(session) >= 1
    entry = ledger(session, "exchange.grant.expire")[-1]
    assert entry["grant"] == body["grant"] and entry["actor"] == "worker"
    assert grants.expire_grants(session) == 0
    listed = ok(data_client.get(f"{API}/grants", headers=auth(requester),
                                params={"status": "expired"}))
    assert [g["id"] for g in listed["items"]] == [body["grant"]]


def test_retiring_suspends_and_a_none_item_drops_out(data_client, auth, session, shared,
                                                     requester, provider):
    resource = shared("unconditional")
    body = ok(ask(data_client, auth(requester), resource, items=["name", "district"]), 201)
    steward = Principal(username="s", department=provider, roles=frozenset({"steward"}))
    items = [dict(i) for i in ITEMS]
    items[1]["share_type"] = "none"  # name
    catalog_service.update_resource(session, steward, code=resource.code,
                                    changes={"items": items, "legal_basis": "保密规定"})
    page = ok(data_client.get(url(resource), headers=auth(requester)))
    assert [f["id"] for f in page["fields"]] == ["_id", "district"]
    grant = ok(data_client.get(f"{API}/grants/{body['grant']}", headers=auth(requester)))
    assert grant["data_items"] == ["district"] and grant["status"] == "active"
    catalog_service.update_resource(session, steward, code=resource.code,
                                    changes={"share_type": "none"})
    problem(data_client.get(url(resource), headers=auth(requester)), 403, "no_grant")
    assert ok(data_client.get(f"{API}/grants/{body['grant']}",
                              headers=auth(requester)))["status"] == "suspended"
    catalog_service.update_resource(session, steward, code=resource.code,
                                    changes={"share_type": "unconditional"})
    ok(data_client.get(url(resource), headers=auth(requester)))
    catalog_service.retire_resource(session, steward, code=resource.code)
    problem(data_client.get(url(resource), headers=auth(requester)), 403, "no_grant")
    suspended = ok(data_client.get(f"{API}/grants", headers=auth(requester),
                                   params={"status": "suspended"}))
    assert [g["id"] for g in suspended["items"]] == [body["grant"]]


def test_several_live_grants_need_a_choice(data_client, auth, shared, requester):
    resource = shared("unconditional")
    first = ok(ask(data_client, auth(requester), resource, items=["district"]), 201)
    second = ok(ask(data_client, auth(requester), resource, items=["name"],
                    purpose="另一用途"), 201)
    problem(data_client.get(url(resource), headers=auth(requester)), 422, "grant_ambiguous")
    page = ok(data_client.get(url(resource), headers=auth(requester),
                              params={"grant": second["grant"]}))
    assert [f["id"] for f in page["fields"]] == ["_id", "name"]
    page = ok(data_client.get(url(resource), headers=auth(requester),
                              params={"grant": first["grant"]}))
    assert [f["id"] for f in page["fields"]] == ["_id", "district"]


def test_the_provider_sees_who_read_its_data(data_client, auth, granted, requester, approver,
                                             outsider, make_user, third):
    resource, grant = granted
    ok(data_client.get(url(resource), headers=auth(requester)))
    problem(data_client.get(url(resource), headers=auth(outsider)), 403, "no_grant")
    log = ok(data_client.get(f"{API}/access-log", headers=auth(approver)))
    assert log["total"] == 2
    refused, served = log["items"]
    assert served["actor"] == requester and served["outcome"] == "allowed"
    assert served["grant"] == grant and served["row_count"] == 3
    assert served["data_items"] == ["name", "district"]
    assert refused["actor"] == outsider and refused["rule"] == "no_grant"
    only_served = ok(data_client.get(f"{API}/access-log", headers=auth(approver),
                                     params={"outcome": "allowed"}))
    assert only_served["total"] == 1
    assert ok(data_client.get(f"{API}/access-log", headers=auth(outsider)))["total"] == 0
    auditor = make_user("auditor")
    everything = ok(data_client.get(f"{API}/access-log", headers=auth(auditor),
                                    params={"resource": resource.code}))
    assert everything["total"] == 2


def test_data_item_with_its_own_type_in_a_grant(data_client, auth, shared, requester,
                                                approver):
    resource = shared("conditional", items=[*ITEMS, item("note", "备注", share_type="none")])
    asked = ok(ask(data_client, auth(requester), resource), 201)
    ok(data_client.post(f"{API}/requests/{asked['id']}/approve", headers=auth(approver)))
    page = ok(data_client.get(url(resource), headers=auth(requester)))
    assert [f["id"] for f in page["fields"]] == ["_id", "person_id", "name", "district",
                                                 "amount"]
    assert page["items"][0]["person_id"] == "11010519491231002X"  # unmasked: granted
