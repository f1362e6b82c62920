"""What the public sends to a department, answered in the console: applications for
conditional open data, data requests and error reports. The portal's services decide who
may list and answer them; the console shows their refusals (another department's
application, a role without the menu, a post without its CSRF token) and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from govdata.openportal import accounts, applications, feedback
from govdata.openportal.models import Application, DataRequest, ErrorReport
from govdata.platform import clock
from govdata.platform.models import AuditEntry
from tests.catalog import steward
from tests.openportal.conftest import PEOPLE_ITEMS, PEOPLE_ROWS, create_dataset

UNDERTAKING = "本人承诺仅将数据用于所述研究目的, 不向第三方提供, 到期后删除。"


def days(n: int) -> dt.date:
    return clock.today() + dt.timedelta(days=n)


@pytest.fixture
def dataset(session, provider, tmp_path):
    """A conditional open dataset of the provider, with personal data."""
    return create_dataset(session, steward(provider), provider, tmp_path, items=PEOPLE_ITEMS,
                          rows=PEOPLE_ROWS, open_type="conditional",
                          name="重庆市低保补贴发放明细", summary="低保对象补贴发放明细")


@pytest.fixture
def account(session):
    return accounts.register(session, email="li.ming@example.cn", password="长城-secret-2026",
                             name="李明", organisation="重庆大学")


@pytest.fixture
def application(session, settings, dataset, account) -> Application:
    return applications.apply(
        session, account, settings, dataset=dataset.code.replace("/", "-"),
        purpose="研究城市低保补贴的区县分布与发放水平",
        data_items=["district", "person_name", "subsidy"], undertaking=UNDERTAKING,
        until=days(60), principal=accounts.as_principal(account))


def ledger(session, action: str) -> list[tuple[str, str]]:
    return [(e.actor, e.outcome) for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def test_the_approver_approves_fewer_items_shown_by_their_chinese_titles(
        browser, person, provider, application, session):
    name = person("approver", department=provider)
    decider = browser(name)
    home = decider.get("/console/")
    assert 'href="/console/applications"' in home.text
    listed = decider.get("/console/applications")
    assert listed.status_code == 200
    assert f'href="/console/applications/{application.id}"' in listed.text
    assert "李明" in listed.text and "重庆市低保补贴发放明细" in listed.text
    page = decider.get(f"/console/applications/{application.id}")
    assert page.status_code == 200
    assert "姓名" in page.text and "补贴金额" in page.text and ">person_name<" not in page.text
    too_late = decider.post(f"/console/applications/{application.id}/approve",
                            {"data_items": ["district"], "until": days(90).isoformat()})
    assert too_late.status_code == 422 and 'id="err-until"' in too_late.text
    none_chosen = decider.post(f"/console/applications/{application.id}/approve",
                               {"until": days(30).isoformat()})
    assert none_chosen.status_code == 422 and 'id="err-data_items"' in none_chosen.text
    approved = decider.post(f"/console/applications/{application.id}/approve",
                            {"data_items": ["district", "subsidy"],
                             "until": days(30).isoformat(), "note": "仅限研究使用"})
    assert approved.status_code == 303, approved.text
    session.expire_all()
    found = session.get(Application, application.id)
    assert (found.status, found.granted_items) == ("approved", ["district", "subsidy"])
    assert found.granted_until == days(30) and found.decided_by == name
    assert (name, "allowed") in ledger(session, "openportal.application.approve")
    shown = decider.get(approved.headers["location"])
    assert "已批准" in shown.text and "撤销理由" in shown.text


def test_a_refusal_needs_its_reason_beside_the_field(browser, person, provider, application,
                                                     session):
    decider = browser(person("approver", department=provider))
    blank = decider.post(f"/console/applications/{application.id}/reject", {"reason": "  "})
    assert blank.status_code == 422 and 'id="err-reason"' in blank.text
    refused = decider.post(f"/console/applications/{application.id}/reject",
                           {"reason": "申请用途与开放条件不符"})
    assert refused.status_code == 303
    session.expire_all()
    found = session.get(Application, application.id)
    assert (found.status, found.reason) == ("refused", "申请用途与开放条件不符")
    again = decider.post(f"/console/applications/{application.id}/reject",
                         {"reason": "再次拒绝"})
    assert again.status_code == 422 and "不能执行此操作" in again.text


def test_another_departments_application_is_neither_shown_nor_decided(
        browser, person, provider, consumer, application, session):
    elsewhere = browser(person("approver", "steward", department=consumer))
    assert f"/console/applications/{application.id}" not in elsewhere.get(
        "/console/applications").text
    assert elsewhere.get(f"/console/applications/{application.id}").status_code == 403
    for action, data in (("approve", {"data_items": ["district"],
                                      "until": days(30).isoformat()}),
                         ("reject", {"reason": "越权拒绝"})):
        refused = elsewhere.post(f"/console/applications/{application.id}/{action}", data)
        assert refused.status_code == 403, action
        assert "只有数据提供部门的审批人" in refused.text
    session.expire_all()
    assert session.get(Application, application.id).status == "pending"
    refusals = session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("openportal.application.%"),
        AuditEntry.outcome == "refused")).all()
    assert len(refusals) >= 3  # on the ledger as the API's refusals are


def test_a_steward_sees_the_applications_but_only_an_approver_decides(
        browser, person, provider, application, session):
    clerk = browser(person("steward", department=provider))
    page = clerk.get(f"/console/applications/{application.id}")
    assert page.status_code == 200 and "由本部门审批人决定" in page.text
    assert f"/console/applications/{application.id}/approve" not in page.text
    refused = clerk.post(f"/console/applications/{application.id}/approve",
                         {"data_items": ["district"], "until": days(30).isoformat()})
    assert refused.status_code == 403
    session.expire_all()
    assert session.get(Application, application.id).status == "pending"


def test_roles_without_the_menus_are_refused_by_url(browser, person, provider, consumer,
                                                    application):
    for roles in (("requester",), ("auditor",), ("admin",)):
        visitor = browser(person(*roles, department=provider))
        home = visitor.get("/console/")
        paths = ["/console/applications", "/console/error-reports"]
        if roles != ("admin",):  # administrators answer the data requests naming no one
            paths.append("/console/data-requests")
        for path in paths:
            assert f'href="{path}"' not in home.text, (roles, path)
            refused = visitor.get(path)
            assert refused.status_code == 403, (roles, path)
            assert "此页面仅限" in refused.text
        assert visitor.get(f"/console/applications/{application.id}").status_code == 403


def test_a_decision_without_its_csrf_token_changes_nothing(browser, person, provider,
                                                           application, session):
    decider = browser(person("approver", department=provider))
    decider.get(f"/console/applications/{application.id}")
    refused = decider.post(f"/console/applications/{application.id}/reject",
                           {"reason": "无 CSRF"}, csrf=False)
    assert refused.status_code == 403 and "表单已失效" in refused.text
    session.expire_all()
    assert session.get(Application, application.id).status == "pending"


def test_data_requests_to_the_department_are_answered_and_closed(
        browser, person, provider, consumer, session):
    ours = feedback.submit_request(session, title="公开公交线路实时到站数据",
                                   description="希望开放全市公交线路实时到站时间数据。",
                                   department=provider, contact_email="asker@example.cn")
    theirs = feedback.submit_request(session, title="公开菜市场价格监测",
                                     description="希望开放各区农贸市场的价格监测数据。",
                                     department=consumer)
    clerk = browser(person("steward", department=provider))
    listed = clerk.get("/console/data-requests")
    assert listed.status_code == 200
    assert f"/console/data-requests/{ours.id}" in listed.text
    assert f"/console/data-requests/{theirs.id}" not in listed.text
    page = clerk.get(f"/console/data-requests/{ours.id}")
    assert "公开公交线路实时到站数据" in page.text and "asker@example.cn" not in page.text
    bad = clerk.post(f"/console/data-requests/{ours.id}/answer", {"outcome": "", "answer": "好"})
    assert bad.status_code == 422
    assert 'id="err-outcome"' in bad.text and 'id="err-answer"' in bad.text
    answered = clerk.post(f"/console/data-requests/{ours.id}/answer",
                          {"outcome": "planned", "answer": "已列入下季度开放计划"})
    assert answered.status_code == 303
    # another department's request: shown (it is public) but not answerable
    other = clerk.get(f"/console/data-requests/{theirs.id}")
    assert other.status_code == 200
    assert f"/console/data-requests/{theirs.id}/answer" not in other.text
    refused = clerk.post(f"/console/data-requests/{theirs.id}/answer",
                         {"outcome": "declined", "answer": "不归本部门管"})
    assert refused.status_code == 403
    session.expire_all()
    assert session.get(DataRequest, ours.id).status == "planned"
    assert session.get(DataRequest, ours.id).answer == "已列入下季度开放计划"
    assert session.get(DataRequest, theirs.id).status == "pending"
    assert ("refused" in [o for _, o in ledger(session, "openportal.data_request.answer")])


def test_error_reports_on_the_departments_datasets_are_answered(
        browser, person, provider, consumer, dataset, session):
    report = feedback.submit_report(session, dataset=dataset.code.replace("/", "-"),
                                    description="第 2 行的区县应为江北区而不是渝中区。",
                                    data_item="district", record="2")
    decider = browser(person("approver", department=provider))
    listed = decider.get("/console/error-reports")
    assert f"/console/error-reports/{report.id}" in listed.text
    page = decider.get(f"/console/error-reports/{report.id}")
    assert "区县" in page.text and ">district<" not in page.text
    outsider = browser(person("approver", "steward", department=consumer))
    assert f"/console/error-reports/{report.id}" not in outsider.get(
        "/console/error-reports").text
    assert outsider.post(f"/console/error-reports/{report.id}/answer",
                         {"outcome": "no_error", "answer": "经核实无误"}).status_code == 403
    unsigned = decider.post(f"/console/error-reports/{report.id}/answer",
                            {"outcome": "corrected", "answer": "已更正"}, csrf=False)
    assert unsigned.status_code == 403
    session.expire_all()
    assert session.get(ErrorReport, report.id).status == "pending"
    answered = decider.post(f"/console/error-reports/{report.id}/answer",
                            {"outcome": "corrected", "answer": "已更正第 2 行并重新发布"})
    assert answered.status_code == 303
    session.expire_all()
    assert session.get(ErrorReport, report.id).status == "corrected"


def test_administrators_answer_the_data_requests_naming_no_department(
        browser, person, provider, make_department, session):
    nobodys = feedback.submit_request(session, title="开放全市停车场泊位数据",
                                      description="希望开放全市公共停车场的实时空余泊位数据。")
    addressed = feedback.submit_request(session, title="开放社保缴费统计",
                                        description="希望开放社会保险缴费的区县汇总统计。",
                                        department=provider)
    admin = browser(person("admin", department=make_department()))
    assert 'href="/console/data-requests"' in admin.get("/console/").text
    listed = admin.get("/console/data-requests")
    assert listed.status_code == 200 and "未指定部门" in listed.text
    assert f"/console/data-requests/{nobodys.id}" in listed.text
    assert f"/console/data-requests/{addressed.id}" not in listed.text
    answered = admin.post(f"/console/data-requests/{nobodys.id}/answer",
                          {"outcome": "declined", "answer": "涉及企业经营数据, 暂不开放"})
    assert answered.status_code == 303
    # a department's request is its stewards' and approvers', not the administrators'
    refused = admin.post(f"/console/data-requests/{addressed.id}/answer",
                         {"outcome": "planned", "answer": "管理员代答"})
    assert refused.status_code == 403
    clerk = browser(person("steward", department=provider))
    assert f"/console/data-requests/{nobodys.id}" not in clerk.get(
        "/console/data-requests?status=").text
    session.expire_all()
    assert session.get(DataRequest, nobodys.id).status == "declined"
    assert session.get(DataRequest, addressed.id).status == "pending"
