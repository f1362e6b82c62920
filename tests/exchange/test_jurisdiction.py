"""Administrators oversee the exchange of their own jurisdiction only; auditors and
superusers every department's (issue 7, item 4)."""

from __future__ import annotations

from tests.conftest import synthetic_uscc
from tests.exchange.conftest import API, ask, ok, problem


def test_an_admin_oversees_only_its_jurisdiction(client, auth, shared, requester, provider,
                                                  make_user, make_department):
    asked = ok(ask(client, auth(requester), shared("conditional")), 201)
    cq_admin = make_user("admin", department=make_department(division_code="500000"))
    sz_admin = make_user("admin", department=make_department(
        division_code="440300", uscc=synthetic_uscc("440300")))
    superuser = make_user("superuser", department=make_department(
        division_code="440300", uscc=synthetic_uscc("440300")))

    for who in (cq_admin, superuser):
        assert ok(client.get(f"{API}/requests/{asked['id']}", headers=auth(who)))["id"]
        listed = ok(client.get(f"{API}/requests", headers=auth(who)))
        assert asked["id"] in [r["id"] for r in listed["items"]]
        assert client.get(f"{API}/evaluation", headers=auth(who),
                          params={"department": provider}).status_code == 200

    problem(client.get(f"{API}/requests/{asked['id']}", headers=auth(sz_admin)), 403,
            "not_request_party")
    assert ok(client.get(f"{API}/requests", headers=auth(sz_admin),
                         params={"overdue": "false"}))["total"] == 0
    problem(client.get(f"{API}/evaluation", headers=auth(sz_admin),
                       params={"department": provider}), 403, "not_department_member")
