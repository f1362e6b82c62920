"""Exchange tables: share requests and their history, grants, disputes (校核), each
department's inbox, webhook and the outbox of webhook deliveries."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govdata.catalog.models import Resource
from govdata.platform.db import Base, UTCDateTime, utcnow
from govdata.platform.models import Department


class RequestStatus(enum.StrEnum):
    pending = "pending"
    granted = "granted"
    refused = "refused"
    withdrawn = "withdrawn"


class GrantStatus(enum.StrEnum):
    active = "active"
    revoked = "revoked"
    expired = "expired"
    suspended = "suspended"  # never stored: the resource is retired or no longer shared


class DisputeStatus(enum.StrEnum):
    open = "open"
    answered = "answered"


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class ShareRequest(Base):
    """A consumer department's request for (some items of) a provider's resource."""

    __tablename__ = "exchange_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("platform_department.id"), index=True)
    consumer_id: Mapped[str] = mapped_column(ForeignKey("platform_department.id"), index=True)
    requester: Mapped[str] = mapped_column(String(100))
    data_items: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)
    until: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), index=True)
    deadline: Mapped[dt.date | None] = mapped_column(Date, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    reminded_on: Mapped[dt.date | None] = mapped_column(Date)
    overdue_notified: Mapped[bool] = mapped_column(Boolean, default=False)

    resource: Mapped[Resource] = relationship(lazy="joined")
    provider: Mapped[Department] = relationship(foreign_keys=[provider_id], lazy="joined")
    consumer: Mapped[Department] = relationship(foreign_keys=[consumer_id], lazy="joined")
    events: Mapped[list[RequestEvent]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="RequestEvent.id")
    grant: Mapped[Grant | None] = relationship(back_populates="request", lazy="selectin",
                                               uselist=False)


class RequestEvent(Base):
    """One step of a request's history, seen by both sides."""

    __tablename__ = "exchange_request_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("exchange_request.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


class Grant(Base):
    """The consumer department may read these items of the resource, for this purpose,
    from ``starts`` to ``ends`` (inclusive)."""

    __tablename__ = "exchange_grant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("exchange_request.id"), unique=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("platform_department.id"), index=True)
    consumer_id: Mapped[str] = mapped_column(ForeignKey("platform_department.id"), index=True)
    data_items: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    starts: Mapped[dt.date] = mapped_column(Date)
    ends: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[ShareRequest] = relationship(back_populates="grant", lazy="raise")
    resource: Mapped[Resource] = relationship(lazy="joined")
    provider: Mapped[Department] = relationship(foreign_keys=[provider_id], lazy="joined")
    consumer: Mapped[Department] = relationship(foreign_keys=[consumer_id], lazy="joined")


class Dispute(Base):
    """校核: records of a resource the consumer doubts, and the provider's answer."""

    __tablename__ = "exchange_dispute"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("catalog_resource.id"), index=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("platform_department.id"), index=True)
    consumer_id: Mapped[str] = mapped_column(ForeignKey("platform_department.id"), index=True)
    opened_by: Mapped[str] = mapped_column(String(100))
    records: Mapped[list[dict]] = mapped_column(JSON)
    data_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), index=True)
    deadline: Mapped[dt.date] = mapped_column(Date, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    corrected_version: Mapped[int | None] = mapped_column(Integer)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reminded_on: Mapped[dt.date | None] = mapped_column(Date)
    overdue_notified: Mapped[bool] = mapped_column(Boolean, default=False)

    resource: Mapped[Resource] = relationship(lazy="joined")
    provider: Mapped[Department] = relationship(foreign_keys=[provider_id], lazy="joined")
    consumer: Mapped[Department] = relationship(foreign_keys=[consumer_id], lazy="joined")


class Notification(Base):
    """One message in a department's inbox."""

    __tablename__ = "exchange_notification"
    __table_args__ = (Index("ix_exchange_notification_inbox", "department_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("platform_department.id"))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    read_by: Mapped[str | None] = mapped_column(String(100))

    department: Mapped[Department] = relationship(lazy="joined")


class Webhook(Base):
    """A department's endpoint for its notifications, signed with HMAC-SHA256."""

    __tablename__ = "exchange_webhook"

    department_id: Mapped[str] = mapped_column(ForeignKey("platform_department.id"),
                                               primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))

    department: Mapped[Department] = relationship(lazy="joined")


class Delivery(Base):
    """The outbox: one notification to POST to a webhook, retried with backoff."""

    __tablename__ = "exchange_delivery"
    __table_args__ = (Index("ix_exchange_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("exchange_notification.id"),
                                                 index=True)
    url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(12), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    notification: Mapped[Notification] = relationship(lazy="joined")
