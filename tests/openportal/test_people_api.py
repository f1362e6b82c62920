"""The portal's people side through the HTTP API: public accounts, applications for
conditional open data decided by the provider's approvers, API keys (shown once, stored
hashed, revocable, their own rate limit) on our API and the CKAN API, data requests and
error reports with public status and answers, and every decision on the ledger."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from govdata.openportal.identifiers import datastore_resource_id
from govdata.openportal.models import ApiKey
from govdata.platform import audit, clock

from .conftest import PEOPLE_ITEMS, PEOPLE_ROWS, name_of
from .test_api import assert_problem

OPEN = "/api/v1/open"
PASSWORD = "长城-secret-2026"
UNDERTAKING = "本人承诺仅将数据用于所述研究目的, 不向第三方提供, 到期后删除。"


def until(days: int = 30) -> str:
    return (clock.today() + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def register(api):
    def make(email: str = "li.ming@example.cn") -> dict[str, str]:
        created = api.post(f"{OPEN}/accounts", json={"email": email, "password": PASSWORD,
                                                       "name": "李明", "organisation": "重庆大学"})
        assert created.status_code == 201, created.text
        token = api.post(f"{OPEN}/accounts/token", json={"email": email, "password": PASSWORD})
        assert token.status_code == 200, token.text
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    return make


@pytest.fixture
def subsidies(make_dataset):
    """A conditional dataset full of personal data."""
    return make_dataset(PEOPLE_ITEMS, PEOPLE_ROWS, name="重庆市低保补贴发放明细",
                        summary="低保对象补贴发放明细", open_type="conditional")


@pytest.fixture
def approver(make_user, dept, auth):
    return auth(make_user("approver", department=dept))


def ledger_actions(session, resource) -> list[tuple[str, str]]:
    events, _ = audit.list_events(session, resource=resource.code, limit=100)
    return [(e.action, e.outcome) for e in reversed(events)
            if e.action.startswith("openportal.")]


def test_accounts_register_sign_in_and_out(api):
    bad = api.post(f"{OPEN}/accounts", json={"email": "not-an-email", "password": "short",
                                             "name": " "})
    body = assert_problem(bad, 422, "account_invalid")
    assert {tuple(e["loc"]) for e in body["errors"]} == {("email",), ("password",), ("name",)}
    made = api.post(f"{OPEN}/accounts", json={"email": "Wang@Example.cn", "password": PASSWORD,
                                              "name": "王芳"})
    assert made.status_code == 201, made.text
    assert made.json()["email"] == "wang@example.cn"
    assert "password" not in made.text
    again = api.post(f"{OPEN}/accounts", json={"email": "wang@example.cn",
                                               "password": PASSWORD, "name": "王芳"})
    assert_problem(again, 409, "email_taken")
    wrong = api.post(f"{OPEN}/accounts/token", json={"email": "wang@example.cn",
                                                     "password": "wrong password!"})
    assert_problem(wrong, 401, "credentials_invalid")
    token = api.post(f"{OPEN}/accounts/token", json={"email": "WANG@example.cn",
                                                     "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert api.get(f"{OPEN}/accounts/me", headers=headers).json()["name"] == "王芳"
    assert api.delete(f"{OPEN}/accounts/token", headers=headers).status_code == 204
    assert_problem(api.get(f"{OPEN}/accounts/me", headers=headers), 401, "sign_in_required")
    assert_problem(api.get(f"{OPEN}/accounts/me"), 401, "sign_in_required")


def apply(api, headers, dataset, **overrides):
    body = {"dataset": name_of(dataset), "purpose": "研究城市低保补贴的区县分布与发放水平",
            "data_items": ["district", "person_name", "subsidy", "phone"],
            "undertaking": UNDERTAKING, "until": until(), **overrides}
    return api.post(f"{OPEN}/applications", json=body, headers=headers)


def test_application_decision_key_api_call_revocation(api, session, subsidies, register,
                                                      approver, make_user, auth):
    name = name_of(subsidies)
    assert_problem(api.get(f"{OPEN}/datasets/{name}/records"), 403, "open_data_conditional")
    applicant = register()
    applied = apply(api, applicant, subsidies)
    assert applied.status_code == 201, applied.text
    application = applied.json()
    assert (application["status"], application["status_title"]) == ("pending", "待审核")
    number = application["id"]

    outsider = auth(make_user("approver"))  # an approver of another department
    decide = f"{OPEN}/provider/applications/{number}/approve"
    assert_problem(api.post(decide, json={}, headers=outsider), 403, "not_provider_approver")
    queue = api.get(f"{OPEN}/provider/applications", headers=approver).json()
    assert [(a["id"], a["applicant_email"]) for a in queue["items"]] == [
        (number, "li.ming@example.cn")]
    approved = api.post(decide, headers=approver, json={
        "data_items": ["district", "person_name", "subsidy"], "until": until(10),
        "note": "同意, 仅限研究使用"})
    assert approved.status_code == 200, approved.text
    mine = api.get(f"{OPEN}/applications/{number}", headers=applicant).json()
    assert mine["status"] == "approved"
    assert mine["granted_items"] == ["district", "person_name", "subsidy"]

    issued = api.post(f"{OPEN}/applications/{number}/keys", headers=applicant)
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    assert key.startswith("gdk_") and len(key) > 40
    stored = session.scalar(select(ApiKey).where(ApiKey.id == issued.json()["id"]))
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    listed = api.get(f"{OPEN}/keys", headers=applicant)
    assert key not in listed.text and listed.json()[0]["state"] == "active"

    with_key = {"Authorization": f"Bearer {key}"}
    page = api.get(f"{OPEN}/datasets/{name}/records", headers=with_key)
    assert page.status_code == 200, page.text
    assert [f["id"] for f in page.json()["fields"]] == ["_id", "district", "person_name",
                                                        "subsidy"]
    assert {r["person_name"] for r in page.json()["items"]} == {"张**", "欧阳**", "李*"}
    assert "13812341234" not in page.text
    ckan = api.post("/api/3/action/datastore_search", headers={"Authorization": key},
                    json={"resource_id": datastore_resource_id(subsidies.id)})
    assert ckan.json()["success"] is True and ckan.json()["result"]["total"] == 3
    csv_text = api.get(f"{OPEN}/datasets/{name}/download", headers=with_key).content
    assert csv_text.decode("utf-8-sig").splitlines()[0] == "_id,district,person_name,subsidy"
    unasked = api.get(f"{OPEN}/datasets/{name}/records", headers=with_key,
                      params={"fields": "district,phone"})
    assert unasked.status_code in (400, 422), unasked.text

    revoked = api.post(f"{OPEN}/keys/{issued.json()['id']}/revoke", headers=applicant)
    assert revoked.json()["state"] == "revoked"
    assert_problem(api.get(f"{OPEN}/datasets/{name}/records", headers=with_key), 401,
                   "api_key_revoked")
    ckan = api.post("/api/3/action/datastore_search", headers={"Authorization": key},
                    json={"resource_id": datastore_resource_id(subsidies.id)})
    assert ckan.status_code == 403 and "已撤销" in ckan.json()["error"]["message"]
    assert ledger_actions(session, subsidies) == [
        ("openportal.data.read", "refused"),  # the first read, without a key
        ("openportal.application.submit", "allowed"),
        ("openportal.application.approve", "refused"),
        ("openportal.application.approve", "allowed"),
        ("openportal.key.issue", "allowed"),
        ("openportal.data.read", "allowed"),
        ("openportal.data.read", "allowed"),
        ("openportal.data.download", "allowed"),
        ("openportal.key.revoke", "allowed"),
        ("openportal.data.read", "refused"),  # CKAN, with the revoked key
    ]


def test_a_refusal_gives_reasons_and_opens_nothing(api, session, subsidies, register,
                                                   approver, make_user, auth, dept):
    applicant = register()
    number = apply(api, applicant, subsidies).json()["id"]
    steward = auth(make_user("steward", department=dept))
    assert_problem(api.post(f"{OPEN}/provider/applications/{number}/reject",
                            json={"reason": "x" * 10}, headers=steward),
                   403, "not_provider_approver")
    reject = f"{OPEN}/provider/applications/{number}/reject"
    assert_problem(api.post(reject, json={"reason": "  "}, headers=approver), 422,
                   "reason_required")
    refused = api.post(reject, json={"reason": "用途与开放条件不符: 仅向科研机构开放"},
                       headers=approver)
    assert refused.status_code == 200, refused.text
    mine = api.get(f"{OPEN}/applications", headers=applicant).json()["items"][0]
    assert (mine["status"], mine["reason"]) == ("refused", "用途与开放条件不符: 仅向科研机构开放")
    assert_problem(api.post(f"{OPEN}/applications/{number}/keys", headers=applicant), 409,
                   "application_not_approved")
    assert_problem(api.post(reject, json={"reason": "再次拒绝"}, headers=approver), 409,
                   "application_not_pending")
    assert ("openportal.application.reject", "refused") in ledger_actions(session, subsidies)


def test_the_provider_revokes_an_application_and_its_keys_stop(api, subsidies, register,
                                                               approver, session):
    applicant = register()
    number = apply(api, applicant, subsidies).json()["id"]
    api.post(f"{OPEN}/provider/applications/{number}/approve", json={}, headers=approver)
    key = api.post(f"{OPEN}/applications/{number}/keys", headers=applicant).json()["key"]
    records = f"{OPEN}/datasets/{name_of(subsidies)}/records"
    assert api.get(records, headers={"Authorization": key}).status_code == 200
    revoke = f"{OPEN}/provider/applications/{number}/revoke"
    assert_problem(api.post(revoke, json={}, headers=approver), 422, "reason_required")
    assert api.post(revoke, json={"reason": "发现违规使用"}, headers=approver).status_code == 200
    assert_problem(api.get(records, headers={"Authorization": key}), 401, "api_key_revoked")
    assert api.get(f"{OPEN}/applications/{number}", headers=applicant).json()["status"] == \
        "revoked"


def test_keys_expire_and_open_only_their_dataset(api, session, subsidies, make_dataset,
                                                 register, approver):
    other = make_dataset(name="重庆市另一有条件数据集", open_type="conditional")
    applicant = register()
    number = apply(api, applicant, subsidies).json()["id"]
    api.post(f"{OPEN}/provider/applications/{number}/approve", json={}, headers=approver)
    issued = api.post(f"{OPEN}/applications/{number}/keys", headers=applicant).json()
    key = {"Authorization": f"Bearer {issued['key']}"}
    assert_problem(api.get(f"{OPEN}/datasets/{name_of(other)}/records", headers=key), 403,
                   "api_key_wrong_dataset")
    assert_problem(api.get(f"{OPEN}/datasets/{name_of(subsidies)}/records",
                           headers={"Authorization": "Bearer gdk_nonsense"}), 401,
                   "api_key_invalid")
    stored = session.get(ApiKey, issued["id"])
    stored.expires_at = clock.now() - dt.timedelta(seconds=1)
    session.flush()
    assert_problem(api.get(f"{OPEN}/datasets/{name_of(subsidies)}/records", headers=key), 401,
                   "api_key_expired")


def test_applications_are_checked(api, subsidies, air, register):
    assert_problem(apply(api, {}, subsidies), 401, "sign_in_required")
    applicant = register()
    assert_problem(apply(api, applicant, air), 422, "application_not_needed")
    bad = apply(api, applicant, subsidies, purpose="看看", data_items=["secret_note", "nope"],
                undertaking="", until=until(5000))
    body = assert_problem(bad, 422, "application_invalid")
    assert {tuple(e["loc"]) for e in body["errors"]} == {
        ("purpose",), ("data_items", "secret_note"), ("data_items", "nope"), ("undertaking",),
        ("until",)}
    assert apply(api, applicant, subsidies).status_code == 201
    assert_problem(apply(api, applicant, subsidies), 409, "application_pending")


def test_a_key_has_its_own_rate_limit(api, settings, subsidies, register, approver):
    applicant = register()
    number = apply(api, applicant, subsidies).json()["id"]
    api.post(f"{OPEN}/provider/applications/{number}/approve", json={}, headers=approver)
    key = {"Authorization": api.post(f"{OPEN}/applications/{number}/keys",
                                     headers=applicant).json()["key"]}
    settings.api_key_rate_limit_per_minute = 2
    records = f"{OPEN}/datasets/{name_of(subsidies)}/records"
    assert [api.get(records, headers=key).status_code for _ in range(3)] == [200, 200, 429]
    assert api.get(f"{OPEN}/datasets").status_code == 200  # the IP's own count goes on


def test_data_requests_are_public_with_their_answers(api, session, make_user, auth, dept):
    submitted = api.post(f"{OPEN}/data-requests", json={
        "title": "公交实时到站数据",
        "description": "希望开放全市公交线路的实时到站数据, 用于出行应用",
        "department": dept, "contact_email": "zhao@example.cn"})
    assert submitted.status_code == 201, submitted.text
    number = submitted.json()["id"]
    bad = api.post(f"{OPEN}/data-requests", json={"title": "", "description": "短",
                                                  "department": "no-such",
                                                  "contact_email": "bad"})
    body = assert_problem(bad, 422, "data_request_invalid")
    assert {e["loc"][0] for e in body["errors"]} == {"title", "description", "department",
                                                     "contact_email"}
    shown = api.get(f"{OPEN}/data-requests/{number}")
    assert shown.json()["status_title"] == "待答复"
    assert "zhao@example.cn" not in shown.text
    answer = f"{OPEN}/data-requests/{number}/answer"
    outsider = auth(make_user("steward"))
    assert_problem(api.post(answer, json={"outcome": "planned", "answer": "计划下季度开放"},
                            headers=outsider), 403, "not_answering_department")
    steward = auth(make_user("steward", department=dept))
    assert_problem(api.post(answer, json={"outcome": "maybe", "answer": ""}, headers=steward),
                   422, "answer_invalid")
    answered = api.post(answer, json={"outcome": "planned", "answer": "计划于下季度开放"},
                        headers=steward)
    assert answered.status_code == 200, answered.text
    assert_problem(api.post(answer, json={"outcome": "declined", "answer": "改为不开放"},
                            headers=steward), 409, "already_answered")
    listed = api.get(f"{OPEN}/data-requests", params={"department": dept}).json()
    assert [(r["id"], r["status_title"], r["answer"]) for r in listed["items"]] == [
        (number, "将开放", "计划于下季度开放")]
    events, _ = audit.list_events(session, action="openportal.data_request.answer")
    assert [e.outcome for e in reversed(events)] == ["refused", "refused", "allowed", "refused"]


def test_error_reports_are_answered_by_the_dataset_department(api, air, make_user, auth,
                                                              dept):
    name = name_of(air)
    assert_problem(api.post(f"{OPEN}/error-reports", json={
        "dataset": "999999-000001", "description": "数据有误" * 3}), 404, "dataset_not_found")
    bad = api.post(f"{OPEN}/error-reports", json={"dataset": name, "description": "错",
                                                  "data_item": "nope"})
    assert {e["loc"][0] for e in assert_problem(bad, 422, "error_report_invalid")["errors"]} \
        == {"description", "data_item"}
    made = api.post(f"{OPEN}/error-reports", json={
        "dataset": name, "data_item": "aqi", "record": "3",
        "description": "虎溪站 AQI 为 120, 与当日实际监测值 58 不符",
        "contact_email": "q@example.cn"})
    assert made.status_code == 201, made.text
    number = made.json()["id"]
    steward = auth(make_user("steward", department=dept))
    answered = api.post(f"{OPEN}/error-reports/{number}/answer", headers=steward,
                        json={"outcome": "corrected", "answer": "已核实并更正, 感谢指出"})
    assert answered.status_code == 200, answered.text
    shown = api.get(f"{OPEN}/error-reports/{number}").json()
    assert (shown["status_title"], shown["answer"]) == ("已更正", "已核实并更正, 感谢指出")
    assert "q@example.cn" not in str(shown)
    listed = api.get(f"{OPEN}/error-reports", params={"dataset": name}).json()
    assert [r["id"] for r in listed["items"]] == [number]
