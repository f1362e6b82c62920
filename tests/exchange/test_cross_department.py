"""Attempts from the wrong department or without the role: all refused, all on the ledger
(each in a transaction of its own, while the attempt itself changes nothing)."""

from __future__ import annotations

import pytest

from tests.exchange.conftest import API, ask, ledger, ok, problem


@pytest.fixture
def pending(client, auth, shared, requester):
    return ok(ask(client, auth(requester), shared("conditional")), 201)


def test_attempts_on_a_request_from_outside(client, auth, session, pending, outsider,
                                            make_user, consumer, requester):
    own_approver = make_user("approver", department=consumer)
    attempts = [
        (client.get, "", None, outsider, 403, "not_request_party",
         "exchange.request.view"),
        (client.post, "/approve", {}, outsider, 403, "not_request_party", "exchange.approve"),
        (client.post, "/reject", {"reason": "不给"}, outsider, 403, "not_request_party",
         "exchange.reject"),
        (client.post, "/withdraw", None, outsider, 403, "not_request_party",
         "exchange.withdraw"),
        (client.post, "/approve", {}, own_approver, 403, "own_request", "exchange.approve"),
        (client.post, "/approve", {}, requester, 403, "own_request", "exchange.approve"),
    ]
    for call, suffix, body, who, status, code, action in attempts:
        before = len(ledger(session, action, "refused"))
        kwargs = {"json": body} if body is not None else {}
        problem(call(f"{API}/requests/{pending['id']}{suffix}", headers=auth(who), **kwargs),
                status, code)
        entries = ledger(session, action, "refused")
        assert len(entries) == before + 1, (suffix, who)
        assert entries[-1]["actor"] == who and entries[-1]["rule"] == code
        assert entries[-1]["request"] == pending["id"]
    assert ok(client.get(f"{API}/requests/{pending['id']}",
                         headers=auth(requester)))["status"] == "pending"


def test_the_provider_cannot_withdraw_and_a_steward_cannot_decide(
        client, auth, session, pending, approver, make_user, provider):
    problem(client.post(f"{API}/requests/{pending['id']}/withdraw", headers=auth(approver)),
            403, "not_request_consumer")
    steward = make_user("steward", department=provider)
    problem(client.post(f"{API}/requests/{pending['id']}/approve", headers=auth(steward)),
            403, "not_provider_approver")
    assert ledger(session, "exchange.approve", "refused")[-1]["actor"] == steward


def test_asking_without_the_requester_role(client, auth, session, shared, approver, make_user,
                                           third):
    resource = shared("unconditional")
    steward = make_user("steward", department=third)
    before = len(ledger(session, "exchange.request", "refused"))
    problem(ask(client, auth(steward), resource), 403, "role_required")
    admin = make_user("admin")
    problem(ask(client, auth(admin), resource), 403, "role_required")
    assert len(ledger(session, "exchange.request", "refused")) == before + 2


def test_grants_and_lists_of_other_departments_stay_hidden(client, auth, shared, requester,
                                                          outsider, make_user):
    body = ok(ask(client, auth(requester), shared("unconditional")), 201)
    problem(client.get(f"{API}/grants/{body['grant']}", headers=auth(outsider)), 403,
            "not_grant_party")
    assert ok(client.get(f"{API}/grants", headers=auth(outsider)))["total"] == 0
    assert ok(client.get(f"{API}/requests", headers=auth(outsider)))["total"] == 0
    auditor = make_user("auditor")
    assert ok(client.get(f"{API}/grants/{body['grant']}", headers=auth(auditor)))["id"] == (
        body["grant"])
    problem(client.post(f"{API}/grants/{body['grant']}/revoke", headers=auth(auditor),
                        json={"reason": "审计"}), 403, "not_provider_approver")


def test_a_request_that_is_not_there(client, auth, requester):
    problem(client.get(f"{API}/requests/999999", headers=auth(requester)), 404,
            "request_not_found")
    problem(client.post(f"{API}/requests/999999/approve", headers=auth(requester)), 404,
            "request_not_found")
