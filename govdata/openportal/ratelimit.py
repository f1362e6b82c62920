"""Rate limiting per client IP on every public route: at most
``GOVDATA_RATE_LIMIT_PER_MINUTE`` requests per client in each minute (fixed windows;
0 switches it off), beyond that 429 problem+json with ``Retry-After``.

The counts are shared by every worker: in Redis when ``GOVDATA_REDIS_URL`` is set (INCR
with an expiry), else in PostgreSQL (an UNLOGGED table, one upsert per request), and on
SQLite, which runs one worker, in the process's memory (``GOVDATA_RATE_LIMIT_BACKEND``
chooses explicitly: ``memory``, ``database`` or ``redis``). The client is the peer address
of the connection; behind a reverse proxy run uvicorn with ``--proxy-headers
--forwarded-allow-ips`` so that it is the proxy's ``X-Forwarded-For``. A request with an
approved applicant's valid API key counts against the key instead, at
``GOVDATA_API_KEY_RATE_LIMIT_PER_MINUTE`` (0: unlimited).

Public routers declare ``dependencies=[RATE_LIMITED]``.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from fastapi import Depends, Request
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from govdata.openportal import apikeys
from govdata.openportal.deps import presented_token
from govdata.openportal.models import RateWindow
from govdata.platform.deps import SessionDep
from govdata.platform.errors import RateLimited
from govdata.platform.settings import Settings

WINDOW_SECONDS = 60


class Limiter(ABC):
    """Counts a client's requests in the current window."""

    @abstractmethod
    async def hits(self, client: str, window: int) -> int:
        """Count one request and return the client's count in this window."""

    async def close(self) -> None:  # noqa: B027 - most limiters hold nothing
        pass


class MemoryLimiter(Limiter):
    """One process's counts (SQLite deployments run one worker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    async def hits(self, client: str, window: int) -> int:
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            count = self._counts.get(client, 0) + 1
            self._counts[client] = count
            return count


class DatabaseLimiter(Limiter):
    """Counts in ``openportal_rate_window``, on connections of their own (a refused
    request never opens the request's unit of work). Old windows are deleted by the
    first request of each new window a worker sees."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = (postgresql.insert if engine.dialect.name == "postgresql"
                        else sqlite.insert)
        self._swept = -1

    def _count(self, client: str, window: int) -> int:
        statement = self._insert(RateWindow).values(client=client, window=window, hits=1)
        statement = statement.on_conflict_do_update(
            index_elements=[RateWindow.client, RateWindow.window],
            set_={"hits": RateWindow.hits + 1}).returning(RateWindow.hits)
        with self.engine.begin() as connection:
            if window != self._swept:
                self._swept = window
                connection.execute(delete(RateWindow).where(RateWindow.window < window - 1))
            return int(connection.execute(statement).scalar_one())

    async def hits(self, client: str, window: int) -> int:
        return await run_in_threadpool(self._count, client, window)


class RedisLimiter(Limiter):
    """INCR, and the key's expiry set by the request that made it: one script, one round
    trip (a MULTI/EXEC pipeline of INCR and EXPIRE costs four replies to parse)."""

    COUNT = ("local hits = redis.call('INCR', KEYS[1]) "
             "if hits == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
             "return hits")

    def __init__(self, url: str) -> None:
        from redis import asyncio as redis_asyncio

        self.client = redis_asyncio.from_url(url)
        self._count = self.client.register_script(self.COUNT)

    async def hits(self, client: str, window: int) -> int:
        key = f"govdata:rate:{window}:{client}"
        return int(await self._count(keys=[key], args=[2 * WINDOW_SECONDS]))

    async def close(self) -> None:
        await self.client.aclose()


def make_limiter(settings: Settings, engine: Engine) -> Limiter:
    backend = settings.rate_limit_backend
    if backend == "auto":
        if settings.redis_url:
            backend = "redis"
        elif engine.dialect.name == "postgresql":
            backend = "database"
        else:
            backend = "memory"
    if backend == "redis":
        if not settings.redis_url:
            raise ValueError("GOVDATA_RATE_LIMIT_BACKEND=redis needs GOVDATA_REDIS_URL")
        return RedisLimiter(settings.redis_url)
    if backend == "database":
        return DatabaseLimiter(engine)
    return MemoryLimiter()


def limiter_of(app: Any) -> Limiter:
    """The app's limiter, made on first use from its settings and database."""
    limiter = getattr(app.state, "rate_limiter", None)
    if limiter is None:
        limiter = make_limiter(app.state.settings, app.state.db.engine)
        app.state.rate_limiter = limiter
    return limiter


async def check(limiter: Limiter, client: str, per_minute: int,
                now: float | None = None) -> None:
    """Count a request; RateLimited once the client is past its limit in this window."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    count = await limiter.hits(client, window)
    if count > per_minute:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise RateLimited(f"每个客户端每分钟至多 {per_minute} 次请求, 请 {retry_after} 秒后再试 "
                          f"(rate limit: {per_minute} requests per minute)",
                          retry_after=retry_after)


def _client(request: Request, session: Session, settings: Settings) -> tuple[str, int]:
    """Whose count a request adds to: an applicant's valid API key, else the client IP."""
    token = presented_token(request)
    if apikeys.is_api_key(token):
        key_id = apikeys.active_key_id(session, token)
        if key_id is not None:
            return f"key:{key_id}", settings.api_key_rate_limit_per_minute
    client = request.client.host if request.client else "unknown"
    return client[:64], settings.rate_limit_per_minute


async def limit_rate(request: Request, session: SessionDep) -> None:
    settings: Settings = request.app.state.settings
    if settings.rate_limit_per_minute <= 0:
        return
    if apikeys.is_api_key(presented_token(request)):
        client, per_minute = await run_in_threadpool(_client, request, session, settings)
    else:
        client, per_minute = _client(request, session, settings)
    if per_minute > 0:
        await check(limiter_of(request.app), client, per_minute)


RATE_LIMITED = Depends(limit_rate)
