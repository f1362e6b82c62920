"""Open-portal tables: what a dataset adds to its catalog entry on the public side
(licence, coverage), its usage counts, links to data published elsewhere, and the rate
limiter's shared counters."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
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
