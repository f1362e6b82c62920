"""Test harness: one database per run, migrated once with Alembic; each test inside a
transaction that is rolled back. SQLite by default; PostgreSQL when
GOVDATA_TEST_DATABASE_URL is set (its public schema is reset first)."""

from __future__ import annotations

import os

os.environ.setdefault("GOVDATA_ENV", "test")
os.environ.setdefault("GOVDATA_PASSWORD_TIME_COST", "1")
os.environ.setdefault("GOVDATA_PASSWORD_MEMORY_KIB", "1024")
os.environ.setdefault("GOVDATA_USAGE_FLUSH_SECONDS", "0")  # usage written with each request
os.environ.setdefault("GOVDATA_RATE_LIMIT_BACKEND", "memory")  # a fresh limiter per app
# Fixed signing keys, for tests only: a server generates its own (govdata.platform.keys).
os.environ.setdefault("GOVDATA_JWT_PRIVATE_KEY", """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg93eSsKeaPsh7wNWa
NEjrBra05YDh9e8ZEaXnWc62WTihRANCAATCE0xST2b0ogtSxGaJEYMe8PWWfEra
a3SpfKdKwOy6KFfDof1XgS+6W9fdvuCd5hSGyylYlHw0sHW6y05J8vLX
-----END PRIVATE KEY-----
""")
os.environ.setdefault("GOVDATA_CHECKPOINT_PRIVATE_KEY", """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIEcYtQgUFMYwq+TvB94p4f7OMmYABGsvdRo8io71E593
-----END PRIVATE KEY-----
""")

import datetime as dt  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from govdata.main import create_app  # noqa: E402
from govdata.platform import migrate, service, tokens  # noqa: E402
from govdata.platform.db import Database, unit_of_work_on  # noqa: E402
from govdata.platform.deps import get_session  # noqa: E402
from govdata.platform.identifiers import uscc_check_character  # noqa: E402
from govdata.platform.principal import Principal  # noqa: E402
from govdata.platform.settings import Settings, get_settings  # noqa: E402

PG_URL = os.environ.get("GOVDATA_TEST_DATABASE_URL")
# make fuzz (mutation testing) runs the tests through mutmut's trampolines: slower inputs
hypothesis_settings.register_profile("mutation", max_examples=50, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
SYSTEM = Principal.system("test")


def reset_postgres(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    db.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if PG_URL:
        reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate.upgrade(url)
    return url


@contextmanager
def fresh_database(database_url: str, directory: Path) -> Iterator[str]:
    """A brand-new empty database of the same kind as the test database, dropped after."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{directory / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"govdata_fresh_{uuid.uuid4().hex[:8]}"
    base = database_url.rpartition("/")[0]
    admin = Database(f"{base}/postgres")
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"{base}/{name}"
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def fresh_database_url(database_url, tmp_path) -> Iterator[str]:
    with fresh_database(database_url, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def database(database_url) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def dialect(database) -> str:
    return database.dialect


@pytest.fixture
def settings(tmp_path) -> Settings:
    get_settings.cache_clear()
    settings = get_settings()
    settings.upload_dir = str(tmp_path / "uploads")
    return settings


@pytest.fixture
def connection(database):
    with database.engine.connect() as connection:
        outer = connection.begin()
        yield connection
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session(connection) -> Iterator[Session]:
    with Session(bind=connection, join_transaction_mode="create_savepoint",
                 expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(settings, database, session):
    application = create_app(settings, database=database)

    def test_session():
        with unit_of_work_on(session, nested=True):
            yield session

    application.dependency_overrides[get_session] = test_session
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


_serial = iter(range(10_000_000))


def synthetic_uscc(division: str = "500000") -> str:
    body = f"11{division}{next(_serial):09d}"
    return body + uscc_check_character(body)


@pytest.fixture
def make_department(session) -> Callable[..., str]:
    def make(code: str | None = None, **fields) -> str:
        code = code or f"dept-{next(_serial)}"
        service.create_department(
            session, SYSTEM, code=code, name=fields.pop("name", f"测试部门{code}"),
            uscc=fields.pop("uscc", synthetic_uscc()),
            division_code=fields.pop("division_code", "500000"), **fields)
        return code

    return make


@pytest.fixture
def make_user(session, make_department) -> Callable[..., str]:
    def make(*roles: str, department: str | None = None, password: str | None = None,
             username: str | None = None) -> str:
        username = username or f"user{next(_serial)}"
        service.create_user(session, SYSTEM, username=username,
                            department_code=department or make_department(),
                            roles=list(roles) or ["requester"], password=password)
        return username

    return make


@pytest.fixture
def token_for(session, settings) -> Callable[..., str]:
    """A real signed token for an existing user (login without the password work)."""

    def make(username: str, ttl: dt.timedelta | None = None) -> str:
        user = service.get_user(session, username)
        return service.issue_token(session, settings, user=user, ttl=ttl).token

    return make


@pytest.fixture
def auth(token_for) -> Callable[[str], dict[str, str]]:
    def headers(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(username)}"}

    return headers


def postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass of make test")


__all__ = ["SYSTEM", "postgres_only", "synthetic_uscc", "tokens"]
