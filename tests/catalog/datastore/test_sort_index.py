"""Indexes for sorted pages of large versions, built beside the requests (``sortindex``)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from govdata.catalog.datastore import query_rows, sortindex
from govdata.catalog.datastore.sortindex import SortIndexes, index_name
from tests.conftest import postgres_only

from .conftest import AQ_ROWS


@pytest.fixture
def asked(monkeypatch) -> list[tuple[str, list[str]]]:
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(sortindex.SORT_INDEXES, "want",
                        lambda engine, table, columns: calls.append((table, list(columns))))
    return calls


def test_a_sorted_page_of_a_large_version_asks_for_its_indexes(session, aq, load, settings,
                                                                asked, dialect):
    version = load(aq, AQ_ROWS)
    settings.datastore_sort_index_min_rows = 5
    query_rows(session, aq)
    query_rows(session, aq, filters={"district": "渝中区"})
    assert asked == []
    query_rows(session, aq, sort="aqi desc, district")
    column = {spec["name"]: spec["column"] for spec in version.columns}
    expected = [(version.table_name, [column["aqi"], column["district"]])]
    assert asked == (expected if dialect == "postgresql" else [])


def test_small_versions_and_setting_zero_ask_for_nothing(session, aq, load, settings, asked):
    load(aq, AQ_ROWS)
    settings.datastore_sort_index_min_rows = 6
    query_rows(session, aq, sort="aqi desc")
    settings.datastore_sort_index_min_rows = 0
    query_rows(session, aq, sort="aqi desc")
    assert asked == []


def test_the_index_is_built_beside_and_serves_the_sort(database_url, database):
    postgres_only(database_url)
    table = f"ds_sortindex_{uuid.uuid4().hex[:8]}_v1"
    engine = database.engine
    with engine.begin() as connection:
        connection.exec_driver_sql(f'CREATE TABLE "{table}" (_id bigint, v int)')
        connection.exec_driver_sql(f'INSERT INTO "{table}" SELECT i, mod(i * 7919, 1000) '
                                   "FROM generate_series(1, 20000) i")
        connection.exec_driver_sql(f'ANALYZE "{table}"')
    indexes = SortIndexes()
    try:
        indexes.want(engine, f"{table}_gone", ["v"])  # fails in the thread, which goes on
        indexes.want(engine, table, ["v"])
        indexes.want(engine, table, ["v"])  # once per process
        indexes.wait()
        with engine.connect() as connection:
            names = connection.execute(text("SELECT indexname FROM pg_indexes "
                                            "WHERE tablename = :t"), {"t": table}).scalars()
            assert list(names) == [index_name(table, "v")]
            plan = "\n".join(connection.exec_driver_sql(
                f'EXPLAIN SELECT * FROM "{table}" ORDER BY v DESC NULLS FIRST, _id '
                "LIMIT 100").scalars())
            assert "Index Scan Backward" in plan, plan
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP TABLE "{table}"')
