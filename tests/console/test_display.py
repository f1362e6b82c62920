"""How the console shows what it shows: times in China (Asia/Shanghai), data items by their
Chinese titles, ledger entries not sealed yet, and errors in the console's own frame."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select

from govdata.exchange import requests
from govdata.exchange.models import ShareRequest
from govdata.platform import audit, clock
from govdata.platform.principal import Principal
from govdata.platform.web.templating import local_time


def test_times_are_shown_in_china_whatever_they_are_stored_as():
    late = dt.datetime(2026, 11, 30, 23, 30, 5, tzinfo=dt.UTC)
    assert local_time(late) == "2026-12-01 07:30"
    assert local_time("2026-11-30T23:30:05.123456Z", "%Y-%m-%d %H:%M:%S") == \
        "2026-12-01 07:30:05"
    assert local_time(late.astimezone(clock.CHINA)) == "2026-12-01 07:30"
    assert local_time(None) == "" and local_time("") == ""


def test_the_audit_table_shows_local_times(browser, person, make_department, session):
    auditor = browser(person("auditor", department=make_department()))
    table = auditor.get("/console/audit")
    assert table.status_code == 200 and "时间 (UTC)" not in table.text
    events, _ = audit.list_events(session, limit=5)
    for event in events:
        assert local_time(event.occurred_at, "%Y-%m-%d %H:%M:%S") in table.text


def test_entries_not_sealed_yet_say_so_instead_of_none(browser, person, make_department,
                                                       monkeypatch):
    unsealed = SimpleNamespace(seq=None, occurred_at="2026-11-30T23:30:05.000000Z",
                               actor="cq-steward", department="cq-hbj",
                               action="catalog.resource.publish", resource="500000/000001",
                               outcome="allowed", body="{}", entry_hash=None)
    monkeypatch.setattr(audit, "list_events", lambda session, **kw: ([unsealed], 1))
    auditor = browser(person("auditor", department=make_department()))
    table = auditor.get("/console/audit")
    assert table.status_code == 200
    row = table.text.split("<tbody>")[1].split("</tr>")[0]
    assert "待封存" in row and "None" not in row and "2026-12-01 07:30:05" in row
    exported = auditor.client.get("/console/audit/export").content.decode("utf-8-sig")
    assert "None" not in exported.splitlines()[1]
    assert exported.splitlines()[1].startswith(",2026-11-30T23:30:05")


def test_data_items_are_shown_by_their_titles(browser, person, provider, consumer, shared,
                                              session):
    resource = shared("conditional")
    requester_name = person("requester", department=consumer)
    asker = browser(requester_name)
    asker.post(f"/console/catalog/{resource.code}/request",
               {"data_items": ["district", "amount"], "purpose": "低保审核",
                "basis": "《社会救助暂行办法》",
                "until": (clock.today() + dt.timedelta(days=100)).isoformat()})
    made = session.scalars(select(ShareRequest)).all()[-1]
    requests.approve_request(session, Principal(username="a", department=provider,
                                                roles=frozenset({"approver"})), made.id,
                             data_items=["district"])
    page = asker.get(f"/console/my-requests/{made.id}")
    assert "区县、缴费金额" in page.text and "district、amount" not in page.text
    granted = asker.get("/console/grants")
    assert "<td>区县</td>" in granted.text and "<td>district</td>" not in granted.text
    decider = browser(person("approver", department=provider))
    decided = decider.get(f"/console/inbox/{made.id}")
    assert "区县、缴费金额" in decided.text


def test_errors_on_console_paths_wear_the_consoles_brand(browser, person, provider,
                                                         settings):
    visitor = browser(person("requester", department=provider))
    refused = visitor.get("/console/audit")
    assert refused.status_code == 403
    brand = refused.text.split('class="brand"')[1].split("</a>")[0]
    assert "工作台" in brand and settings.portal_title not in brand
    assert 'href="/static/console/console.css"' in refused.text
    missing = visitor.get("/console/no-such-page")
    assert missing.status_code == 404 and "工作台" in missing.text.split("</header>")[0]


def test_the_verification_says_how_many_entries_wait_to_be_sealed(
        browser, person, make_department, monkeypatch):
    monkeypatch.setattr(audit, "verify", lambda session: audit.Verification(
        ok=True, entries=12, head_hash="ab" * 32, unsealed=5))
    auditor = browser(person("auditor", department=make_department()))
    verified = auditor.post("/console/audit/verify")
    assert verified.status_code == 200
    assert "共 12 条记录" in verified.text and "另有 5 条新记录待封存" in verified.text
