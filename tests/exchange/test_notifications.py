"""Notifications: the inbox of each department, deadline reminders, and a signed webhook
delivered from the outbox to a real HTTP server on loopback that fails first."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from govdata.exchange import deadlines, notifications
from govdata.platform.db import unit_of_work_on
from tests.exchange.conftest import API, ask, ledger, ok, problem


class Receiver:
    """A loopback HTTP server: answers 503 to the first ``failures`` POSTs, then 200."""

    def __init__(self, failures: int = 1) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        self.accepted = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server protocol
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 503 if len(receiver.received) < receiver.failures else 200
                receiver.received.append((dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if status == 200:
                    receiver.accepted.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/govdata"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(failures=1)
    yield running
    running.close()


@pytest.fixture
def transactions(session):
    """The worker's transactions, as savepoints of the test's transaction."""

    @contextmanager
    def scope():
        with unit_of_work_on(session, nested=True):
            yield session

    return scope


def test_inbox_of_each_department(client, auth, shared, requester, approver, outsider,
                                  provider, consumer):
    resource = shared("conditional")
    asked = ok(ask(client, auth(requester), resource), 201)
    inbox = ok(client.get(f"{API}/inbox", headers=auth(approver)))
    assert inbox["total"] == 1
    note = inbox["items"][0]
    assert note["kind"] == "request.created" and note["department"] == provider
    assert note["subject"] == {"type": "request", "id": asked["id"]}
    assert note["read_at"] is None and resource.name in note["title"]
    ok(client.post(f"{API}/requests/{asked['id']}/reject", headers=auth(approver),
                   json={"reason": "不符合共享条件"}))
    theirs = ok(client.get(f"{API}/inbox", headers=auth(requester)))
    assert [n["kind"] for n in theirs["items"]] == ["request.decided"]
    assert theirs["items"][0]["data"]["reason"] == "不符合共享条件"
    read = ok(client.post(f"{API}/inbox/{note['id']}/read", headers=auth(approver)))
    assert read["read_at"] is not None and read["read_by"] == approver
    assert ok(client.get(f"{API}/inbox", headers=auth(approver),
                         params={"unread": "true"}))["total"] == 0
    problem(client.post(f"{API}/inbox/{note['id']}/read", headers=auth(outsider)), 404,
            "notification_not_found")
    problem(client.get(f"{API}/inbox", headers=auth(outsider),
                       params={"department": provider}), 403, "not_department_member")
    assert ok(client.get(f"{API}/inbox", headers=auth(outsider)))["total"] == 0


def test_deadline_reminders_and_overdue_notices(client, auth, session, settings, shared,
                                                requester, approver, now):
    now.set(dt.date(2026, 3, 2))  # a Monday; the deadline is Monday 03-16
    asked = ok(ask(client, auth(requester), shared("conditional")), 201)
    assert deadlines.remind(session, settings, today=now.today) == 0
    now.set(dt.date(2026, 3, 12))  # Thursday: Friday and Monday are left
    assert deadlines.remind(session, settings, today=now.today) == 1
    assert deadlines.remind(session, settings, today=now.today) == 0  # once
    soon = ok(client.get(f"{API}/inbox", headers=auth(approver),
                         params={"kind": "request.deadline_soon"}))
    assert soon["items"][0]["subject"]["id"] == asked["id"]
    now.set(dt.date(2026, 3, 17))
    assert deadlines.remind(session, settings, today=now.today) == 2
    assert deadlines.remind(session, settings, today=now.today) == 0
    for who in (approver, requester):
        overdue = ok(client.get(f"{API}/inbox", headers=auth(who),
                                params={"kind": "request.overdue"}))
        assert overdue["total"] == 1 and "2026-03-16" in overdue["items"][0]["title"]


def test_webhook_delivered_after_a_first_failure(client, auth, session, settings, shared,
                                                 requester, approver, provider, receiver,
                                                 transactions, now):
    settings.webhook_backoff_seconds = 30
    hook = ok(client.put(f"{API}/webhook", headers=auth(approver), json={"url": receiver.url}))
    secret = hook["secret"]
    assert hook["department"] == provider and len(secret) >= 32
    assert ok(client.get(f"{API}/webhook", headers=auth(approver)))["secret"] is None
    assert ledger(session, "exchange.webhook.set")[-1]["url"] == receiver.url
    asked = ok(ask(client, auth(requester), shared("conditional")), 201)

    assert notifications.deliver_due(transactions, settings) == 0  # 503 the first time
    assert [status for _, _, status in receiver.received] == [503]
    pending = ok(client.get(f"{API}/webhook/deliveries", headers=auth(approver)))["items"][0]
    assert pending["status"] == "pending" and pending["attempts"] == 1
    assert pending["last_status"] == 503
    assert notifications.deliver_due(transactions, settings) == 0  # backing off: not yet due
    assert len(receiver.received) == 1

    now.moment += dt.timedelta(seconds=31)
    assert notifications.deliver_due(transactions, settings) == 1
    assert receiver.accepted.wait(5)
    headers, body, status = receiver.received[-1]
    assert status == 200
    timestamp = headers["X-Govdata-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    assert headers["X-Govdata-Signature"] == "sha256=" + expected.hexdigest()
    payload = json.loads(body)
    assert payload["kind"] == "request.created" and payload["department"] == provider
    assert payload["subject"] == {"type": "request", "id": asked["id"]}
    done = ok(client.get(f"{API}/webhook/deliveries", headers=auth(approver)))["items"][0]
    assert done["status"] == "delivered" and done["attempts"] == 2
    assert notifications.deliver_due(transactions, settings) == 0


def test_a_dead_webhook_never_holds_up_the_act(client, auth, session, settings, shared,
                                               requester, approver, transactions):
    settings.webhook_max_attempts = 2
    settings.webhook_backoff_seconds = 0
    dead = Receiver()
    url = dead.url
    dead.close()  # nothing listens there any more
    ok(client.put(f"{API}/webhook", headers=auth(approver), json={"url": url}))
    ok(ask(client, auth(requester), shared("conditional")), 201)
    assert notifications.deliver_due(transactions, settings) == 0
    assert notifications.deliver_due(transactions, settings) == 0
    failed = ok(client.get(f"{API}/webhook/deliveries", headers=auth(approver),
                           params={"status": "failed"}))
    assert failed["total"] == 1 and failed["items"][0]["attempts"] == 2
    assert "ConnectError" in failed["items"][0]["last_error"]


def test_who_sets_a_webhook(client, auth, session, requester, approver, provider, make_user):
    problem(client.put(f"{API}/webhook", headers=auth(requester),
                       json={"url": "https://example.org/h"}), 403, "not_department_steward")
    problem(client.put(f"{API}/webhook", headers=auth(approver),
                       json={"url": "ftp://example.org/h"}), 422, "webhook_url_invalid")
    admin = make_user("admin")
    body = ok(client.put(f"{API}/webhook", headers=auth(admin),
                         json={"url": "https://example.org/h", "department": provider}))
    assert body["department"] == provider
    assert client.delete(f"{API}/webhook", headers=auth(approver)).status_code == 204
    problem(client.get(f"{API}/webhook", headers=auth(approver)), 404, "webhook_not_found")
