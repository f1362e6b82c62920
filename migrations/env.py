"""Alembic environment: the URL comes from the caller (govdata.platform.migrate)."""

from alembic import context

from govdata.metadata import is_migrated_table, metadata
from govdata.platform.db import make_engine

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table":
        return is_migrated_table(name)
    table = getattr(obj, "table", None)
    return table is None or is_migrated_table(table.name)


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
