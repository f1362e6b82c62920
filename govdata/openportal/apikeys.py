"""API keys of approved applicants (RULES.md §3): the key to one conditional dataset's
data, for the items and until the date the provider granted.

A key is ``gdk_`` and 43 random characters, shown once when issued; only its SHA-256 is
stored (a random key needs no slow hash), with a short prefix to name it in lists. It is
sent as ``Authorization: Bearer gdk_…`` (or raw, as ckanapi sends keys) to
``/api/v1/open/datasets/{name}/records`` and ``/download``, and to the CKAN API's
``datastore_search`` and ``/datastore/dump``; requests with a valid key count against the
key's own rate limit (``GOVDATA_API_KEY_RATE_LIMIT_PER_MINUTE``), not the client's IP.
The applicant revokes a key, the provider's approvers revoke the application (all its
keys); either stops the key at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.openportal import applications
from govdata.openportal.models import Account, ApiKey, Application
from govdata.platform import audit, clock
from govdata.platform.errors import Conflict, NotFound, Unauthorized
from govdata.platform.principal import Principal

KEY_PREFIX = "gdk_"
SHOWN_PREFIX = 12


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def is_api_key(raw: str | None) -> bool:
    return bool(raw) and raw.startswith(KEY_PREFIX)


@dataclass(frozen=True)
class KeyAccess:
    """What a valid key opens: the granted items of one dataset, for one account."""

    key: ApiKey
    application: Application
    account: Account

    @property
    def resource_id(self) -> str:
        return self.application.resource_id

    @property
    def items(self) -> list[str]:
        return list(self.application.granted_items or [])

    def principal(self, client_ip: str | None = None) -> Principal:
        return Principal(username=f"public:{self.account.email}", department=None,
                         client_ip=client_ip)


def state(key: ApiKey, now: dt.datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired``."""
    if key.revoked_at is not None:
        return "revoked"
    return "expired" if key.expires_at <= (now or clock.now()) else "active"


def _end_of(day: dt.date) -> dt.datetime:
    """The end of a date in China, as a UTC moment."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(),
                               tzinfo=clock.CHINA).astimezone(dt.UTC)


def issue(session: Session, account: Account, application_id: int, *,
          principal: Principal) -> tuple[ApiKey, str]:
    """A new key for one of the account's approved applications: ``(key, raw key)``; the
    raw key is not kept and cannot be shown again."""
    application = applications.get_own(session, account, application_id)
    if applications.shown_status(application) != "approved":
        raise Conflict("只有已批准且在期限内的申请可以生成 API 密钥",
                       code="application_not_approved")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(application_id=application.id, prefix=raw[:SHOWN_PREFIX],
                 key_hash=key_hash(raw), expires_at=_end_of(application.granted_until))
    session.add(key)
    session.flush()
    resource = applications.resource_of(session, application)
    audit.record(session, principal, action="openportal.key.issue", resource=resource.code,
                 application=application.id, key=key.prefix,
                 until=application.granted_until.isoformat())
    return key, raw


def keys_of(session: Session, account: Account) -> list[tuple[ApiKey, Application]]:
    rows = session.execute(
        select(ApiKey, Application).join(Application, Application.id == ApiKey.application_id)
        .where(Application.account_id == account.id).order_by(ApiKey.created_at.desc()))
    return [(key, application) for key, application in rows]


def revoke_own(session: Session, account: Account, key_id: str, *,
               principal: Principal) -> ApiKey:
    """The account revokes one of its keys (revoking twice changes nothing)."""
    row = session.execute(
        select(ApiKey, Application).join(Application, Application.id == ApiKey.application_id)
        .where(ApiKey.id == key_id, Application.account_id == account.id)).first()
    if row is None:
        raise NotFound(f"API 密钥 {key_id} 不存在", code="api_key_not_found")
    key, application = row
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by = clock.now(), principal.username
        session.flush()
        audit.record(session, principal, action="openportal.key.revoke",
                     resource=applications.resource_of(session, application).code,
                     application=application.id, key=key.prefix)
    return key


def authenticate(session: Session, raw: str) -> KeyAccess:
    """The access a presented key gives, or 401 ``api_key_invalid`` / ``api_key_revoked``
    / ``api_key_expired``."""
    row = session.execute(
        select(ApiKey, Application, Account)
        .join(Application, Application.id == ApiKey.application_id)
        .join(Account, Account.id == Application.account_id)
        .where(ApiKey.key_hash == key_hash(raw))).first()
    if row is None or not row[2].is_active:
        raise Unauthorized("API 密钥无效 (unknown API key)", code="api_key_invalid")
    key, application, account = row
    found = state(key)
    if found == "revoked":
        raise Unauthorized("API 密钥已撤销 (API key revoked)", code="api_key_revoked")
    if found == "expired":
        raise Unauthorized("API 密钥已过期 (API key expired)", code="api_key_expired")
    return KeyAccess(key=key, application=application, account=account)


def active_key_id(session: Session, raw: str) -> str | None:
    """The id of the active key, for the rate limiter (``None`` if not a valid key)."""
    return session.scalar(select(ApiKey.id).where(
        ApiKey.key_hash == key_hash(raw), ApiKey.revoked_at.is_(None),
        ApiKey.expires_at > clock.now()))
