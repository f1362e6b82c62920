"""Departments, users, login and token revocation: the kernel's use cases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.platform import audit, tokens
from govdata.platform.errors import Conflict, Forbidden, NotFound, RuleViolation, Unauthorized
from govdata.platform.identifiers import is_division_code_shape, is_valid_uscc
from govdata.platform.models import Department, RevokedToken, Role, User, UserRole
from govdata.platform.passwords import hash_password, verify_password
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings

ROLES = {role.value for role in Role}


def require(principal: Principal, *roles: str) -> None:
    if not any(principal.has(role) for role in roles):
        raise Forbidden(f"需要以下角色之一: {', '.join(roles)}", code="role_required")


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
    require(principal, "admin")
    errors = []
    if not is_valid_uscc(uscc):
        errors.append({"loc": ["uscc"], "msg": f"统一社会信用代码 {uscc} 校验位不正确或含非法字符"})
    if not is_division_code_shape(division_code):
        errors.append({"loc": ["division_code"], "msg": "行政区划代码必须是 6 位数字"})
    if errors:
        raise RuleViolation("部门信息不合规", code="department_invalid", errors=errors)
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
    require(principal, "admin")
    unknown = sorted(set(roles) - ROLES)
    if unknown or not roles:
        raise RuleViolation(f"未知角色: {', '.join(unknown) or '(空)'}; 可选 {sorted(ROLES)}",
                            code="role_unknown")
    if password is not None and len(password) < 8:
        raise RuleViolation("密码至少 8 个字符", code="password_too_short")
    department = get_department(session, department_code)
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


def login(session: Session, settings: Settings, *, username: str, password: str,
          client_ip: str | None = None) -> tokens.IssuedToken:
    """Password login. Unknown users cost the same hash work as wrong passwords."""
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if user is not None and user.is_demo and settings.env == "production":
        ok = False
    if not ok or user is None or not user.is_active:
        raise Unauthorized("用户名或密码错误", code="invalid_credentials")
    return issue_token(session, settings, user=user)


def issue_token(session: Session, settings: Settings, *, user: User,
                ttl: dt.timedelta | None = None) -> tokens.IssuedToken:
    return tokens.issue(settings, subject=user.username, department=user.department.code,
                        roles=user.roles, ttl=ttl)


def issue_system_token(session: Session, settings: Settings, principal: Principal, *,
                       username: str, ttl: dt.timedelta) -> tokens.IssuedToken:
    """A long-lived token for a department system (``govdata token issue``)."""
    require(principal, "admin")
    user = get_user(session, username)
    issued = issue_token(session, settings, user=user, ttl=ttl)
    audit.record(session, principal, action="token.issue", resource=f"user:{username}",
                 jti=issued.jti, expires_at=audit.timestamp(issued.expires_at))
    return issued


def revoke_token(session: Session, principal: Principal, *, jti: str,
                 expires_at: dt.datetime | None = None) -> RevokedToken:
    require(principal, "admin")
    if session.get(RevokedToken, jti):
        raise Conflict(f"令牌 {jti} 已吊销", code="token_already_revoked")
    revoked = RevokedToken(jti=jti, expires_at=expires_at, revoked_by=principal.username)
    session.add(revoked)
    session.flush()
    audit.record(session, principal, action="token.revoke", resource=f"token:{jti}")
    return revoked


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
    """Accounts, by username; administrators only."""
    require(principal, "admin")
    query = select(User)
    if department is not None:
        query = query.where(User.department_id == get_department(session, department).id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(User.username).limit(limit).offset(offset)).all()
    return list(rows), total
