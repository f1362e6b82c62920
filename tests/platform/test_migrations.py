"""Alembic is the only way the schema changes: migrations from empty reach the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from govdata.metadata import is_migrated_table, metadata
from govdata.platform import migrate
from govdata.platform.db import Database


def include_object(obj, name, type_, reflected, compare_to):
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table is None or is_migrated_table(table)


def schema_diff(url: str) -> list:
    db = Database(url)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_object": include_object, "compare_type": True})
        diff = compare_metadata(context, metadata)
    db.dispose()
    return diff


def test_migrations_from_empty_match_the_models(fresh_database_url):
    migrate.upgrade(fresh_database_url)
    assert schema_diff(fresh_database_url) == []


def test_downgrade_to_base_and_back(fresh_database_url):
    migrate.upgrade(fresh_database_url)
    migrate.downgrade(fresh_database_url, "base")
    db = Database(fresh_database_url)
    leftover = [t for t in inspect(db.engine).get_table_names() if t != "alembic_version"]
    db.dispose()
    assert leftover == []
    migrate.upgrade(fresh_database_url)
    assert schema_diff(fresh_database_url) == []


def test_test_database_is_at_head(database, database_url):
    with database.engine.connect() as connection:
        assert migrate.current_revisions(connection) == migrate.head_revisions(database_url)
