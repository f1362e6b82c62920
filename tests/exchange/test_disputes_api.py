"""Disputes (校核) through HTTP: a round trip with a correction, the deadline in working
days, who may open and answer, both sides seeing it, both acts on the ledger."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.exchange.conftest import API, ask, ledger, ok, problem


@pytest.fixture
def granted(client, auth, shared, requester):
    resource = shared("unconditional")
    ok(ask(client, auth(requester), resource), 201)
    return resource


RECORDS = [{"key": "2", "item": "amount", "problem": "缴费金额与社保系统不一致"},
           {"key": "3", "item": "district", "problem": "区县应为九龙坡区"}]


def test_dispute_round_trip_with_a_correction(client, auth, session, granted, requester,
                                              approver, load, now, settings, consumer,
                                              provider):
    now.set(dt.date(2026, 6, 4))  # a Thursday
    body = ok(client.post(f"{API}/disputes", headers=auth(requester),
                          json={"resource": granted.code, "records": RECORDS}), 201)
    assert body["status"] == "open" and body["deadline"] == "2026-06-11"  # 5 working days
    assert body["provider"] == provider and body["consumer"] == consumer
    assert body["records"] == RECORDS and body["data_version"] == 1
    assert ledger(session, "exchange.dispute.open")[-1]["dispute"] == body["id"]
    seen = ok(client.get(f"{API}/disputes", headers=auth(approver), params={"side": "provider"}))
    assert [d["id"] for d in seen["items"]] == [body["id"]]

    problem(client.post(f"{API}/disputes/{body['id']}/resolve", headers=auth(approver),
                        json={"answer": "已更正", "corrected_version": 1}), 422,
            "corrected_version_invalid")
    corrected = load(granted, rows=[["11010519491231002X", "张三", "渝中区", "1200.5"],
                                    ["440524188001010014", "欧阳娜娜", "江北区", "880"],
                                    ["500103199001011232", "李四", "九龙坡区", "950"]])
    now.set(dt.date(2026, 6, 8))
    answered = ok(client.post(f"{API}/disputes/{body['id']}/resolve", headers=auth(approver),
                              json={"answer": "已核实并更正两条记录",
                                    "corrected_version": corrected}))
    assert answered["status"] == "answered" and answered["corrected_version"] == 2
    assert answered["answer"] == "已核实并更正两条记录" and answered["overdue"] is False
    entry = ledger(session, "exchange.dispute.resolve", "allowed")[-1]
    assert entry["dispute"] == body["id"] and entry["corrected_version"] == 2
    mine = ok(client.get(f"{API}/disputes/{body['id']}", headers=auth(requester)))
    assert mine["status"] == "answered" and mine["answered_by"] == approver
    problem(client.post(f"{API}/disputes/{body['id']}/resolve", headers=auth(approver),
                        json={"answer": "again"}), 409, "dispute_not_open")


def test_who_may_open_and_answer(client, auth, session, shared, granted, requester, approver,
                                 outsider):
    problem(client.post(f"{API}/disputes", headers=auth(outsider),
                        json={"resource": granted.code, "records": RECORDS}), 403, "no_grant")
    never = shared("unconditional")
    problem(client.post(f"{API}/disputes", headers=auth(requester),
                        json={"resource": never.code, "records": RECORDS}), 403, "no_grant")
    problem(client.post(f"{API}/disputes", headers=auth(requester),
                        json={"resource": granted.code, "records": [
                            {"key": "1", "item": "nope", "problem": "?"}]}), 422,
            "dispute_invalid")
    problem(client.post(f"{API}/disputes", headers=auth(requester),
                        json={"resource": granted.code, "records": []}), 422,
            "validation_failed")
    body = ok(client.post(f"{API}/disputes", headers=auth(requester),
                          json={"resource": granted.code, "records": RECORDS}), 201)
    problem(client.post(f"{API}/disputes/{body['id']}/resolve", headers=auth(outsider),
                        json={"answer": "x"}), 403, "not_dispute_party")
    problem(client.post(f"{API}/disputes/{body['id']}/resolve", headers=auth(requester),
                        json={"answer": "x"}), 403, "not_provider_steward")
    problem(client.get(f"{API}/disputes/{body['id']}", headers=auth(outsider)), 403,
            "not_dispute_party")
    refused = ledger(session, "exchange.dispute.open", "refused")
    assert [r["rule"] for r in refused[-3:]] == ["no_grant", "no_grant", "dispute_invalid"]
    assert ledger(session, "exchange.dispute.resolve", "refused")[-1]["actor"] == requester
    ok(client.post(f"{API}/disputes/{body['id']}/resolve", headers=auth(approver),
                   json={"answer": "数据无误: 金额含滞纳金"}))


def test_overdue_disputes_are_listed(client, auth, granted, requester, approver, now):
    now.set(dt.date(2026, 6, 4))
    body = ok(client.post(f"{API}/disputes", headers=auth(requester),
                          json={"resource": granted.code, "records": RECORDS}), 201)
    now.set(dt.date(2026, 6, 12))
    late = ok(client.get(f"{API}/disputes", headers=auth(requester),
                         params={"overdue": "true"}))
    assert [d["id"] for d in late["items"]] == [body["id"]] and late["items"][0]["overdue"]
