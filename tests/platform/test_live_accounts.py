"""Tokens are checked against the live account on every request (issue 7, item 1), and
administrators act on accounts within their jurisdiction (item 4)."""

from __future__ import annotations

import datetime as dt

from govdata.platform import service
from govdata.platform.principal import Principal
from tests.conftest import SYSTEM, synthetic_uscc


def me(client, headers):
    return client.get("/api/v1/auth/me", headers=headers)


def patch(client, headers, username, **body):
    return client.patch(f"/api/v1/users/{username}", json=body, headers=headers)


def test_deactivation_stops_the_users_tokens_at_once(client, session, make_user, auth):
    user = make_user("steward")
    headers = auth(user)
    assert me(client, headers).status_code == 200
    service.set_user_active(session, SYSTEM, user, active=False)
    refused = me(client, headers)
    assert refused.status_code == 401 and refused.json()["code"] == "token_user_inactive"
    service.set_user_active(session, SYSTEM, user, active=True)
    outdated = me(client, headers)
    assert outdated.status_code == 401 and outdated.json()["code"] == "token_outdated"
    assert me(client, auth(user)).status_code == 200  # a new login works again


def test_a_removed_user_has_no_token(client, session, make_user, auth):

    user = make_user("steward")
    headers = auth(user)
    session.delete(service.get_user(session, user))
    session.flush()
    refused = me(client, headers)
    assert refused.status_code == 401 and refused.json()["code"] == "token_user_unknown"


def test_a_demoted_admin_creates_no_admin(client, session, make_department, make_user, auth):
    dept = make_department()
    admin = make_user("admin", department=dept)
    headers = auth(admin)
    service.set_user_roles(session, SYSTEM, admin, roles=["requester"])
    response = client.post("/api/v1/users", headers=headers, json={
        "username": "new-admin", "department_code": dept, "roles": ["admin"]})
    assert response.status_code == 401 and response.json()["code"] == "token_outdated"
    assert me(client, auth(admin)).json()["roles"] == ["requester"]


def test_patch_user_through_the_api_is_on_the_ledger(client, make_department, make_user, auth):
    dept = make_department()
    admin, clerk = make_user("admin", department=dept), make_user("steward", department=dept)
    clerk_headers = auth(clerk)
    changed = patch(client, auth(admin), clerk, roles=["requester", "steward"])
    assert changed.status_code == 200 and changed.json()["roles"] == ["requester", "steward"]
    assert me(client, clerk_headers).json()["code"] == "token_outdated"
    off = patch(client, auth(admin), clerk, active=False)
    assert off.status_code == 200 and off.json()["is_active"] is False
    auditor = make_user("auditor")
    events = client.get("/api/v1/audit/events", params={"resource": f"user:{clerk}"},
                        headers=auth(auditor)).json()["items"]
    actions = [event["action"] for event in events]
    assert "user.roles" in actions and "user.deactivate" in actions
    roles_entry = next(e for e in events if e["action"] == "user.roles")["entry"]
    assert roles_entry["roles_before"] == ["steward"]
    assert roles_entry["roles_after"] == ["requester", "steward"]


def test_patch_refuses_what_is_not_the_admins(client, make_department, make_user, auth):
    dept = make_department()
    admin, clerk = make_user("admin", department=dept), make_user("steward", department=dept)
    assert patch(client, auth(clerk), admin, active=False).status_code == 403
    assert patch(client, auth(admin), "nobody-here", active=False).status_code == 404
    unknown = patch(client, auth(admin), clerk, roles=["king"])
    assert unknown.status_code == 422 and unknown.json()["code"] == "role_unknown"
    superuser = patch(client, auth(admin), clerk, roles=["superuser"])
    assert superuser.status_code == 403 and superuser.json()["code"] == "superuser_required"


def test_admins_are_scoped_to_their_jurisdiction(client, make_department, make_user, auth):
    cq = make_department(division_code="500000")
    cq_district = make_department(division_code="500103")
    sz = make_department(division_code="440300", uscc=synthetic_uscc("440300"))
    cq_admin = make_user("admin", department=cq)
    sz_clerk = make_user("steward", department=sz)
    district_clerk = make_user("steward", department=cq_district)
    headers = auth(cq_admin)
    assert patch(client, headers, district_clerk, active=False).status_code == 200
    outside = patch(client, headers, sz_clerk, active=False)
    assert outside.status_code == 403 and outside.json()["code"] == "outside_jurisdiction"
    new_sz_admin = client.post("/api/v1/users", headers=headers, json={
        "username": "sz-admin-2", "department_code": sz, "roles": ["admin"]})
    assert new_sz_admin.status_code == 403
    sz_department = client.post("/api/v1/departments", headers=headers, json={
        "code": "sz-new", "name": "深圳市新局", "uscc": synthetic_uscc("440300"),
        "division_code": "440300"})
    assert sz_department.status_code == 403
    superuser = make_user("superuser", department=cq)
    assert patch(client, auth(superuser), sz_clerk, active=False).status_code == 200


def test_a_district_admin_does_not_govern_the_city(client, make_department, make_user, auth):
    district_admin = make_user("admin", department=make_department(division_code="500103"))
    city_clerk = make_user("steward", department=make_department(division_code="500000"))
    assert patch(client, auth(district_admin), city_clerk, active=False).status_code == 403


def test_the_tokens_an_admin_sees_and_their_status(session, settings, make_department,
                                                   make_user):
    near, far = make_department(division_code="500103"), make_department(
        division_code="440300")
    admin = Principal(username="district-admin", department=near, division="500103",
                      roles=frozenset({"admin"}))
    ours, theirs = make_user("steward", department=near), make_user("steward", department=far)
    first = service.issue_token(session, settings, user=service.get_user(session, ours))
    service.issue_token(session, settings, user=service.get_user(session, theirs))
    rows, total = service.list_tokens(session, admin)
    assert total == 1 and [r.jti for r in rows] == [first.jti]  # only its jurisdiction's
    assert rows[0].status(dt.datetime.now(dt.UTC)) == "active"
    assert rows[0].status(first.expires_at + dt.timedelta(seconds=1)) == "expired"
    service.set_user_active(session, SYSTEM, ours, active=False)
    service.set_user_active(session, SYSTEM, ours, active=True)
    second = service.issue_token(session, settings, user=service.get_user(session, ours))
    rows, _ = service.list_tokens(session, admin, username=ours)
    status = {r.jti: r.status(dt.datetime.now(dt.UTC)) for r in rows}
    assert status == {first.jti: "outdated", second.jti: "active"}
    live, total = service.list_tokens(session, admin, active_only=True)
    assert total == 1 and live[0].jti == second.jti
    service.revoke_token(session, admin, jti=second.jti)
    revoked, _ = service.list_tokens(session, admin, username=ours)
    assert {r.jti: r.status(dt.datetime.now(dt.UTC)) for r in revoked}[second.jti] == "revoked"
    assert service.list_tokens(session, admin, active_only=True)[1] == 0
    assert "superuser" not in service.grantable_roles(admin)
    assert "superuser" in service.grantable_roles(SYSTEM)
