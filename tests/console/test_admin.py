"""The administrator's console pages: deactivate and reactivate accounts, set their roles,
list the tokens issued and revoke them, within the jurisdiction the kernel's services
allow (an admin the departments under its division, a superuser all); the pages refuse
what the API refuses and change nothing without a CSRF token."""

from __future__ import annotations

from sqlalchemy import select

from govdata.platform import service
from govdata.platform.models import AuditEntry, IssuedToken, RevokedToken, User


def user(session, username: str) -> User:
    session.expire_all()
    return session.scalar(select(User).where(User.username == username))


def latest_jti(session, username: str) -> str:
    return session.scalars(select(IssuedToken.jti).where(IssuedToken.username == username)
                           .order_by(IssuedToken.issued_at.desc())).first()


def test_the_admin_deactivates_and_reactivates_an_account(browser, person, make_department,
                                                          provider, session):
    admin = browser(person("admin", department=make_department()))
    clerk_name = person("steward", department=provider)
    clerk = browser(clerk_name)
    assert clerk.get("/console/resources").status_code == 200
    listed = admin.get("/console/admin/users")
    assert f'href="/console/admin/users/{clerk_name}"' in listed.text
    page = admin.get(f"/console/admin/users/{clerk_name}")
    assert page.status_code == 200 and "停用账号" in page.text
    assert latest_jti(session, clerk_name) in page.text  # the live session's token is listed
    off = admin.post(f"/console/admin/users/{clerk_name}/active", {"active": "false"})
    assert off.status_code == 303
    assert not user(session, clerk_name).is_active
    # the deactivated clerk's console session ends at once
    gone = clerk.client.get("/console/resources", follow_redirects=False)
    assert gone.status_code == 303 and "/console/login" in gone.headers["location"]
    shown = admin.get(off.headers["location"])
    assert "启用账号" in shown.text and "已停用" in shown.text
    on = admin.post(f"/console/admin/users/{clerk_name}/active", {"active": "true"})
    assert on.status_code == 303 and user(session, clerk_name).is_active
    actions = [e.action for e in session.scalars(select(AuditEntry).where(
        AuditEntry.resource == f"user:{clerk_name}"))]
    assert "user.deactivate" in actions and "user.activate" in actions


def test_the_admin_sets_roles_with_the_rules_error_beside_them(browser, person,
                                                               make_department, provider,
                                                               session):
    admin = browser(person("admin", department=make_department()))
    clerk_name = person("requester", department=provider)
    page = admin.get(f"/console/admin/users/{clerk_name}")
    assert 'value="approver"' in page.text and 'value="superuser"' not in page.text
    none = admin.post(f"/console/admin/users/{clerk_name}/roles", {})
    assert none.status_code == 422 and 'id="err-roles"' in none.text
    changed = admin.post(f"/console/admin/users/{clerk_name}/roles",
                         {"roles": ["requester", "approver"]})
    assert changed.status_code == 303
    assert user(session, clerk_name).roles == ["approver", "requester"]
    # only a superuser makes superusers, whatever the form says
    refused = admin.post(f"/console/admin/users/{clerk_name}/roles", {"roles": ["superuser"]})
    assert refused.status_code == 403
    assert user(session, clerk_name).roles == ["approver", "requester"]


def test_tokens_are_listed_and_revoked(browser, person, make_department, provider, session):
    admin = browser(person("admin", department=make_department()))
    clerk_name = person("steward", department=provider)
    clerk = browser(clerk_name)
    jti = latest_jti(session, clerk_name)
    listed = admin.get("/console/admin/tokens")
    assert listed.status_code == 200 and jti in listed.text
    assert listed.text.count("当前登录") == 1  # the admin's own session is marked
    revoked = admin.post("/console/admin/tokens/revoke", {"jti": jti})
    assert revoked.status_code == 303
    assert session.get(RevokedToken, jti) is not None
    gone = clerk.client.get("/console/resources", follow_redirects=False)
    assert gone.status_code == 303 and "/console/login" in gone.headers["location"]
    assert jti not in admin.get("/console/admin/tokens").text  # only live tokens by default
    everything = admin.get(f"/console/admin/tokens?username={clerk_name}&all=1")
    assert jti in everything.text and "已吊销" in everything.text
    again = admin.post("/console/admin/tokens/revoke", {"jti": jti})
    assert again.status_code == 422 and "已吊销" in again.text
    unknown = admin.post("/console/admin/tokens/revoke", {"jti": "no-such-token"})
    assert unknown.status_code == 422 and "不存在" in unknown.text


def test_an_admin_governs_only_its_jurisdiction(browser, person, make_department, session,
                                                settings):
    district_admin = browser(person("admin", department=make_department(
        division_code="500103")))
    shenzhen_name = person("steward", department=make_department(division_code="440300"))
    near_name = person("steward", department=make_department(division_code="500103"))
    issued = service.issue_token(session, settings, user=user(session, shenzhen_name))
    assert shenzhen_name not in district_admin.get("/console/admin/users").text
    assert near_name in district_admin.get("/console/admin/users").text
    assert issued.jti not in district_admin.get("/console/admin/tokens?all=1").text
    assert district_admin.get(f"/console/admin/users/{shenzhen_name}").status_code == 403
    for path, data in ((f"/console/admin/users/{shenzhen_name}/active", {"active": "false"}),
                       (f"/console/admin/users/{shenzhen_name}/roles",
                        {"roles": ["auditor"]}),
                       ("/console/admin/tokens/revoke", {"jti": issued.jti})):
        refused = district_admin.post(path, data)
        assert refused.status_code == 403, path
        assert "超出管理员的管辖范围" in refused.text
    found = user(session, shenzhen_name)
    assert found.is_active and found.roles == ["steward"]
    assert session.get(RevokedToken, issued.jti) is None
    # a superuser governs every department, and has the menu without the admin role
    root = browser(person("superuser", department=make_department(division_code="500103")))
    assert 'href="/console/admin/tokens"' in root.get("/console/").text
    assert root.post(f"/console/admin/users/{shenzhen_name}/active",
                     {"active": "false"}).status_code == 303
    assert not user(session, shenzhen_name).is_active


def test_other_roles_have_no_admin_menu_and_no_admin_page(browser, person, provider):
    for roles in (("requester",), ("steward", "approver"), ("auditor",)):
        visitor = browser(person(*roles, department=provider))
        home = visitor.get("/console/")
        for path in ("/console/admin/users", "/console/admin/tokens"):
            assert f'href="{path}"' not in home.text
            assert visitor.get(path).status_code == 403, (roles, path)
        assert visitor.post("/console/admin/tokens/revoke", {"jti": "x"}).status_code == 403


def test_an_admin_form_without_its_csrf_token_changes_nothing(browser, person,
                                                              make_department, provider,
                                                              session):
    admin = browser(person("admin", department=make_department()))
    clerk_name = person("steward", department=provider)
    browser(clerk_name)
    jti = latest_jti(session, clerk_name)
    admin.get(f"/console/admin/users/{clerk_name}")
    for path, data in ((f"/console/admin/users/{clerk_name}/active", {"active": "false"}),
                       (f"/console/admin/users/{clerk_name}/roles", {"roles": ["auditor"]}),
                       ("/console/admin/tokens/revoke", {"jti": jti})):
        refused = admin.post(path, data, csrf=False)
        assert refused.status_code == 403 and "表单已失效" in refused.text
    found = user(session, clerk_name)
    assert found.is_active and found.roles == ["steward"]
    assert session.get(RevokedToken, jti) is None
