"""The surface tests run against one world (``tests/surface/world.py``) built once in a
database of their own, of the test database's kind; the root fixtures (``connection``,
``session``, ``app``, ``client``) bind to it, so each test still rolls back what it did."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from govdata.catalog.datastore.api import stream_bind
from govdata.openportal import usage
from govdata.platform import migrate
from govdata.platform.db import Database
from tests.conftest import fresh_database

from .world import World, build


@pytest.fixture(scope="package")
def world_database(database_url, tmp_path_factory) -> Iterator[tuple[Database, World]]:
    directory = tmp_path_factory.mktemp("surface")
    with fresh_database(database_url, directory) as url:
        migrate.upgrade(url)
        world = build(url, directory)
        db = Database(url)
        yield db, world
        db.dispose()


@pytest.fixture(scope="package")
def database(world_database) -> Database:
    """The root fixtures' database, here the world's."""
    return world_database[0]


@pytest.fixture(scope="package")
def world(world_database) -> World:
    return world_database[1]


@pytest.fixture(autouse=True)
def fresh_usage_counter(monkeypatch):
    """Counts a test leaves unwritten must not reach another test's database."""
    monkeypatch.setattr(usage, "COUNTER", usage.UsageCounter())


@pytest.fixture
def surface_app(app, connection, settings):
    """The app on the test's connection (streamed exports too), without rate limits."""
    settings.rate_limit_per_minute = 0
    settings.api_key_rate_limit_per_minute = 0
    app.dependency_overrides[stream_bind] = lambda: connection
    return app
