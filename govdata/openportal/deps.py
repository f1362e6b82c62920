"""Who is asking on the portal's public side: a signed-in account (``Bearer gdp_…`` or the
pages' cookie) or an applicant's API key (``gdk_…`` in ``Authorization``, with or
without ``Bearer``, or ckanapi's ``X-CKAN-API-Key``). Staff keep their JWTs
(``govdata.platform.deps``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from govdata.openportal import accounts, apikeys
from govdata.openportal.apikeys import KeyAccess
from govdata.openportal.models import Account
from govdata.platform.deps import SessionDep
from govdata.platform.principal import Principal

SESSION_COOKIE = "govdata_portal"


def presented_token(request: Request) -> str | None:
    """The credential in ``Authorization`` (``Bearer`` optional) or ``X-CKAN-API-Key``."""
    for header in ("authorization", "x-ckan-api-key"):
        value = request.headers.get(header, "").strip()
        if value:
            scheme, _, rest = value.partition(" ")
            return rest.strip() if scheme.lower() == "bearer" and rest.strip() else value
    return None


def session_token(request: Request) -> str | None:
    token = presented_token(request)
    if token and token.startswith(accounts.SESSION_PREFIX):
        return token
    return request.cookies.get(SESSION_COOKIE)


def optional_account(request: Request, session: SessionDep) -> Account | None:
    return accounts.account_of(session, session_token(request))


def current_account(request: Request, session: SessionDep) -> Account:
    return accounts.require_account(session, session_token(request))


async def key_access(request: Request, session: SessionDep) -> KeyAccess | None:
    """The access of a presented API key (401 if it is not a valid one); ``None`` when
    no key is presented. Async: only a presented key costs a trip to the thread pool."""
    token = presented_token(request)
    if not apikeys.is_api_key(token):
        return None
    return await run_in_threadpool(apikeys.authenticate, session, token)


def account_principal(request: Request, account: Account) -> Principal:
    return accounts.as_principal(account, client_ip=request.client.host if request.client
                                 else None,
                                 request_id=getattr(request.state, "request_id", None))


OptionalAccount = Annotated[Account | None, Depends(optional_account)]
CurrentAccount = Annotated[Account, Depends(current_account)]
KeyAccessDep = Annotated[KeyAccess | None, Depends(key_access)]
