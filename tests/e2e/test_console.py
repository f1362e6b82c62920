"""The staff console in headless Chromium, each role's main task end to end on the seeded
Chongqing platform, with a screenshot of every page (tests/e2e/artifacts/console-*.png)."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import httpx

from tests.e2e.conftest import screenshot

PASSWORD = "govdata-demo"
NAME = "重庆市道路交通噪声监测点位"
GOOD_CSV = "station,district,leq\n解放碑,渝中区,58.3\n观音桥,江北区,61.0\n杨家坪,九龙坡区,60.2\n"
BAD_CSV = "station,district,leq\n解放碑,渝中区,58.3\n观音桥,江北区,很吵\n杨家坪,九龙坡区,60.2\n"


def sign_in(page, username: str, shot: str | None = None) -> None:
    page.goto("/console/")
    assert "/console/login" in page.url
    page.fill("#f-username", username)
    page.fill("#f-password", PASSWORD)
    if shot:
        screenshot(page, shot)
    page.click("button:has-text('登录')")
    page.wait_for_url("**/console/")


def csv_file(text: str) -> dict:
    return {"name": "noise.csv", "mimeType": "text/csv", "buffer": text.encode("utf-8")}


def register(page) -> str:
    page.click("nav >> text=登记资源")
    page.fill("#f-name", NAME)
    page.fill("#f-classification", "312003")
    page.select_option("#f-resource_class", "department")
    page.fill("#f-summary", "全市道路交通声环境监测点位及其等效声级。")
    page.select_option("#f-format_category", "电子表格")
    page.fill("#f-format", "csv")
    page.select_option("#f-update_cycle", "每月")
    page.select_option("#f-share_type", "conditional")
    page.select_option("#f-share_method", "接口")
    for i, (name, title, kind) in enumerate((("station", "监测点位", "C"),
                                             ("district", "区县", "C"),
                                             ("leq", "等效声级", "F"))):
        page.fill(f"#f-items-{i}-name", name)
        page.fill(f"#f-items-{i}-title", title)
        page.select_option(f"#f-items-{i}-data_type", kind)
    page.click("button:has-text('登记 (草稿)')")
    # 有条件共享 needs its condition: the rule's message stands beside the field
    error = page.locator("#err-share_condition")
    assert error.is_visible() and "共享条件" in error.inner_text()
    screenshot(page, "console-steward-form-error")
    page.fill("#f-share_condition", "仅用于噪声污染执法和信访处理")
    page.click("button:has-text('登记 (草稿)')")
    page.wait_for_url(re.compile(r".*/console/resources/\d+/\d+"))
    assert "草稿" in page.locator("h1").inner_text()
    return page.url.split("/console/resources/")[1].split("?")[0]


def test_the_roles_main_tasks_end_to_end(page, new_page):
    sign_in(page, "cq-hbj-steward", "console-login")
    screenshot(page, "console-steward-home")
    page.click("nav >> text=本部门资源")
    screenshot(page, "console-steward-resources")
    code = register(page)
    page.click("button:has-text('发布')")
    assert "已发布" in page.locator(".notice").inner_text()
    page.set_input_files("input[name=file]", files=[csv_file(BAD_CSV)])
    page.click("button:has-text('上传数据')")
    report = page.locator("table.bad-rows")
    assert report.is_visible() and "很吵" in report.inner_text()
    screenshot(page, "console-steward-bad-rows")
    page.set_input_files("input[name=file]", files=[csv_file(GOOD_CSV)])
    page.click("button:has-text('上传数据')")
    assert "共 3 行" in page.locator(".notice").inner_text()
    screenshot(page, "console-steward-resource")

    requester = new_page()
    sign_in(requester, "cq-mzj-requester")
    requester.click("nav >> text=共享目录")
    requester.fill("#f-q", "噪声")
    requester.click("button:has-text('检索')")
    screenshot(requester, "console-requester-catalog")
    requester.click(f"a[href='/console/catalog/{code}/request']")
    for name in ("station", "district", "leq"):
        requester.check(f"input[name=data_items][value={name}]")
    requester.fill("#f-purpose", "噪声投诉核查")
    requester.fill("#f-basis", "《中华人民共和国噪声污染防治法》第八十六条")
    screenshot(requester, "console-requester-request-form")
    requester.click("button:has-text('提交申请')")
    assert "等待提供部门审批" in requester.locator(".notice").inner_text()
    request_id = requester.url.split("/my-requests/")[1].split("?")[0]
    screenshot(requester, "console-requester-request")

    page.click("nav >> text=待审批")
    row = page.locator(f"a[href='/console/inbox/{request_id}']").first
    screenshot(page, "console-approver-inbox")
    row.click()
    page.uncheck("input[name=data_items][value=leq]")
    screenshot(page, "console-approver-decision")
    page.click("button:has-text('批准')")
    assert "已批准" in page.locator(".notice").inner_text()

    requester.click("nav >> text=已获授权")
    screenshot(requester, "console-requester-grants")
    requester.click(f"text={NAME}")
    preview = requester.locator("table.preview")
    assert "观音桥" in preview.inner_text() and "等效声级" not in preview.inner_text()
    screenshot(requester, "console-requester-granted-data")

    auditor = new_page()
    sign_in(auditor, "cq-auditor")
    auditor.click("nav >> text=审计事件")
    auditor.fill("#f-resource", code)
    auditor.click("button:has-text('筛选')")
    table = auditor.locator("table.audit").inner_text()
    for action in ("catalog.resource.create", "catalog.resource.publish", "data.load",
                   "exchange.request",
                   "exchange.approve", "exchange.data.read"):
        assert action in table, action
    screenshot(auditor, "console-auditor-events")
    auditor.click("button:has-text('校验账本')")
    assert "账本完整" in auditor.locator(".verification").inner_text()
    screenshot(auditor, "console-auditor-verified")


def test_dashboard_admin_and_forbidden_pages(page, phone_page):
    sign_in(page, "cq-hbj-steward")
    page.click("nav >> text=评估看板")
    assert page.locator("svg.chart").count() == 5
    screenshot(page, "console-dashboard")
    page.goto("/console/audit")
    assert page.locator("h1").inner_text() == "无权操作"
    screenshot(page, "console-forbidden")
    page.click("text=返回首页")
    page.click("button:has-text('退出')")
    page.goto("/console/resources")
    assert "/console/login" in page.url

    sign_in(phone_page, "cq-admin")
    phone_page.goto("/console/admin/users")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone_page, "console-admin-users-phone")
    phone_page.goto("/console/admin/overdue")
    screenshot(phone_page, "console-admin-overdue-phone")


INSURED = "重庆市社会保险参保单位信息"  # conditional open data of cq-rsj (cq-rsj-steward approves)
UNDERTAKING = "本人承诺仅将数据用于所述研究目的, 不向第三方提供, 到期后删除。"


def public_applicant(server, dataset: str) -> tuple[dict, int, list[str]]:
    """A new public account applying, through the portal's API, for every public item of
    a conditional dataset: its headers, the application's number and the items."""
    base = f"{server.url}/api/v1/open"
    email = f"applicant-{uuid.uuid4().hex[:8]}@example.cn"
    made = httpx.post(f"{base}/accounts", json={"email": email, "password": "a-long-pass-2026",
                                                "name": "王研究", "organisation": "西南大学"})
    assert made.status_code == 201, made.text
    token = httpx.post(f"{base}/accounts/token",
                       json={"email": email, "password": "a-long-pass-2026"}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    items = [i["name"] for i in httpx.get(f"{base}/datasets/{dataset}").json()["items"]]
    until = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    applied = httpx.post(f"{base}/applications", headers=headers, json={
        "dataset": dataset, "purpose": "研究重庆市参保单位的行业分布, 用于学术论文",
        "data_items": items, "undertaking": UNDERTAKING, "until": until})
    assert applied.status_code == 201, applied.text
    return headers, applied.json()["id"], items


def test_the_approver_answers_the_public_and_the_admin_deactivates_a_user(
        page, new_page, phone_page, server):
    base = f"{server.url}/api/v1/open"
    found = httpx.get(f"{base}/datasets", params={"q": INSURED}).json()
    dataset = next(d["name"] for d in found["items"] if d["title"] == INSURED)
    applicant, number, items = public_applicant(server, dataset)
    asked = httpx.post(f"{base}/data-requests", json={
        "title": "开放社会保险缴费基数统计", "department": "cq-rsj",
        "description": "希望按区县和行业开放社会保险缴费基数的汇总统计数据。"})
    assert asked.status_code == 201, asked.text
    reported = httpx.post(f"{base}/error-reports", json={
        "dataset": dataset, "description": "第 3 条记录的参保单位名称与工商登记不一致。",
        "record": "3"})
    assert reported.status_code == 201, reported.text

    sign_in(page, "cq-rsj-steward")
    page.click("nav >> text=开放数据申请")
    assert "王研究" in page.locator("table.applications").inner_text()
    screenshot(page, "console-approver-applications")
    page.click(f"a[href='/console/applications/{number}'] >> nth=0")
    dropped = items[-1]
    page.uncheck(f"input[name=data_items][value={dropped}]")
    screenshot(page, "console-approver-application")
    page.click("button:has-text('批准')")
    assert "已批准" in page.locator(".notice").inner_text()
    screenshot(page, "console-approver-application-approved")
    mine = httpx.get(f"{base}/applications/{number}", headers=applicant).json()
    assert mine["status"] == "approved" and mine["granted_items"] == items[:-1]

    page.click("nav >> text=数据需求")
    page.click("text=开放社会保险缴费基数统计")
    screenshot(page, "console-approver-data-request")
    page.select_option("#f-outcome", "planned")
    page.fill("#f-answer", "已列入本年度开放计划, 预计下季度发布。")
    page.click("button:has-text('答复')")
    assert "已答复数据需求" in page.locator(".notice").inner_text()
    public = httpx.get(f"{base}/data-requests/{asked.json()['id']}").json()
    assert public["status"] == "planned"
    page.click("nav >> text=纠错")
    assert "参保单位名称" in page.locator("table.error-reports").inner_text()
    screenshot(page, "console-approver-error-reports")

    clerk = f"e2e-clerk-{uuid.uuid4().hex[:6]}"
    admin = new_page()
    sign_in(admin, "cq-admin")
    admin.click("nav >> text=部门与用户")
    admin.fill("#f-username", clerk)
    admin.select_option("#f-department_code", "cq-mzj")
    admin.check("input[name=roles][value=requester]")
    admin.fill("#f-password", PASSWORD)
    admin.click("button:has-text('创建')")
    assert f"已创建用户 {clerk}" in admin.locator(".notice").inner_text()
    screenshot(admin, "console-admin-users")
    person = new_page()
    sign_in(person, clerk)
    admin.click(f"a[href='/console/admin/users/{clerk}']")
    assert admin.locator("table.tokens tbody tr").count() == 1  # the clerk's live session
    screenshot(admin, "console-admin-user")
    admin.click("button:has-text('停用账号')")
    assert "已停用" in admin.locator(".notice").inner_text()
    assert "启用账号" in admin.content()
    screenshot(admin, "console-admin-user-deactivated")
    person.click("nav >> text=我的申请")
    assert "/console/login" in person.url  # the deactivated account's session is over
    admin.click("nav >> text=访问令牌")
    screenshot(admin, "console-admin-tokens")

    sign_in(phone_page, "cq-admin")
    for path, shot in ((f"/console/admin/users/{clerk}", "console-admin-user-phone"),
                       ("/console/admin/tokens", "console-admin-tokens-phone")):
        phone_page.goto(path)
        assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390, path
        screenshot(phone_page, shot)
