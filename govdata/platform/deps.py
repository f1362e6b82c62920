"""FastAPI dependencies: the request's unit of work, settings, and who is calling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import contextmanager_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from govdata.platform import audit, service, tokens
from govdata.platform.db import unit_of_work_async
from govdata.platform.errors import Forbidden, Unauthorized
from govdata.platform.principal import ANONYMOUS, Principal
from govdata.platform.settings import Settings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: commit on success, roll back on any error.

    Async, as making a session does no I/O (it connects on first use, in the endpoint's
    thread): ending it is the one trip to the thread pool, where a plain generator
    dependency would take two."""
    factory = request.app.state.db.session_factory(read=request.method in READ_METHODS)
    async with unit_of_work_async(factory()) as session:
        yield session


async def get_settings(request: Request) -> Settings:
    """Async, as it does no I/O: a plain function would cost a trip to the thread pool."""
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_read_session(request: Request, primary: SessionDep
                           ) -> AsyncIterator[Session]:
    """A public read's unit of work: on a read replica when there are any
    (``GOVDATA_DATABASE_READ_URLS``), else the request's own (``primary`` connects only
    when used)."""
    db = request.app.state.db
    if not db.read_engines:
        yield primary
        return
    async with contextmanager_in_threadpool(contextmanager(db.read_unit_of_work)()) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]

MAX_OFFSET = 1_000_000_000  # far past any page; keeps offsets inside 64-bit SQL integers
Limit = Annotated[int, Query(ge=1, le=1000, description="每页条数 (page size)")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="跳过条数 (rows to skip)")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# Declares the OAuth2 password flow in the OpenAPI document, so that the docs' Authorize
# button logs in through the token endpoint; the header itself is read by bearer_token.
oauth2_password = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False,
                                       scheme_name="OAuth2PasswordBearer")
DeclaredToken = Annotated[str | None, Depends(oauth2_password)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("Authorization 头必须是 'Bearer <令牌>'", code="token_malformed")
    return value.strip()


def principal_from_token(
    request: Request, session: Session, settings: Settings, token: str
) -> Principal:
    claims = tokens.read(settings, token)
    account = service.live_account(session, claims)
    return Principal(
        username=claims["sub"],
        department=account.department,
        roles=frozenset(claims["roles"]),
        jti=claims["jti"],
        client_ip=request.client.host if request.client else None,
        request_id=getattr(request.state, "request_id", None),
        division=account.division,
    )


def current_principal(request: Request, session: SessionDep, settings: SettingsDep,
                      _: DeclaredToken = None) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("需要访问令牌 (missing bearer token)", code="token_missing")
    return principal_from_token(request, session, settings, token)


def optional_principal(request: Request, session: SessionDep, settings: SettingsDep,
                       _: DeclaredToken = None) -> Principal:
    """For endpoints open to the public: no token is anonymous, a bad token is still 401."""
    token = bearer_token(request)
    if token is None:
        return ANONYMOUS
    return principal_from_token(request, session, settings, token)


def require_role(*roles: str) -> Callable[..., Principal]:
    """The caller, holding one of ``roles``; else 403, on the ledger as a refused
    ``platform.access`` naming the route."""

    def dependency(request: Request, session: SessionDep,
                   principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not any(principal.has(role) for role in roles):
            route = getattr(request.scope.get("route"), "path", request.url.path)
            raise audit.refused(session, principal, Forbidden(
                f"需要以下角色之一: {', '.join(roles)}", code="role_required"),
                action="platform.access", route=f"{request.method} {route}")
        return principal

    return dependency


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
MaybePrincipal = Annotated[Principal, Depends(optional_principal)]
Admin = Annotated[Principal, Depends(require_role("admin", "superuser"))]
Auditor = Annotated[Principal, Depends(require_role("auditor"))]
