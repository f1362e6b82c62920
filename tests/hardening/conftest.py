"""A platform of its own for the tests that need a real server: a fresh database of the
test database's kind, migrated, with a department, its steward and the steward's token."""

from __future__ import annotations

import pytest

from govdata.platform import migrate, service
from govdata.platform.db import Database
from govdata.platform.settings import Settings
from tests.conftest import SYSTEM, fresh_database, synthetic_uscc


@pytest.fixture(scope="module")
def platform(database_url, tmp_path_factory):
    """A migrated database of its own with a department, its steward and their token."""
    directory = tmp_path_factory.mktemp("burst")
    with fresh_database(database_url, directory) as url:
        migrate.upgrade(url)
        settings = Settings(database_url=url, upload_dir=str(directory / "uploads"),
                            rate_limit_per_minute=0)
        db = Database(url)
        with db.transaction() as session:
            service.create_department(session, SYSTEM, code="burst-dept", name="并发测试局",
                                      uscc=synthetic_uscc(), division_code="500000")
            service.create_user(session, SYSTEM, username="burst-steward",
                                department_code="burst-dept", roles=["steward"])
            user = service.get_user(session, "burst-steward")
            token = service.issue_token(session, settings, user=user).token
        yield {"url": url, "settings": settings, "db": db, "directory": directory,
               "headers": {"Authorization": f"Bearer {token}"}}
        db.dispose()
