"""Shapes that cross HTTP for the kernel."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
MAX_ROLES = 10
Role = Annotated[str, Field(max_length=32)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    username: str
    department: str | None
    roles: list[str]
    jti: str | None


class DepartmentIn(BaseModel):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$", examples=["cq-hbj"])
    name: str = Field(min_length=1, max_length=200)
    short_name: str | None = Field(default=None, max_length=100)
    uscc: str = Field(min_length=18, max_length=18, description="统一社会信用代码")
    division_code: str = Field(max_length=6, description="行政区划代码, 6 位")
    parent_code: str | None = Field(default=None, max_length=64)


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    short_name: str | None
    uscc: str
    division_code: str
    parent_code: str | None = None
    created_at: dt.datetime


class UserIn(BaseModel):
    username: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,99}$")
    department_code: str = Field(max_length=64)
    roles: list[Role] = Field(min_length=1, max_length=MAX_ROLES)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    display_name: str | None = Field(default=None, max_length=100)


class UserPatch(BaseModel):
    """What an administrator changes on an account; each change outdates its tokens."""

    active: bool | None = None
    roles: list[str] | None = Field(default=None, min_length=1, max_length=6)


class UserOut(BaseModel):
    username: str
    display_name: str | None
    department: str
    roles: list[str]
    is_active: bool
    created_at: dt.datetime


class AuditEventOut(BaseModel):
    seq: int | None  # null until the sequencer seals the entry
    occurred_at: str
    actor: str | None
    department: str | None
    action: str
    resource: str | None
    outcome: str
    entry: dict[str, Any]
    entry_hash: str | None


class VerificationOut(BaseModel):
    ok: bool
    entries: int
    head_hash: str
    first_bad_seq: int | None
    reason: str | None
    unsealed: int
