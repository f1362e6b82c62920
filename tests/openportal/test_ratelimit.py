"""Rate limiting per client IP: 429 problem+json with Retry-After, counts shared by workers."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from fastapi.testclient import TestClient

from govdata.openportal import ratelimit
from govdata.platform.errors import RateLimited

NOON = 1_800_000_020.0  # a fixed moment, 20 s into its minute


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(ratelimit.time, "time", lambda: NOON)


def test_the_limit_answers_429_with_retry_after_per_client(app, settings, frozen):
    settings.rate_limit_per_minute = 3
    with TestClient(app, client=("203.0.113.7", 5000)) as one, \
            TestClient(app, client=("203.0.113.8", 5000)) as other:
        for _ in range(3):
            assert one.get("/api/v1/open/datasets").status_code == 200
        refused = one.get("/api/v1/open/datasets")
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "rate_limited"
        assert refused.headers["retry-after"] == "40"
        assert one.get("/api/v1/open/licences").status_code == 429  # every public route
        assert other.get("/api/v1/open/datasets").status_code == 200


def test_zero_switches_the_limit_off(app, settings, frozen):
    settings.rate_limit_per_minute = 0
    with TestClient(app, client=("203.0.113.9", 5000)) as client:
        assert all(client.get("/api/v1/open/licences").status_code == 200 for _ in range(5))


def test_a_new_window_starts_a_new_count():
    limiter = ratelimit.MemoryLimiter()
    for _ in range(2):
        asyncio.run(ratelimit.check(limiter, "c", 2, now=NOON))
    with pytest.raises(RateLimited) as refused:
        asyncio.run(ratelimit.check(limiter, "c", 2, now=NOON + 39.5))
    assert refused.value.retry_after == 1
    asyncio.run(ratelimit.check(limiter, "c", 2, now=NOON + 40))


def test_workers_sharing_the_database_count_together(database):
    """Two limiters on the same database (two workers) see one count per client."""
    first, second = ratelimit.DatabaseLimiter(database.engine), ratelimit.DatabaseLimiter(
        database.engine)
    client = f"198.51.100.{uuid.uuid4().hex[:8]}"
    asyncio.run(ratelimit.check(first, client, 3, now=NOON))
    asyncio.run(ratelimit.check(second, client, 3, now=NOON))
    asyncio.run(ratelimit.check(first, client, 3, now=NOON))
    with pytest.raises(RateLimited):
        asyncio.run(ratelimit.check(second, client, 3, now=NOON))
    asyncio.run(ratelimit.check(second, client, 3, now=NOON + 60))  # the next minute


def test_workers_sharing_redis_count_together(settings):
    redis = pytest.importorskip("redis")
    url = settings.redis_url or "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {url}")
    client = f"redis-test-{uuid.uuid4().hex}"

    async def run() -> None:
        first, second = ratelimit.RedisLimiter(url), ratelimit.RedisLimiter(url)
        try:
            await ratelimit.check(first, client, 2, now=NOON)
            await ratelimit.check(second, client, 2, now=NOON)
            with pytest.raises(RateLimited):
                await ratelimit.check(first, client, 2, now=NOON)
            key = f"govdata:rate:{int(NOON // ratelimit.WINDOW_SECONDS)}:{client}"
            assert 0 < await first.client.ttl(key) <= 2 * ratelimit.WINDOW_SECONDS
        finally:
            await first.close()
            await second.close()

    asyncio.run(run())


def test_the_backend_follows_the_settings(settings, database):
    settings.rate_limit_backend = "auto"
    settings.redis_url = None
    chosen = ratelimit.make_limiter(settings, database.engine)
    expected = (ratelimit.DatabaseLimiter if database.dialect == "postgresql"
                else ratelimit.MemoryLimiter)
    assert isinstance(chosen, expected)
    settings.rate_limit_backend = "database"
    assert isinstance(ratelimit.make_limiter(settings, database.engine),
                      ratelimit.DatabaseLimiter)
    settings.rate_limit_backend = "redis"
    with pytest.raises(ValueError, match="GOVDATA_REDIS_URL"):
        ratelimit.make_limiter(settings, database.engine)
