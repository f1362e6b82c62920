"""A bad row far into a file, after whole batches were already written: nothing of the new
version stays and the earlier version is untouched (the loader must check every batch, not
only the first; on PostgreSQL the rows go through the COPY writer)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, inspect, select

from govdata.catalog.datastore import query_rows, readers
from govdata.catalog.datastore.tables import specs_for_items, table_name
from govdata.catalog.models import DataVersion
from govdata.platform.errors import RuleViolation

from .conftest import AQ_HEADER, AQ_ROWS, csv_text

STATION = "监测站点" * 12  # wide rows: the CSV reader batches by bytes, not rows


def good_row(n: int) -> list[str]:
    return [str(n), "渝中区", STATION, "2024-05-01", str(n % 500), "35.2", "60.1", "良",
            "张三", "13812341234"]


def bad_row(n: int) -> list[str]:
    return [str(n), "渝中区", STATION, "2024-13-45", "52", "35.2", "60.1", "良", "张三",
            "13812341234"]


def rows_past_first_batch() -> int:
    """At least 20,000 good rows, and more than one CSV batch of them."""
    row_bytes = len(",".join(good_row(99_999)).encode()) + 1
    return max(readers.ROW_BATCH, readers.CSV_BATCH_BYTES // row_bytes + 1_000)


@pytest.fixture
def loaded(aq, load):
    """The resource with version 1 (AQ_ROWS) current."""
    assert load(aq, AQ_ROWS).version == 1
    return aq


def assert_version_one_intact(session, resource) -> None:
    versions = session.scalars(select(DataVersion).where(
        DataVersion.resource_id == resource.id).order_by(DataVersion.version)).all()
    assert [(v.version, v.is_current, v.row_count) for v in versions] == [(1, True, 5)]
    assert not inspect(session.connection()).has_table(table_name(resource.id, 2))
    result = query_rows(session, resource, limit=10)
    assert result.total == 5 and [r["id"] for r in result.records] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_bad_row_after_many_good_rows_changes_nothing(session, loaded, load, write, kind):
    good = rows_past_first_batch() if kind == "csv" else readers.ROW_BATCH
    rows = [good_row(n) for n in range(1, good + 1)] + [bad_row(good + 1)]
    if kind == "csv":
        path = write("late.csv", csv_text(AQ_HEADER, rows))
    else:
        path = write("late.json", "".join(
            json.dumps(dict(zip(AQ_HEADER, row, strict=True)), ensure_ascii=False) + "\n"
            for row in rows))
    with pytest.raises(RuleViolation) as refused:
        load(loaded, path=path)
    assert refused.value.code == "data_rows_invalid"
    assert [(e["column"], e["value"]) for e in refused.value.errors] == [("day", "2024-13-45")]
    assert refused.value.errors[0]["row"] >= good
    assert_version_one_intact(session, loaded)
    assert session.scalar(select(func.count()).select_from(DataVersion)
                          .where(DataVersion.resource_id == loaded.id)) == 1


def test_batches_add_up(session, loaded, load, write):
    """Rows numbered on from batch to batch; bad rows and errors of every batch counted."""
    good = rows_past_first_batch()
    rows = [good_row(n) for n in range(1, good + 1)]
    version = load(loaded, path=write("many.csv", csv_text(AQ_HEADER, rows)))
    assert version.row_count == good
    last = query_rows(session, loaded, limit=1, sort="id desc").records[0]
    assert (last["_id"], last["id"]) == (good, good)
    rows[0], rows[-1] = bad_row(1), bad_row(good)
    rows[-2][4] = "many"
    with pytest.raises(RuleViolation) as refused:
        load(loaded, path=write("bad.csv", csv_text(AQ_HEADER, rows)))
    assert refused.value.detail.startswith("上传的数据有 3 处错误, 涉及 3 行, 未做任何更改 ")
    assert [e["row"] for e in refused.value.errors] == [1, good - 1, good]


def test_the_first_csv_batch_is_one_block_so_the_database_starts_sooner(aq, write):
    """The rest are grouped into batches of ``CSV_BATCH_BYTES``; row numbers run on."""
    rows = [good_row(n) for n in range(1, rows_past_first_batch() + 1)]
    path = write("many.csv", csv_text(AQ_HEADER, rows))
    specs = specs_for_items(aq.items)
    reader = readers.open_reader(path, "csv", specs, block_size=1 << 16)
    try:
        batches = list(reader)
    finally:
        reader.close()
    first, second = batches[0], batches[1]
    assert first.rows.count < 1_000 < second.rows.count
    assert second.rows.first == first.rows.count + 1
    assert sum(batch.rows.count for batch in batches) == len(rows)
