"""Public accounts (RULES.md §3): a member of the public registers with an email address
and a password (Argon2id, as staff passwords) to apply for conditional open data.

Accounts are not platform users: they hold no role in any department. A signed-in session
is a random token (``gdp_…``) whose SHA-256 is stored with its expiry
(``GOVDATA_PORTAL_SESSION_HOURS``); the browser keeps it in an HttpOnly cookie, an API
client sends it as ``Authorization: Bearer gdp_…``. Signing out deletes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from govdata.openportal.models import Account, AccountSession
from govdata.platform import clock
from govdata.platform.errors import Conflict, RuleViolation, Unauthorized
from govdata.platform.passwords import hash_password, verify_password
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings

SESSION_PREFIX = "gdp_"
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
PASSWORD_MIN = 10
PASSWORD_MAX = 200


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def as_principal(account: Account, *, client_ip: str | None = None,
                 request_id: str | None = None) -> Principal:
    """The account as the ledger names it: ``public:<email>``, no department, no role."""
    return Principal(username=f"public:{account.email}", department=None,
                     client_ip=client_ip, request_id=request_id)


def normal_email(email: str) -> str:
    return (email or "").strip().lower()


def _check(email: str, password: str, name: str) -> list[dict]:
    errors = []
    if not EMAIL.match(email) or len(email) > 254:
        errors.append({"loc": ["email"], "msg": "请填写有效的电子邮箱地址"})
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        errors.append({"loc": ["password"],
                       "msg": f"密码长度须为 {PASSWORD_MIN}–{PASSWORD_MAX} 个字符"})
    elif len(set(password)) < 4:
        errors.append({"loc": ["password"], "msg": "密码过于简单, 请混用不同字符"})
    if not name.strip() or len(name.strip()) > 100:
        errors.append({"loc": ["name"], "msg": "请填写姓名或称呼 (至多 100 字)"})
    return errors


def register(session: Session, *, email: str, password: str, name: str,
             organisation: str | None = None) -> Account:
    """A new account; 422 ``account_invalid`` naming each bad field, 409 ``email_taken``."""
    email = normal_email(email)
    errors = _check(email, password or "", name or "")
    if organisation and len(organisation.strip()) > 200:
        errors.append({"loc": ["organisation"], "msg": "单位名称至多 200 字"})
    if errors:
        raise RuleViolation("注册信息有误 (invalid registration)", code="account_invalid",
                            errors=errors)
    if session.scalar(select(func.count()).select_from(Account)
                      .where(Account.email == email)):
        raise Conflict("该邮箱已注册, 请直接登录 (email already registered)",
                       code="email_taken", errors=[{"loc": ["email"], "msg": "该邮箱已注册"}])
    account = Account(email=email, name=name.strip(),
                      organisation=(organisation or "").strip() or None,
                      password_hash=hash_password(password), is_active=True)
    session.add(account)
    session.flush()
    return account


def sign_in(session: Session, settings: Settings, *, email: str, password: str
            ) -> tuple[Account, str, dt.datetime]:
    """A new session for the account: ``(account, token, expires_at)``; a wrong email or
    password is the same 401 ``credentials_invalid`` (which one is not told)."""
    account = session.scalar(select(Account).where(Account.email == normal_email(email)))
    stored = account.password_hash if account is not None and account.is_active else None
    if not verify_password(stored, password or ""):
        raise Unauthorized("邮箱或密码不正确 (wrong email or password)",
                           code="credentials_invalid")
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    expires = clock.now() + dt.timedelta(hours=settings.portal_session_hours)
    session.add(AccountSession(token_hash=token_hash(token), account_id=account.id,
                               expires_at=expires))
    session.flush()
    return account, token, expires


def sign_out(session: Session, token: str) -> None:
    session.execute(delete(AccountSession).where(AccountSession.token_hash == token_hash(token)))


def account_of(session: Session, token: str | None) -> Account | None:
    """The active account a session token stands for; ``None`` when missing, unknown,
    expired or of a deactivated account."""
    if not token or not token.startswith(SESSION_PREFIX):
        return None
    row = session.execute(
        select(Account, AccountSession.expires_at)
        .join(AccountSession, AccountSession.account_id == Account.id)
        .where(AccountSession.token_hash == token_hash(token))).first()
    if row is None or row[1] <= clock.now() or not row[0].is_active:
        return None
    return row[0]


def require_account(session: Session, token: str | None) -> Account:
    account = account_of(session, token)
    if account is None:
        raise Unauthorized("请先登录 (sign in first)" if not token else
                           "登录已失效, 请重新登录 (session expired or unknown)",
                           code="sign_in_required")
    return account
