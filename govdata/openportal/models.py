"""Open-portal tables: what a dataset adds to its catalog entry on the public side
(licence, coverage), its usage counts, links to data published elsewhere, and the rate
limiter's shared counters; and the people side: public accounts, applications for
conditional data, API keys, data requests and error reports."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govdata.platform.db import Base, UTCDateTime, new_id, utcnow


class OpenMetadata(Base):
    """The open-data attributes of a catalog resource that the 2017 catalog guide does not
    carry: its licence and its temporal and spatial coverage. A resource without a row
    has the default licence and the coverage of its department's division."""

    __tablename__ = "openportal_metadata"

    resource_id: Mapped[str] = mapped_column(
        ForeignKey("catalog_resource.id", ondelete="CASCADE"), primary_key=True)
    licence: Mapped[str | None] = mapped_column(String(40))
    temporal_start: Mapped[dt.date | None] = mapped_column(Date)
    temporal_end: Mapped[dt.date | None] = mapped_column(Date)
    spatial: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Usage(Base):
    """How often the public used a dataset: views of its metadata, record queries and
    downloads (``usage.py`` adds to these in batches)."""

    __tablename__ = "openportal_usage"

    resource_id: Mapped[str] = mapped_column(
        ForeignKey("catalog_resource.id", ondelete="CASCADE"), primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    record_queries: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)


class Link(Base):
    """A distribution of a dataset kept elsewhere (CKAN ``resource_create`` with a URL, or
    the resources of a dataset loaded from another portal's dump)."""

    __tablename__ = "openportal_link"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RateWindow(Base):
    """Requests of one client in one fixed window, shared by every worker (PostgreSQL
    keeps the table UNLOGGED: losing it in a crash only forgets the current minute)."""

    __tablename__ = "openportal_rate_window"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


# --- the people side: accounts, applications, API keys, requests and reports ------------

class Account(Base):
    """A member of the public with an account on the portal (email + Argon2id password),
    needed to apply for conditional open data; not a platform user."""

    __tablename__ = "openportal_account"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountSession(Base):
    """A signed-in session of an account: the SHA-256 of a random token that the browser
    keeps in a cookie or an API client sends as ``Bearer``; deleted on sign-out."""

    __tablename__ = "openportal_account_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("openportal_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Application(Base):
    """An application for a conditional open dataset (RULES.md §3): purpose, the data
    items asked for, the security undertaking, the period; decided by an approver of the
    providing department (a refusal gives reasons)."""

    __tablename__ = "openportal_application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("openportal_account.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    data_items: Mapped[list[str]] = mapped_column(JSON)
    undertaking: Mapped[str] = mapped_column(Text)
    until: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    granted_items: Mapped[list[str] | None] = mapped_column(JSON)
    granted_until: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An approved applicant's key to one dataset's data, until the granted date. Only its
    SHA-256 is kept (the key is shown once); ``prefix`` names it in lists."""

    __tablename__ = "openportal_api_key"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("openportal_application.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class Answered:
    """Who submitted (an account, or no one; a contact address kept private), the public
    status and the provider's answer: what data requests and error reports share."""

    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("openportal_account.id", ondelete="SET NULL"))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DataRequest(Answered, Base):
    """The public asks for data that is not open yet (数据需求); its status and the
    answer are public, the contact address is not."""

    __tablename__ = "openportal_data_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    department_id: Mapped[str | None] = mapped_column(
        ForeignKey("platform_department.id"), index=True)


class ErrorReport(Answered, Base):
    """A report of an error in an open dataset (纠错), answered by its department."""

    __tablename__ = "openportal_error_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    data_item: Mapped[str | None] = mapped_column(String(100))
    record: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
