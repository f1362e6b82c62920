"""The console through HTTP as a browser uses it: signing in and out, each role's pages, and
everything the API forbids staying forbidden here (another department's resource, a role's
page reached by URL, a form without its CSRF token)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from govdata.catalog import service as catalog_service
from govdata.catalog.models import Resource
from govdata.exchange.models import ShareRequest
from govdata.platform import clock
from govdata.platform.models import AuditEntry, RevokedToken
from tests.catalog import create, steward
from tests.console.conftest import PASSWORD

RESOURCE_FORM = {
    "name": "重庆市噪声监测点位信息", "summary": "全市功能区声环境质量监测点位及其所属区县。",
    "classification": "312002", "resource_class": "department", "format_category": "电子表格",
    "format": "csv", "share_type": "unconditional", "share_method": "接口",
    "open_type": "none", "update_cycle": "每年",
    "items.0.name": "station", "items.0.title": "监测点位", "items.0.data_type": "C",
    "items.0.length": "50", "items.0.required": "on", "items.0.sensitivity": "none",
    "items.1.name": "leq", "items.1.title": "等效声级", "items.1.data_type": "F",
    "items.1.sensitivity": "none",
}


def test_anonymous_visitors_are_sent_to_sign_in(browser):
    visitor = browser()
    response = visitor.client.get("/console/resources?status=draft", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/resources%3Fstatus%3Ddraft"
    page = visitor.get("/console/login")
    assert "登录工作台" in page.text and 'type="password"' in page.text


def test_sign_in_sets_a_strict_http_only_cookie_and_shows_only_the_roles_menus(
        browser, person, provider):
    name = person("steward", department=provider)
    visitor = browser()
    visitor.get("/console/login")
    signed = visitor.post("/console/login", {"username": name, "password": PASSWORD,
                                             "next": "/console/resources"})
    assert signed.status_code == 303 and signed.headers["location"] == "/console/resources"
    cookie = signed.headers["set-cookie"]
    assert "govdata_console=" in cookie and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Path=/console" in cookie
    home = visitor.get("/console/")
    assert "本部门资源" in home.text and "登记资源" in home.text
    assert "审计事件" not in home.text and "待审批" not in home.text


def test_a_wrong_password_is_shown_next_to_the_password_field(browser, person, provider):
    name = person("steward", department=provider)
    visitor = browser()
    visitor.get("/console/login")
    refused = visitor.post("/console/login", {"username": name, "password": "wrong one"})
    assert refused.status_code == 401
    assert 'id="err-password"' in refused.text and "用户名或密码错误" in refused.text
    assert "govdata_console" not in refused.headers.get("set-cookie", "")


def test_an_outside_next_is_never_followed(browser, person, provider):
    name = person("steward", department=provider)
    visitor = browser()
    visitor.get("/console/login")
    for target in ("https://evil.example/", "//evil.example/", "/console//evil.example"):
        signed = visitor.post("/console/login", {"username": name, "password": PASSWORD,
                                                 "next": target})
        assert signed.headers["location"] == "/console/"


def test_sign_out_revokes_the_token(browser, person, provider, session):
    name = person("steward", department=provider)
    visitor = browser(name)
    token = visitor.client.cookies["govdata_console"]
    assert visitor.get("/console/resources").status_code == 200
    out = visitor.post("/console/logout")
    assert out.status_code == 303 and out.headers["location"].startswith("/console/login")
    assert session.scalar(select(RevokedToken).where(RevokedToken.revoked_by == name))
    replay = browser()
    replay.client.cookies.set("govdata_console", token, path="/console")
    again = replay.client.get("/console/resources", follow_redirects=False)
    assert again.status_code == 303 and "expired=1" in again.headers["location"]
    api = replay.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401 and api.json()["code"] == "token_revoked"


def test_a_roles_page_reached_by_url_is_forbidden(browser, person, provider, consumer):
    requester = browser(person("requester", department=consumer))
    steward_ = browser(person("steward", department=provider))
    for visitor, path in ((requester, "/console/resources"), (requester, "/console/audit"),
                          (requester, "/console/inbox"), (requester, "/console/admin/users"),
                          (steward_, "/console/audit"), (steward_, "/console/catalog"),
                          (steward_, "/console/admin/overdue"),
                          (steward_, "/console/inbox")):
        page = visitor.get(path)
        assert page.status_code == 403, path
        assert "此页面仅限" in page.text and page.headers["content-type"].startswith("text/html")
    posted = requester.post("/console/resources/new", RESOURCE_FORM)
    assert posted.status_code == 403


def test_a_form_without_its_csrf_token_changes_nothing(browser, person, provider, session):
    name = person("steward", department=provider)
    draft = create(session, steward(provider), department=provider)
    visitor = browser(name)
    refused = visitor.post(f"/console/resources/{draft.code}/publish", csrf=False)
    assert refused.status_code == 403 and "表单已失效" in refused.text
    forged = visitor.post(f"/console/resources/{draft.code}/publish",
                          {"csrf_token": visitor.token[:-4] + "0000"}, csrf=False)
    assert forged.status_code == 403
    session.expire_all()
    assert session.get(Resource, draft.id).status == "draft"
    assert visitor.post(f"/console/resources/{draft.code}/publish").status_code == 303
    session.expire_all()
    assert session.get(Resource, draft.id).status == "published"


def test_another_departments_resource_cannot_be_changed(browser, person, provider, third,
                                                         session):
    theirs = create(session, steward(third), department=third, publish=True)
    hidden = create(session, steward(third), department=third)
    visitor = browser(person("steward", department=provider))
    for path in (f"/console/resources/{theirs.code}/retire",
                 f"/console/resources/{theirs.code}/edit"):
        refused = visitor.post(path, {**RESOURCE_FORM})
        assert refused.status_code == 403, path
    assert visitor.get(f"/console/resources/{theirs.code}/edit").status_code == 403
    upload = visitor.client.post(f"/console/resources/{theirs.code}/data",
                                 data={"csrf_token": visitor.token},
                                 files={"file": ("a.csv", b"station\nx\n", "text/csv")})
    assert upload.status_code == 403
    # a draft of another department does not exist for it, as in the API
    assert visitor.get(f"/console/resources/{hidden.code}").status_code == 404
    assert visitor.post(f"/console/resources/{hidden.code}/publish").status_code == 404
    session.expire_all()
    assert session.get(Resource, theirs.id).status == "published"
    assert session.get(Resource, hidden.id).status == "draft"
    refusals = session.scalars(select(AuditEntry).where(
        AuditEntry.resource == theirs.code, AuditEntry.outcome == "refused")).all()
    assert len(refusals) >= 3  # the console's refusals are on the ledger like the API's


def test_the_resource_form_shows_rule_errors_beside_their_fields_then_registers(
        browser, person, provider, session):
    visitor = browser(person("steward", department=provider))
    blank = visitor.get("/console/resources/new")
    assert blank.status_code == 200 and 'name="items.2.name"' in blank.text
    bad = visitor.post("/console/resources/new", {**RESOURCE_FORM, "share_type": "none",
                                                  "items.1.name": "Bad Name"})
    assert bad.status_code == 422
    assert 'id="err-legal_basis"' in bad.text
    assert 'id="err-items-1-name"' in bad.text
    assert 'value="重庆市噪声监测点位信息"' in bad.text  # what was typed is kept
    more = visitor.post("/console/resources/new", {**RESOURCE_FORM, "action": "add_item"})
    assert more.status_code == 200 and 'name="items.4.name"' in more.text
    made = visitor.post("/console/resources/new", RESOURCE_FORM)
    assert made.status_code == 303
    code = made.headers["location"].split("/console/resources/")[1].split("?")[0]
    created = catalog_service.get_resource(session, steward(provider), code)
    assert [i.name for i in created.items] == ["station", "leq"]
    assert created.items[0].required and created.status == "draft"


def test_an_upload_with_a_bad_row_shows_the_report_and_changes_nothing(
        browser, person, provider, session):
    visitor = browser(person("steward", department=provider))
    draft = create(session, steward(provider), department=provider,
                   items=[{"name": "station", "title": "站点", "data_type": "C",
                           "length": 10}, {"name": "aqi", "title": "指数", "data_type": "I"}])
    page = visitor.get(f"/console/resources/{draft.code}")
    bad = visitor.client.post(f"/console/resources/{draft.code}/data",
                              data={"csrf_token": visitor.token}, headers={"Accept": "text/html"},
                              files={"file": ("air.csv", "station,aqi\n解放碑,42\n观音桥,很好\n"
                                              .encode(), "text/csv")})
    assert page.status_code == 200 and bad.status_code == 422
    assert 'class="bad-rows"' in bad.text and "很好" in bad.text and "<td>2</td>" in bad.text
    assert "尚未加载数据" in bad.text
    good = visitor.client.post(f"/console/resources/{draft.code}/data",
                               data={"csrf_token": visitor.token}, follow_redirects=False,
                               files={"file": ("air.csv", "station,aqi\n解放碑,42\n观音桥,57\n"
                                               .encode(), "text/csv")})
    assert good.status_code == 303
    shown = visitor.get(good.headers["location"])
    assert "已加载第 1 版数据, 共 2 行" in shown.text and "观音桥" in shown.text


def test_request_approve_fewer_items_and_preview_the_granted_data(
        browser, person, provider, consumer, shared, session):
    resource = shared("conditional")
    asker = browser(person("requester", department=consumer))
    form = asker.get(f"/console/catalog/{resource.code}/request")
    assert form.status_code == 200 and 'value="person_id"' in form.text
    until = (clock.today() + dt.timedelta(days=200)).isoformat()
    missing = asker.post(f"/console/catalog/{resource.code}/request",
                         {"data_items": ["name", "district"], "purpose": "", "basis": "b",
                          "until": until})
    assert missing.status_code == 422 and 'id="err-purpose"' in missing.text
    asked = asker.post(f"/console/catalog/{resource.code}/request",
                       {"data_items": ["name", "district", "amount"], "purpose": "低保审核",
                        "basis": "《社会救助暂行办法》", "until": until})
    assert asked.status_code == 303
    made = session.scalars(select(ShareRequest)).all()[-1]
    assert made.status == "pending"

    decider = browser(person("approver", department=provider))
    inbox = decider.get("/console/inbox")
    assert f'href="/console/inbox/{made.id}"' in inbox.text
    no_reason = decider.post(f"/console/inbox/{made.id}/reject", {"reason": " "})
    assert no_reason.status_code == 422 and 'id="err-reason"' in no_reason.text
    shorter = (clock.today() + dt.timedelta(days=100)).isoformat()
    approved = decider.post(f"/console/inbox/{made.id}/approve",
                            {"data_items": ["district", "amount"], "until": shorter})
    assert approved.status_code == 303
    session.expire_all()
    grant = session.get(ShareRequest, made.id).grant
    assert grant.data_items == ["district", "amount"] and grant.ends.isoformat() == shorter

    preview = asker.get(f"/console/grants/{grant.id}")
    assert preview.status_code == 200 and "渝中区" in preview.text
    assert "张三" not in preview.text  # only the granted items are shown
    download = asker.client.get(f"/console/grants/{grant.id}/download")
    assert download.status_code == 200 and download.content.startswith(b"\xef\xbb\xbf")
    assert "区县" in download.content.decode("utf-8-sig")


def test_the_auditor_filters_exports_and_verifies_the_ledger(browser, person, make_department,
                                                            provider, session):
    create(session, steward(provider), department=provider, publish=True)
    auditor = browser(person("auditor", department=make_department()))
    table = auditor.get("/console/audit?action=catalog.resource.publish")
    assert table.status_code == 200 and "catalog.resource.publish" in table.text
    bad_date = auditor.get("/console/audit?since=yesterday")
    assert bad_date.status_code == 422 and 'id="err-since"' in bad_date.text
    exported = auditor.client.get("/console/audit/export?action=catalog.resource.publish")
    assert exported.content.startswith(b"\xef\xbb\xbf")
    assert b"catalog.resource.publish" in exported.content
    verified = auditor.post("/console/audit/verify")
    assert verified.status_code == 200 and "账本完整" in verified.text
    signed = auditor.client.get("/console/audit/checkpoint")
    assert signed.status_code == 200 and signed.json()["algorithm"] == "Ed25519"


def test_the_dashboard_draws_its_charts_as_inline_svg(browser, person, provider, shared):
    shared("conditional")
    viewer = browser(person("approver", department=provider))
    page = viewer.get("/console/dashboard")
    assert page.status_code == 200
    assert page.text.count("<svg") == 5 and "开放清单覆盖率与规划目标" in page.text
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")


def test_the_administrator_creates_a_user_with_errors_beside_fields(
        browser, person, make_department, provider, session):
    admin = browser(person("admin", department=make_department()))
    page = admin.get("/console/admin/users")
    assert page.status_code == 200
    bad = admin.post("/console/admin/users", {"username": "A B", "department_code": provider,
                                              "roles": []})
    assert bad.status_code == 422
    assert 'id="err-username"' in bad.text and 'id="err-roles"' in bad.text
    made = admin.post("/console/admin/users", {"username": "new.clerk",
                                               "department_code": provider,
                                               "roles": ["requester"],
                                               "password": "long enough pw"})
    assert made.status_code == 303
    assert "new.clerk" in admin.get("/console/admin/users").text
