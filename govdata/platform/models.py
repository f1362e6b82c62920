"""Kernel tables: departments, users and their roles, revoked tokens, the audit ledger."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    cast,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, UserDefinedType

from govdata.platform.db import Base, UTCDateTime, new_id, utcnow


class Role(enum.StrEnum):
    superuser = "superuser"
    admin = "admin"
    steward = "steward"
    requester = "requester"
    approver = "approver"
    auditor = "auditor"


class Department(Base):
    __tablename__ = "platform_department"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str | None] = mapped_column(String(100))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    division_code: Mapped[str] = mapped_column(String(6))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("platform_department.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Department | None] = relationship(remote_side=[id], lazy="joined")


class User(Base):
    __tablename__ = "platform_user"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    department_id: Mapped[str] = mapped_column(ForeignKey("platform_department.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Tokens issued (``iat``) before this second are outdated: set when the account is
    # deactivated or its roles change.
    tokens_valid_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    department: Mapped[Department] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="UserRole.role"
    )

    @property
    def roles(self) -> list[str]:
        return sorted(row.role for row in self.role_rows)

    def has_role(self, role: str) -> bool:
        return role in self.roles


class UserRole(Base):
    __tablename__ = "platform_user_role"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("platform_user.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))


class IssuedToken(Base):
    """Every token the platform signed, so that a revocation names a token that exists."""

    __tablename__ = "platform_issued_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RevokedToken(Base):
    __tablename__ = "platform_revoked_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class LedgerBody(TypeDecorator[str]):
    """The canonical JSON text exactly as hashed: PostgreSQL's ``json`` type keeps the input
    text verbatim (and lets generated columns read it); SQLite keeps text."""

    impl = Text
    cache_ok = True

    def column_expression(self, column):
        return cast(column, Text)

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PgJsonText())
        return dialect.type_descriptor(Text())


class _PgJsonText(UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **kw):
        return "JSON"


def _from_body(key: str) -> Computed:
    return Computed(f"body ->> '{key}'", persisted=True)


class AuditEntry(Base):
    """One ledger entry. ``body`` is the canonical JSON that was hashed; the indexed
    columns are generated from it by the database, so they cannot disagree with it.

    An entry is written with the act it records, unsealed (``seq`` and ``entry_hash``
    null) on PostgreSQL; the sequencer (``audit.seal``) later gives it its place in the
    chain. ``id`` is the order entries arrived in; ``seq`` the chain's order.
    """

    __tablename__ = "platform_audit_entry"
    __table_args__ = (
        Index("ix_platform_audit_entry_actor", "actor"),
        Index("ix_platform_audit_entry_department", "department"),
        Index("ix_platform_audit_entry_resource", "resource"),
        Index("ix_platform_audit_entry_action", "action"),
        Index("ix_platform_audit_entry_occurred_at", "occurred_at"),
        Index("ix_platform_audit_entry_unsealed", "id", postgresql_where=text("seq IS NULL"),
              sqlite_where=text("seq IS NULL")),
    )

    # On SQLite an INTEGER PRIMARY KEY is the rowid.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), Identity(),
                                    primary_key=True)
    seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                            unique=True)
    body: Mapped[str] = mapped_column(LedgerBody)
    entry_hash: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[str] = mapped_column(Text, _from_body("at"))
    actor: Mapped[str | None] = mapped_column(Text, _from_body("actor"))
    department: Mapped[str | None] = mapped_column(Text, _from_body("department"))
    action: Mapped[str] = mapped_column(Text, _from_body("action"))
    resource: Mapped[str | None] = mapped_column(Text, _from_body("resource"))
    outcome: Mapped[str] = mapped_column(Text, _from_body("outcome"))
