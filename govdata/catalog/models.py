"""Catalog tables: resources (政务信息资源), their data items (信息项), versions and codes."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govdata.platform.db import Base, UTCDateTime, new_id, utcnow
from govdata.platform.models import Department


class ShareType(enum.StrEnum):
    unconditional = "unconditional"  # 无条件共享
    conditional = "conditional"  # 有条件共享
    none = "none"  # 不予共享


class OpenType(enum.StrEnum):
    unconditional = "unconditional"  # 无条件开放
    conditional = "conditional"  # 有条件开放
    none = "none"  # 不予开放


class ResourceClass(enum.StrEnum):
    basic = "basic"  # 基础信息资源
    theme = "theme"  # 主题信息资源
    department = "department"  # 部门信息资源


class Status(enum.StrEnum):
    draft = "draft"
    published = "published"
    retired = "retired"


class Sensitivity(enum.StrEnum):
    none = "none"
    id_number = "id_number"
    phone = "phone"
    name = "name"
    address = "address"
    bank_card = "bank_card"
    uscc = "uscc"
    secret = "secret"


class Resource(Base):
    __tablename__ = "catalog_resource"
    __table_args__ = (UniqueConstraint("department_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    classification: Mapped[str] = mapped_column(String(16), index=True)
    resource_class: Mapped[str] = mapped_column(String(16))
    basic_kind: Mapped[str | None] = mapped_column(String(20))
    theme: Mapped[str | None] = mapped_column(String(20))
    category_path: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    department_id: Mapped[str] = mapped_column(ForeignKey("platform_department.id"), index=True)
    format_category: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(20))
    share_type: Mapped[str] = mapped_column(String(16))
    share_condition: Mapped[str | None] = mapped_column(Text)
    share_method: Mapped[str] = mapped_column(String(20))
    legal_basis: Mapped[str | None] = mapped_column(Text)
    open_type: Mapped[str] = mapped_column(String(16))
    open_condition: Mapped[str | None] = mapped_column(Text)
    update_cycle: Mapped[str] = mapped_column(String(10))
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    related_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default=Status.draft, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    search_text: Mapped[str] = mapped_column(Text, default="")
    name_sort: Mapped[str] = mapped_column(String(600), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship(lazy="joined")
    items: Mapped[list[DataItem]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="DataItem.position",
        back_populates="resource",
    )
    # The current data version, for a query that loads it with the resource (joinedload)
    # and saves ``current_version`` its own query; never loaded on its own.
    current_data: Mapped[DataVersion | None] = relationship(
        primaryjoin="and_(DataVersion.resource_id == Resource.id, DataVersion.is_current)",
        viewonly=True, uselist=False, lazy="raise",
    )


class DataItem(Base):
    """信息项: one field of a resource."""

    __tablename__ = "catalog_data_item"
    __table_args__ = (UniqueConstraint("resource_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(100))
    data_type: Mapped[str] = mapped_column(String(1))
    length: Mapped[int | None] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    is_basic: Mapped[bool] = mapped_column(Boolean, default=False)
    share_type: Mapped[str | None] = mapped_column(String(16))
    open_type: Mapped[str | None] = mapped_column(String(16))
    sensitivity: Mapped[str] = mapped_column(String(16), default=Sensitivity.none)

    resource: Mapped[Resource] = relationship(back_populates="items", lazy="raise")


class ResourceVersion(Base):
    """One entry of a resource's history: the whole resource as it was after a change."""

    __tablename__ = "catalog_resource_version"
    __table_args__ = (UniqueConstraint("resource_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(20))
    snapshot: Mapped[dict] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeSequence(Base):
    """The last sequence number handed out per classification: codes are never reused."""

    __tablename__ = "catalog_code_sequence"

    classification: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)


class DataVersion(Base):
    """One load of a resource's data: a typed table per version (the datastore)."""

    __tablename__ = "catalog_data_version"
    __table_args__ = (UniqueConstraint("resource_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(
        ForeignKey("catalog_resource.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    table_name: Mapped[str] = mapped_column(String(63), unique=True)
    columns: Mapped[list[dict]] = mapped_column(JSON)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    source_name: Mapped[str | None] = mapped_column(String(255))
    loaded_by: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the text columns hold (datastore.stats), read by queries only: not loaded with
    # the row. None for versions loaded before it was gathered.
    column_stats: Mapped[dict | None] = mapped_column(JSON, deferred=True)
