"""Notifications: an inbox per department, and an optional webhook per department.

``notify`` writes the inbox entry and, when the department has a webhook, its delivery in
the outbox (``exchange_delivery``), both in the transaction of the act that caused them: a
notification exists exactly when its act happened, and nothing is sent from inside that
transaction, so a slow or broken receiver never holds up or fails it.

``deliver_due`` (run by ``govdata worker``) POSTs due deliveries, each in short
transactions of its own: claim (a lease, ``SKIP LOCKED`` on PostgreSQL so several workers
never send the same one), send, record. A failure is retried with exponential backoff
(``GOVDATA_WEBHOOK_BACKOFF_SECONDS`` doubled each time, up to
``GOVDATA_WEBHOOK_BACKOFF_MAX_SECONDS``) until ``GOVDATA_WEBHOOK_MAX_ATTEMPTS``.

Each POST carries the notification as JSON and
``X-Govdata-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`` with
``X-Govdata-Timestamp`` (Unix seconds) and ``X-Govdata-Delivery`` (the delivery id), so the
receiver can check origin, integrity and freshness.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.exchange import parties
from govdata.exchange.models import Delivery, DeliveryStatus, Notification, Webhook
from govdata.platform import audit, clock, jurisdiction
from govdata.platform.errors import Forbidden, NotFound, RuleViolation
from govdata.platform.models import Department
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings

Transactions = Callable[[], AbstractContextManager[Session]]
SIGNATURE_HEADER = "X-Govdata-Signature"
TIMESTAMP_HEADER = "X-Govdata-Timestamp"
DELIVERY_HEADER = "X-Govdata-Delivery"
BATCH = 50


# --- writing ---------------------------------------------------------------------------

def notify(session: Session, department: Department, *, kind: str, subject_type: str,
           subject_id: int, title: str, **data: Any) -> Notification:
    """An inbox entry for the department (and its webhook delivery), in the caller's
    transaction."""
    note = Notification(department_id=department.id, kind=kind, subject_type=subject_type,
                        subject_id=subject_id, title=title, data=data, created_at=clock.now())
    session.add(note)
    session.flush()
    hook = session.get(Webhook, department.id)
    if hook is not None:
        session.add(Delivery(notification_id=note.id, url=hook.url,
                             status=DeliveryStatus.pending.value, attempts=0,
                             next_attempt_at=note.created_at, created_at=note.created_at))
    return note


# --- the inbox -------------------------------------------------------------------------

def list_inbox(session: Session, principal: Principal, *, department: str | None = None,
               unread: bool | None = None, kind: str | None = None, limit: int = 20,
               offset: int = 0) -> tuple[list[Notification], int]:
    """A department's notifications, newest first."""
    owner = parties.viewed_department(session, principal, department,
                                      action="exchange.inbox.read")
    where = [Notification.department_id == owner.id]
    if unread is not None:
        where.append(Notification.read_at.is_(None) if unread
                     else Notification.read_at.is_not(None))
    if kind is not None:
        where.append(Notification.kind == kind)
    total = session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    rows = session.scalars(select(Notification).where(*where)
                           .order_by(Notification.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def mark_read(session: Session, principal: Principal, notification_id: int) -> Notification:
    note = session.get(Notification, notification_id)
    if note is None or not parties.is_member(principal, note.department):
        raise NotFound(f"通知 {notification_id} 不存在", code="notification_not_found")
    if note.read_at is None:
        note.read_at, note.read_by = clock.now(), principal.username
    return note


# --- webhooks --------------------------------------------------------------------------

def webhook_department(session: Session, principal: Principal, department: str | None
                       ) -> Department:
    """The department whose webhook the principal manages: its stewards, or the
    administrators of its jurisdiction."""
    found = parties.named_department(session, principal, department)
    if jurisdiction.covers(principal, found.division_code) or (
            principal.has("steward") and parties.is_member(principal, found)):
        return found
    raise audit.refused(session, principal, Forbidden(
        f"只有 {found.name} 的数据管理员或其辖区的管理员可以设置其通知回调",
        code="not_department_steward"), action="exchange.webhook.set",
        resource=f"department:{found.code}")


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuleViolation("回调地址须为 http(s) 网址 (webhook URL must be http or https)",
                            code="webhook_url_invalid",
                            errors=[{"loc": ["url"], "msg": "http(s)://host/…"}])
    return url.strip()


def set_webhook(session: Session, principal: Principal, *, url: str,
                department: str | None = None) -> tuple[Webhook, str]:
    """Set (or replace) the department's webhook with a new signing secret; the secret is
    returned this once."""
    owner = webhook_department(session, principal, department)
    url = check_url(url)
    secret = secrets.token_urlsafe(32)
    hook = session.get(Webhook, owner.id)
    if hook is None:
        hook = Webhook(department_id=owner.id, department=owner)
        session.add(hook)
    hook.url, hook.secret = url, secret
    hook.updated_at, hook.updated_by = clock.now(), principal.username
    session.flush()
    audit.record(session, principal, action="exchange.webhook.set",
                 resource=f"department:{owner.code}", url=url)
    return hook, secret


def get_webhook(session: Session, principal: Principal, *, department: str | None = None
                ) -> Webhook:
    owner = webhook_department(session, principal, department)
    hook = session.get(Webhook, owner.id)
    if hook is None:
        raise NotFound(f"{owner.name} 未设置通知回调", code="webhook_not_found")
    return hook


def remove_webhook(session: Session, principal: Principal, *, department: str | None = None
                   ) -> None:
    """Remove the webhook; deliveries still pending for it are dropped."""
    hook = get_webhook(session, principal, department=department)
    owner = hook.department
    pending = session.scalars(select(Delivery).join(Delivery.notification).where(
        Notification.department_id == owner.id, Delivery.status == DeliveryStatus.pending))
    for delivery in pending:
        delivery.status, delivery.last_error = DeliveryStatus.failed.value, "回调已删除"
    session.delete(hook)
    audit.record(session, principal, action="exchange.webhook.remove",
                 resource=f"department:{owner.code}")


def list_deliveries(session: Session, principal: Principal, *, department: str | None = None,
                    status: str | None = None, limit: int = 20, offset: int = 0
                    ) -> tuple[list[Delivery], int]:
    """The outbox of a department's webhook, newest first (what was sent, what failed)."""
    owner = webhook_department(session, principal, department)
    where = [Notification.department_id == owner.id]
    if status is not None:
        where.append(Delivery.status == status)
    query = select(Delivery).join(Delivery.notification).where(*where)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Delivery.id.desc()).limit(limit).offset(offset))
    return list(rows), total


# --- delivering ------------------------------------------------------------------------

def payload(note: Notification) -> dict[str, Any]:
    return {"id": note.id, "kind": note.kind, "department": note.department.code,
            "title": note.title, "subject": {"type": note.subject_type, "id": note.subject_id},
            "data": note.data, "created_at": note.created_at.isoformat()}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


@dataclass(frozen=True)
class Claimed:
    id: int
    url: str
    secret: str
    body: bytes


def backoff(settings: Settings, attempts: int) -> dt.timedelta:
    seconds = settings.webhook_backoff_seconds * 2 ** max(attempts - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.webhook_backoff_max_seconds))


def _claim(session: Session, settings: Settings, now: dt.datetime) -> list[Claimed]:
    """Take due deliveries for a lease of twice the timeout: if this worker dies while
    sending, another one retries after the lease."""
    rows = session.scalars(
        select(Delivery).where(Delivery.status == DeliveryStatus.pending,
                               Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id).limit(BATCH)
        .with_for_update(skip_locked=True, of=Delivery)).all()
    lease = now + dt.timedelta(seconds=2 * settings.webhook_timeout_seconds)
    claimed = []
    for delivery in rows:
        hook = session.get(Webhook, delivery.notification.department_id)
        if hook is None:
            delivery.status, delivery.last_error = DeliveryStatus.failed.value, "回调已删除"
            continue
        delivery.next_attempt_at = lease
        body = json.dumps(payload(delivery.notification), ensure_ascii=False).encode()
        claimed.append(Claimed(delivery.id, hook.url, hook.secret, body))
    return claimed


def _send(client: httpx.Client, claimed: Claimed, now: dt.datetime) -> tuple[int | None, str]:
    timestamp = str(int(now.timestamp()))
    headers = {"Content-Type": "application/json; charset=utf-8",
               SIGNATURE_HEADER: sign(claimed.secret, timestamp, claimed.body),
               TIMESTAMP_HEADER: timestamp, DELIVERY_HEADER: str(claimed.id),
               "User-Agent": "govdata-webhook/1"}
    try:
        response = client.post(claimed.url, content=claimed.body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return response.status_code, "" if response.is_success else response.text[:500]


def _record(session: Session, settings: Settings, delivery_id: int, status: int | None,
            error: str, now: dt.datetime) -> bool:
    delivery = session.get(Delivery, delivery_id)
    delivery.attempts += 1
    delivery.last_status = status
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.delivered_at, delivery.last_error = (
            DeliveryStatus.delivered.value, now, None)
        return True
    delivery.last_error = error or f"HTTP {status}"
    if delivery.attempts >= settings.webhook_max_attempts:
        delivery.status = DeliveryStatus.failed.value
    else:
        delivery.next_attempt_at = now + backoff(settings, delivery.attempts)
    return False


def deliver_due(transactions: Transactions, settings: Settings, *,
                client: httpx.Client | None = None) -> int:
    """Send the deliveries that are due; the number delivered."""
    with transactions() as session:
        claimed = _claim(session, settings, clock.now())
    if not claimed:
        return 0
    owned = client is None
    client = client or httpx.Client(timeout=settings.webhook_timeout_seconds,
                                    follow_redirects=False)
    delivered = 0
    try:
        for item in claimed:
            status, error = _send(client, item, clock.now())
            with transactions() as session:
                delivered += _record(session, settings, item.id, status, error, clock.now())
    finally:
        if owned:
            client.close()
    return delivered
