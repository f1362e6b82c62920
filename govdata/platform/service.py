"""Departments, users, login and token revocation: the kernel's use cases."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.platform import audit, jurisdiction, tokens
from govdata.platform.db import utcnow
from govdata.platform.errors import Conflict, Forbidden, NotFound, RuleViolation, Unauthorized
from govdata.platform.identifiers import is_division_code_shape, is_valid_uscc
from govdata.platform.models import (
    Department,
    IssuedToken,
    RevokedToken,
    Role,
    User,
    UserRole,
)
from govdata.platform.passwords import hash_password, verify_password
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings

ROLES = {role.value for role in Role}


def require(principal: Principal, *roles: str) -> None:
    if not any(principal.has(role) for role in roles):
        raise Forbidden(f"需要以下角色之一: {', '.join(roles)}", code="role_required")


def require_admin_of(session: Session, principal: Principal, division_code: str, *,
                     action: str, resource: str) -> None:
    """Forbidden (on the ledger) unless the principal administers this division."""
    require(principal, "admin", "superuser")
    if not jurisdiction.covers(principal, division_code):
        raise audit.refused(session, principal, Forbidden(
            f"超出管理员的管辖范围 ({jurisdiction.describe(principal)}) "
            f"(outside the administrator's jurisdiction)", code="outside_jurisdiction"),
            action=action, resource=resource, division=division_code)


def get_department(session: Session, code: str) -> Department:
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(f"部门 {code} 不存在", code="department_not_found")
    return department


def list_departments(session: Session, *, limit: int, offset: int) -> tuple[list[Department], int]:
    total = session.scalar(select(func.count()).select_from(Department)) or 0
    rows = session.scalars(
        select(Department).order_by(Department.code).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def create_department(
    session: Session,
    principal: Principal,
    *,
    code: str,
    name: str,
    uscc: str,
    division_code: str,
    short_name: str | None = None,
    parent_code: str | None = None,
) -> Department:
    require(principal, "admin", "superuser")
    errors = []
    if not is_valid_uscc(uscc):
        errors.append({"loc": ["uscc"], "msg": f"统一社会信用代码 {uscc} 校验位不正确或含非法字符"})
    if not is_division_code_shape(division_code):
        errors.append({"loc": ["division_code"], "msg": "行政区划代码必须是 6 位数字"})
    if errors:
        raise RuleViolation("部门信息不合规", code="department_invalid", errors=errors)
    require_admin_of(session, principal, division_code, action="department.create",
                     resource=f"department:{code}")
    if session.scalar(select(Department.id).where(Department.code == code)):
        raise Conflict(f"部门代码 {code} 已存在", code="department_exists")
    if session.scalar(select(Department.id).where(Department.uscc == uscc)):
        raise Conflict(f"统一社会信用代码 {uscc} 已被其他部门使用", code="department_uscc_exists")
    parent = get_department(session, parent_code) if parent_code else None
    department = Department(code=code, name=name, short_name=short_name, uscc=uscc,
                            division_code=division_code, parent=parent)
    session.add(department)
    session.flush()
    audit.record(session, principal, action="department.create", resource=f"department:{code}")
    return department


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在", code="user_not_found")
    return user


def principal_of(user: User) -> Principal:
    """A user as their token presents them (for commands run ``--as`` a user)."""
    return Principal(username=user.username, department=user.department.code,
                     roles=frozenset(user.roles), division=user.department.division_code)


def create_user(
    session: Session,
    principal: Principal,
    *,
    username: str,
    department_code: str,
    roles: list[str],
    password: str | None = None,
    display_name: str | None = None,
    is_demo: bool = False,
) -> User:
    require(principal, "admin", "superuser")
    check_roles(roles)
    if password is not None and len(password) < 8:
        raise RuleViolation("密码至少 8 个字符", code="password_too_short")
    department = get_department(session, department_code)
    resource = f"user:{username}"
    require_admin_of(session, principal, department.division_code, action="user.create",
                     resource=resource)
    require_grantable(session, principal, roles, action="user.create", resource=resource)
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"用户 {username} 已存在", code="user_exists")
    user = User(
        username=username,
        display_name=display_name,
        department=department,
        password_hash=hash_password(password) if password else None,
        is_demo=is_demo,
        role_rows=[UserRole(role=role) for role in sorted(set(roles))],
    )
    session.add(user)
    session.flush()
    audit.record(session, principal, action="user.create", resource=f"user:{username}",
                 roles_granted=sorted(set(roles)), target_department=department_code)
    return user


def check_roles(roles: list[str]) -> None:
    unknown = sorted(set(roles) - ROLES)
    if unknown or not roles:
        raise RuleViolation(f"未知角色: {', '.join(unknown) or '(空)'}; 可选 {sorted(ROLES)}",
                            code="role_unknown")


def require_grantable(session: Session, principal: Principal, roles: list[str], *,
                      action: str, resource: str) -> None:
    """Only a superuser makes superusers."""
    if "superuser" in roles and not principal.has("superuser"):
        raise audit.refused(session, principal, Forbidden(
            "只有超级管理员可以授予 superuser 角色 (only a superuser grants superuser)",
            code="superuser_required"), action=action, resource=resource)


def grantable_roles(principal: Principal) -> list[str]:
    """The roles this principal may give (``require_grantable``'s rule, for forms)."""
    return sorted(role for role in ROLES if role != "superuser" or principal.has("superuser"))


def administered_user(session: Session, principal: Principal, username: str, *,
                      action: str) -> User:
    """A user the principal administers (404 unknown, 403 outside the jurisdiction)."""
    require(principal, "admin", "superuser")
    user = get_user(session, username)
    require_admin_of(session, principal, user.department.division_code, action=action,
                     resource=f"user:{username}")
    if user.has_role("superuser"):
        require_grantable(session, principal, ["superuser"], action=action,
                          resource=f"user:{username}")
    return user


def set_user_active(session: Session, principal: Principal, username: str, *,
                    active: bool) -> User:
    """Deactivate (every token of the user outdated at once) or reactivate an account."""
    action = "user.activate" if active else "user.deactivate"
    user = administered_user(session, principal, username, action=action)
    if user.is_active == active:
        return user
    user.is_active = active
    if not active:
        user.tokens_valid_after = utcnow()
    session.flush()
    audit.record(session, principal, action=action, resource=f"user:{username}",
                 target_department=user.department.code)
    return user


def set_user_roles(session: Session, principal: Principal, username: str, *,
                   roles: list[str]) -> User:
    """Replace a user's roles; tokens issued before are outdated at once."""
    check_roles(roles)
    user = administered_user(session, principal, username, action="user.roles")
    resource = f"user:{username}"
    require_grantable(session, principal, roles, action="user.roles", resource=resource)
    before, after = user.roles, sorted(set(roles))
    if before == after:
        return user
    for row in [row for row in user.role_rows if row.role not in after]:
        user.role_rows.remove(row)
    user.role_rows.extend(UserRole(role=role) for role in after if role not in before)
    user.tokens_valid_after = utcnow()
    session.flush()
    audit.record(session, principal, action="user.roles", resource=resource,
                 target_department=user.department.code, roles_before=before,
                 roles_after=after)
    return user


def login(session: Session, settings: Settings, *, username: str, password: str,
          client_ip: str | None = None) -> tokens.IssuedToken:
    """Password login. Unknown users cost the same hash work as wrong passwords."""
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if user is not None and user.is_demo and settings.env == "production":
        ok = False
    if not ok or user is None or not user.is_active:
        raise Unauthorized("用户名或密码错误 (invalid username or password)",
                           code="invalid_credentials")
    return issue_token(session, settings, user=user)


def issue_token(session: Session, settings: Settings, *, user: User,
                ttl: dt.timedelta | None = None) -> tokens.IssuedToken:
    if ttl is not None and ttl <= dt.timedelta(0):
        raise RuleViolation("令牌有效期必须大于 0 (token lifetime must be positive)",
                            code="token_ttl_invalid")
    issued = tokens.issue(settings, subject=user.username, department=user.department.code,
                          roles=user.roles, ttl=ttl)
    session.add(IssuedToken(jti=issued.jti, username=user.username, issued_at=utcnow(),
                            expires_at=issued.expires_at))
    session.flush()
    return issued


def issue_system_token(session: Session, settings: Settings, principal: Principal, *,
                       username: str, ttl: dt.timedelta) -> tokens.IssuedToken:
    """A long-lived token for a department system (``govdata token issue``)."""
    user = administered_user(session, principal, username, action="token.issue")
    issued = issue_token(session, settings, user=user, ttl=ttl)
    audit.record(session, principal, action="token.issue", resource=f"user:{username}",
                 jti=issued.jti, expires_at=audit.timestamp(issued.expires_at))
    return issued


def revoke_token(session: Session, principal: Principal, *, jti: str) -> RevokedToken:
    issued = session.get(IssuedToken, jti)
    if issued is None:
        raise NotFound(f"令牌 {jti} 不存在 (no token with this jti was issued)",
                       code="token_not_found")
    administered_user(session, principal, issued.username, action="token.revoke")
    if session.get(RevokedToken, jti):
        raise Conflict(f"令牌 {jti} 已吊销 (already revoked)", code="token_already_revoked")
    revoked = RevokedToken(jti=jti, expires_at=issued.expires_at, revoked_by=principal.username)
    session.add(revoked)
    session.flush()
    audit.record(session, principal, action="token.revoke", resource=f"token:{jti}")
    return revoked


@dataclass(frozen=True)
class LiveAccount:
    """A token's account as it is now: what every request is checked against."""

    department: str
    division: str
    roles: frozenset[str]


def live_account(session: Session, claims: dict) -> LiveAccount:
    """Check a verified token against the platform's records in one query (a row per
    role): issued here, not revoked, its user still there, active and unchanged since
    the token was issued (deactivation and role changes outdate tokens, to the
    microsecond). Raises ``Unauthorized`` with the precise reason."""
    rows = session.execute(
        select(IssuedToken.issued_at, IssuedToken.username, RevokedToken.jti.label("revoked"),
               User.is_active, User.created_at, User.tokens_valid_after,
               Department.code, Department.division_code, UserRole.role)
        .select_from(IssuedToken)
        .outerjoin(RevokedToken, RevokedToken.jti == IssuedToken.jti)
        .outerjoin(User, User.username == IssuedToken.username)
        .outerjoin(Department, Department.id == User.department_id)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .where(IssuedToken.jti == claims["jti"])
    ).all()
    if not rows or rows[0].username != claims["sub"]:
        raise Unauthorized("令牌不是本平台签发的 (token unknown to the platform)",
                           code="token_unknown")
    row = rows[0]
    if row.revoked is not None:
        raise Unauthorized("令牌已被吊销 (token revoked)", code="token_revoked")
    if row.code is None or row.issued_at < row.created_at:
        raise Unauthorized("令牌的用户已不存在 (the token's user no longer exists)",
                           code="token_user_unknown")
    if not row.is_active:
        raise Unauthorized("用户已停用 (user deactivated)", code="token_user_inactive")
    roles = frozenset(r.role for r in rows if r.role)
    outdated = row.tokens_valid_after is not None and row.issued_at < row.tokens_valid_after
    if outdated or claims["dept"] != row.code or not set(claims["roles"]) <= roles:
        raise Unauthorized("令牌已失效: 用户的部门或角色已变更, 请重新登录 "
                           "(token outdated: the user's roles changed)", code="token_outdated")
    return LiveAccount(department=row.code, division=row.division_code, roles=roles)


def sign_out(session: Session, principal: Principal) -> None:
    """Anyone may revoke the token they are using (the console's sign-out)."""
    if principal.jti is None or session.get(RevokedToken, principal.jti):
        return
    session.add(RevokedToken(jti=principal.jti, revoked_by=principal.username))
    session.flush()
    audit.record(session, principal, action="token.revoke", resource=f"token:{principal.jti}",
                 reason="sign-out")


def is_revoked(session: Session, jti: str) -> bool:
    return session.get(RevokedToken, jti) is not None


def list_users(session: Session, principal: Principal, *, department: str | None = None,
               limit: int = 20, offset: int = 0) -> tuple[list[User], int]:
    """Accounts, by username: those of the administrator's jurisdiction."""
    require(principal, "admin", "superuser")
    query = (select(User).join(Department, Department.id == User.department_id)
             .where(jurisdiction.covers_clause(principal, Department.division_code)))
    if department is not None:
        query = query.where(User.department_id == get_department(session, department).id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(User.username).limit(limit).offset(offset)).all()
    return list(rows), total


@dataclass(frozen=True)
class TokenRecord:
    """An issued token as an administrator sees it (never the token itself)."""

    jti: str
    username: str
    department: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None
    outdated: bool  # its user deactivated or re-roled since it was issued

    def status(self, now: dt.datetime) -> str:
        """``revoked``, ``expired``, ``outdated`` or ``active``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "outdated" if self.outdated else "active"


def list_tokens(session: Session, principal: Principal, *, username: str | None = None,
                active_only: bool = False, limit: int = 20, offset: int = 0
                ) -> tuple[list[TokenRecord], int]:
    """Tokens issued to the accounts of the administrator's jurisdiction, newest first;
    ``active_only`` leaves out the revoked, expired and outdated."""
    require(principal, "admin", "superuser")
    outdated = ~User.is_active | (User.tokens_valid_after.is_not(None)
                                  & (IssuedToken.issued_at < User.tokens_valid_after))
    query = (select(IssuedToken, Department.code, RevokedToken.revoked_at,
                    RevokedToken.revoked_by, outdated.label("outdated"))
             .join(User, User.username == IssuedToken.username)
             .join(Department, Department.id == User.department_id)
             .outerjoin(RevokedToken, RevokedToken.jti == IssuedToken.jti)
             .where(jurisdiction.covers_clause(principal, Department.division_code)))
    if username:
        query = query.where(IssuedToken.username == username)
    if active_only:
        query = query.where(RevokedToken.jti.is_(None), IssuedToken.expires_at > utcnow(),
                            ~outdated)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(IssuedToken.issued_at.desc(), IssuedToken.jti)
                           .limit(limit).offset(offset)).all()
    return [TokenRecord(jti=token.jti, username=token.username, department=code,
                        issued_at=token.issued_at, expires_at=token.expires_at,
                        revoked_at=revoked_at, revoked_by=revoked_by, outdated=bool(old))
            for token, code, revoked_at, revoked_by, old in rows], total
