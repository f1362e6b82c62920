"""Requests and decisions through HTTP: the three share types, a ``none`` item inside a
conditional resource, approval of fewer items, refusal without a reason, withdrawal,
deadlines in working days and the overdue lists."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.exchange.conftest import API, LEGAL_BASIS, ask, item, ledger, ok, problem


def test_unconditional_is_granted_at_once(client, auth, session, shared, requester, consumer,
                                          provider):
    resource = shared("unconditional")
    body = ok(ask(client, auth(requester), resource, items=["district", "amount"]), 201)
    assert body["status"] == "granted" and body["grant"] is not None
    assert body["provider"] == provider and body["consumer"] == consumer
    assert body["data_items"] == ["district", "amount"] and body["deadline"] is None
    assert [h["action"] for h in body["history"]] == ["submitted", "granted"]
    grant = ok(client.get(f"{API}/grants/{body['grant']}", headers=auth(requester)))
    assert grant["status"] == "active" and grant["request"] == body["id"]
    assert grant["data_items"] == ["district", "amount"]
    entry = ledger(session, "exchange.request")[-1]
    assert entry["request"] == body["id"] and entry["grant"] == body["grant"]
    assert entry["status"] == "granted" and entry["outcome"] == "allowed"


def test_omitted_items_ask_for_every_shareable_item(client, auth, shared, requester):
    resource = shared("conditional", items=[*_items(), item("note", "内部备注",
                                                             share_type="none")])
    body = ok(ask(client, auth(requester), resource), 201)
    assert body["data_items"] == ["person_id", "name", "district", "amount"]
    assert body["status"] == "pending"


def _items():
    from tests.exchange.conftest import ITEMS

    return list(ITEMS)


def test_negative_list_resource_is_refused_citing_the_basis(client, auth, session, shared,
                                                           requester):
    resource = shared("none")
    before = len(ledger(session, "exchange.request", "refused"))
    body = problem(ask(client, auth(requester), resource), 409, "share_refused_negative_list")
    assert LEGAL_BASIS in body["detail"]
    refusals = ledger(session, "exchange.request", "refused")
    assert len(refusals) == before + 1
    assert refusals[-1]["rule"] == "share_refused_negative_list"
    assert refusals[-1]["resource"] == resource.code
    listed = ok(client.get(f"{API}/requests", headers=auth(requester)))
    assert listed["total"] == 0  # nothing was created


def test_none_item_inside_a_conditional_resource(client, auth, session, shared, requester,
                                                 approver):
    resource = shared("conditional", items=[*_items(), item("note", "内部备注",
                                                             share_type="none")])
    body = problem(ask(client, auth(requester), resource, items=["district", "note"]), 409,
                   "share_refused_negative_list")
    assert "note" in body["detail"] and LEGAL_BASIS in body["detail"]
    pending = ok(ask(client, auth(requester), resource, items=["district"]), 201)
    problem(client.post(f"{API}/requests/{pending['id']}/approve", headers=auth(approver),
                        json={"data_items": ["district", "note"]}), 422,
            "data_items_not_requested")
    assert ledger(session, "exchange.approve", "refused")[-1]["rule"] == (
        "data_items_not_requested")


def test_conditional_item_in_an_unconditional_resource_waits(client, auth, shared, requester):
    resource = shared("unconditional", items=[
        *_items()[:3], item("amount", "缴费金额", data_type="N", length=None,
                            share_type="conditional")])
    at_once = ok(ask(client, auth(requester), resource, items=["district"]), 201)
    assert at_once["status"] == "granted"
    waits = ok(ask(client, auth(requester), resource, items=["district", "amount"]), 201)
    assert waits["status"] == "pending" and waits["deadline"]


def test_approval_of_fewer_items_and_a_shorter_period(client, auth, session, shared,
                                                      requester, approver, now):
    resource = shared("conditional")
    asked = ok(ask(client, auth(requester), resource), 201)
    assert asked["status"] == "pending" and asked["grant"] is None
    shorter = (now.today + dt.timedelta(days=30)).isoformat()
    body = ok(client.post(f"{API}/requests/{asked['id']}/approve", headers=auth(approver),
                          json={"data_items": ["name", "district"], "until": shorter,
                                "note": "仅需姓名与区县"}))
    assert body["status"] == "granted" and body["decision_reason"] == "仅需姓名与区县"
    assert [h["action"] for h in body["history"]] == ["submitted", "approved"]
    grant = ok(client.get(f"{API}/grants/{body['grant']}", headers=auth(approver)))
    assert grant["data_items"] == ["name", "district"] and grant["ends"] == shorter
    entry = ledger(session, "exchange.approve")[-1]
    assert entry["data_items"] == ["name", "district"] and entry["grant"] == grant["id"]
    longer = (dt.date.fromisoformat(asked["until"]) + dt.timedelta(days=1)).isoformat()
    other = ok(ask(client, auth(requester), resource), 201)
    problem(client.post(f"{API}/requests/{other['id']}/approve", headers=auth(approver),
                        json={"until": longer}), 422, "until_invalid")


def test_refusal_needs_a_reason_and_decisions_happen_once(client, auth, session, shared,
                                                          requester, approver):
    resource = shared("conditional")
    asked = ok(ask(client, auth(requester), resource), 201)
    url = f"{API}/requests/{asked['id']}"
    problem(client.post(f"{url}/reject", headers=auth(approver), json={}), 422,
            "validation_failed")
    problem(client.post(f"{url}/reject", headers=auth(approver), json={"reason": "   "}), 422,
            "reason_required")
    assert ok(client.get(url, headers=auth(requester)))["status"] == "pending"
    body = ok(client.post(f"{url}/reject", headers=auth(approver),
                          json={"reason": "申请用途与共享条件不符"}))
    assert body["status"] == "refused" and body["decision_reason"] == "申请用途与共享条件不符"
    assert body["history"][-1] == {**body["history"][-1], "action": "refused",
                                   "note": "申请用途与共享条件不符"}
    problem(client.post(f"{url}/approve", headers=auth(approver)), 409, "request_not_pending")
    problem(client.post(f"{url}/reject", headers=auth(approver), json={"reason": "再次"}), 409,
            "request_not_pending")
    assert ledger(session, "exchange.approve", "refused")[-1]["rule"] == "request_not_pending"
    assert ledger(session, "exchange.reject")[-2]["reason"] == "申请用途与共享条件不符"


def test_withdrawal_by_the_requesting_department(client, auth, session, shared, requester,
                                                make_user, consumer, approver):
    resource = shared("conditional")
    asked = ok(ask(client, auth(requester), resource), 201)
    colleague = make_user("requester", department=consumer)
    body = ok(client.post(f"{API}/requests/{asked['id']}/withdraw", headers=auth(colleague)))
    assert body["status"] == "withdrawn" and body["history"][-1]["action"] == "withdrawn"
    problem(client.post(f"{API}/requests/{asked['id']}/withdraw", headers=auth(requester)), 409,
            "request_not_pending")
    problem(client.post(f"{API}/requests/{asked['id']}/approve", headers=auth(approver)), 409,
            "request_not_pending")


def test_request_input_is_checked(client, auth, shared, requester, make_user, provider, now):
    resource = shared("conditional")
    problem(ask(client, auth(requester), resource, items=["nope"]), 422, "request_invalid")
    problem(ask(client, auth(requester), resource, until=now.today), 422, "request_invalid")
    problem(ask(client, auth(requester), resource, purpose=""), 422, "validation_failed")
    problem(ask(client, auth(requester), resource, extra="x"), 422, "validation_failed")
    own = make_user("requester", department=provider)
    problem(ask(client, auth(own), resource), 422, "own_resource")
    response = client.post(f"{API}/requests", headers=auth(requester),
                           json={"resource": "999999/000001", "purpose": "x", "basis": "y",
                                 "until": "2999-01-01"})
    problem(response, 404, "resource_not_found")


def test_deadline_counts_working_days_across_a_weekend_and_a_holiday(
        client, auth, settings, shared, requester, now):
    """Submitted on Thursday 2026-09-24; Saturday 09-26 and Sunday 09-27 are not working
    days; 10-01 to 10-07 are configured holidays; Saturday 10-10 is a make-up working day.
    Ten working days: 09-25, 09-28, 09-29, 09-30, 10-08, 10-09, 10-10, 10-12, 10-13, 10-14."""
    settings.holidays = [dt.date(2026, 10, d) for d in range(1, 8)]
    settings.extra_workdays = [dt.date(2026, 10, 10)]
    now.set(dt.date(2026, 9, 24))
    resource = shared("conditional")
    body = ok(ask(client, auth(requester), resource), 201)
    assert body["deadline"] == "2026-10-14"
    settings.share_reply_working_days = 2
    friday = ok(ask(client, auth(requester), resource), 201)
    assert friday["deadline"] == "2026-09-28"


def test_overdue_requests_are_listed_for_both_sides_and_administrators(
        client, auth, shared, requester, approver, make_user, outsider, now):
    now.set(dt.date(2026, 3, 2))  # a Monday
    resource = shared("conditional")
    late = ok(ask(client, auth(requester), resource), 201)
    assert late["deadline"] == "2026-03-16"
    now.set(dt.date(2026, 3, 16))
    assert ok(client.get(f"{API}/requests", headers=auth(approver),
                         params={"overdue": "true"}))["total"] == 0
    fresh = ok(ask(client, auth(requester), resource), 201)
    now.set(dt.date(2026, 3, 17))
    admin = make_user("admin")
    for who, side in ((approver, "provider"), (requester, "consumer"), (admin, None)):
        params = {"overdue": "true", **({"side": side} if side else {})}
        listed = ok(client.get(f"{API}/requests", headers=auth(who), params=params))
        assert [r["id"] for r in listed["items"]] == [late["id"]], who
        assert listed["items"][0]["overdue"] is True
    assert ok(client.get(f"{API}/requests/{fresh['id']}", headers=auth(admin)))["overdue"] is False
    assert ok(client.get(f"{API}/requests", headers=auth(outsider),
                         params={"overdue": "true"}))["total"] == 0


@pytest.mark.parametrize("side", ["provider", "consumer"])
def test_request_lists_by_side(client, auth, shared, requester, approver, side):
    resource = shared("conditional")
    asked = ok(ask(client, auth(requester), resource), 201)
    who = approver if side == "provider" else requester
    mine = ok(client.get(f"{API}/requests", headers=auth(who), params={"side": side}))
    assert [r["id"] for r in mine["items"]] == [asked["id"]]
    other = "consumer" if side == "provider" else "provider"
    assert ok(client.get(f"{API}/requests", headers=auth(who),
                         params={"side": other}))["total"] == 0
    problem(client.get(f"{API}/requests", headers=auth(who), params={"side": "x"}), 422,
            "validation_failed")
