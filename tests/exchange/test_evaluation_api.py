"""The evaluation (绩效评估) checked against the requests and disputes the test makes."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.exchange.conftest import API, ask, ok, problem


def first_monday_of_march(year: int) -> dt.date:
    day = dt.date(year, 3, 1)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


@pytest.fixture
def year() -> int:
    """Two years ahead of the real date: the data loads (at the real time) are then
    older than any update cycle."""
    return dt.date.today().year + 2


def test_figures_match_what_happened(client, auth, shared, requester, approver, provider,
                                     consumer, now, year, make_user):
    monday = first_monday_of_march(year)
    day = lambda n: monday + dt.timedelta(days=n)  # noqa: E731
    now.set(monday)
    conditional, unconditional = shared("conditional"), shared("unconditional")
    shared("none")
    shared("unconditional", update_cycle="不定期")

    def request(resource):
        return ok(ask(client, auth(requester), resource,
                      until=monday + dt.timedelta(days=300)), 201)

    def decide(request_id, verb, **body):
        ok(client.post(f"{API}/requests/{request_id}/{verb}", headers=auth(approver),
                       json=body or None))

    at_once = request(unconditional)
    approved, refused, withdrawn, waiting, late = (request(conditional) for _ in range(5))
    assert waiting["deadline"] == day(14).isoformat()
    now.set(day(1))
    ok(client.post(f"{API}/requests/{withdrawn['id']}/withdraw", headers=auth(requester)))
    now.set(day(2))
    decide(approved["id"], "approve")
    now.set(day(7))
    decide(refused["id"], "reject", reason="用途超出共享条件")
    now.set(day(15))
    decide(late["id"], "approve")
    records = [{"key": "1", "item": "amount", "problem": "金额有误"}]
    answered = ok(client.post(f"{API}/disputes", headers=auth(requester),
                              json={"resource": unconditional.code, "records": records}), 201)
    ok(client.post(f"{API}/disputes", headers=auth(requester),
                   json={"resource": unconditional.code, "records": records}), 201)
    now.set(day(17))
    ok(client.post(f"{API}/disputes/{answered['id']}/resolve", headers=auth(approver),
                   json={"answer": "数据无误"}))

    report = ok(client.get(f"{API}/evaluation", headers=auth(approver),
                           params={"year": year}))
    assert report["department"]["code"] == provider and report["year"] == year
    assert report["as_of"] == day(17).isoformat()
    assert report["resources"] == {"published": 4, "unconditional": 2, "conditional": 1,
                                   "none": 1}
    assert report["requests_received"] == {
        "total": 6, "pending": 1, "granted": 3, "refused": 1, "withdrawn": 1,
        "granted_at_once": 1, "approved": 2, "answered": 3, "overdue": 2,
        "answered_late": 1, "pending_overdue": 1,
        "median_reply_working_days": 5.0,  # 2, 5 and 11 working days
    }
    assert report["requests_made"]["total"] == 0
    assert report["refusals"] == [{"request": refused["id"], "resource": conditional.code,
                                   "consumer": consumer, "reason": "用途超出共享条件",
                                   "decided_at": report["refusals"][0]["decided_at"]}]
    assert report["disputes_received"] == {
        "total": 2, "answered": 1, "open": 1, "overdue": 0, "answered_late": 0,
        "corrected": 0, "median_resolution_working_days": 2.0}
    freshness = report["freshness"]
    assert (freshness["resources"], freshness["stale"], freshness["no_data"],
            freshness["not_assessed"], freshness["fresh"]) == (4, 2, 1, 1, 0)
    assert at_once["status"] == "granted"

    made = ok(client.get(f"{API}/evaluation", headers=auth(requester), params={"year": year}))
    assert made["requests_made"] == {"total": 6, "pending": 1, "granted": 3, "refused": 1,
                                     "withdrawn": 1}
    assert ok(client.get(f"{API}/evaluation", headers=auth(approver),
                         params={"year": year - 1}))["requests_received"]["total"] == 0

    response = client.get(f"{API}/evaluation", headers=auth(approver),
                          params={"year": year, "format": "csv"})
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert ["收到的共享申请 (requests_received)", "median_reply_working_days", "5.0"] in rows
    assert any(row[1:] == [str(refused["id"]), conditional.code, consumer, "用途超出共享条件"]
               for row in rows)


def test_who_sees_an_evaluation(client, auth, approver, provider, outsider, make_user):
    problem(client.get(f"{API}/evaluation", headers=auth(outsider),
                       params={"department": provider}), 403, "not_department_member")
    auditor = make_user("auditor")
    assert ok(client.get(f"{API}/evaluation", headers=auth(auditor),
                         params={"department": provider}))["department"]["code"] == provider
