"""Atomic replacement seen from another connection: while a new version loads, readers get
the whole old one; after the commit, the whole new one. Runs on committed data (two real
connections), built without audit entries and removed afterwards."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import delete, inspect, text
from sqlalchemy.orm import Session

from govdata.catalog.datastore import ingest, plan_export, query_rows, stream_export
from govdata.catalog.models import CodeSequence, DataItem, Resource
from govdata.platform.models import Department
from tests.conftest import synthetic_uscc

from .conftest import AQ_HEADER, AQ_ITEMS, AQ_ROWS, csv_text

CLASSIFICATION = "399998"


@pytest.fixture
def committed(database, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    with Session(database.engine) as session, session.begin():
        department = Department(code=f"iso-{suffix}", name=f"隔离测试部门{suffix}",
                                uscc=synthetic_uscc(), division_code="500000")
        resource = Resource(code=f"{CLASSIFICATION}/{suffix[:6]}", classification=CLASSIFICATION,
                            resource_class="department", name=f"隔离测试{suffix}", summary="测试",
                            department=department, format_category="电子表格", format="csv",
                            share_type="unconditional", share_method="接口", open_type="none",
                            update_cycle="每日", status="published",
                            items=[DataItem(position=i, **{k: v for k, v in item.items()
                                                           if k in ("name", "title", "data_type",
                                                                    "length", "required",
                                                                    "sensitivity")})
                                   for i, item in enumerate(AQ_ITEMS)])
        session.add(resource)
        session.flush()
        ids = resource.id, department.id
    path = tmp_path / "v1.csv"
    path.write_text(csv_text(AQ_HEADER, AQ_ROWS), encoding="utf-8")
    with Session(database.engine) as session, session.begin():
        ingest.ingest(session, session.get(Resource, ids[0]), path, kind="csv", loaded_by="t")
    yield ids
    with Session(database.engine) as session, session.begin():
        resource = session.get(Resource, ids[0])
        ingest.drop_data(session, resource)
        session.execute(delete(Resource).where(Resource.id == ids[0]))
        session.execute(delete(Department).where(Department.id == ids[1]))
        session.execute(delete(CodeSequence).where(CodeSequence.classification == CLASSIFICATION))
    with database.engine.connect() as connection:
        leftovers = [name for name in inspect(connection).get_table_names()
                     if name.startswith(f"ds_{ids[0].replace('-', '')[:16]}")]
    assert leftovers == []


def exported_ids(database, session, resource) -> list[str]:
    plan = plan_export(session, resource, fields="_id,station")
    data = b"".join(stream_export(database.engine, plan)).decode()
    return [row[1] for row in csv.reader(io.StringIO(data))][1:]


def test_readers_see_a_whole_version_while_a_load_runs(database, committed, tmp_path):
    resource_id, _ = committed
    path = tmp_path / "v2.csv"
    new_rows = [[str(n), "北碚区", f"新站{n}", "2024-06-01", "", "", "", "", "", ""]
                for n in range(1, 2001)]
    path.write_text(csv_text(AQ_HEADER, new_rows), encoding="utf-8")
    with Session(database.engine) as writer:
        writer.begin()
        ingest.ingest(writer, writer.get(Resource, resource_id), path, kind="csv",
                      loaded_by="t")
        writer.flush()
        with Session(database.engine) as reader, reader.begin():
            resource = reader.get(Resource, resource_id)
            before = query_rows(reader, resource, limit=10)
            assert (before.version, before.total) == (1, 5)
            assert exported_ids(database, reader, resource) == [r[2] for r in AQ_ROWS]
        writer.commit()
    with Session(database.engine) as reader, reader.begin():
        resource = reader.get(Resource, resource_id)
        after = query_rows(reader, resource, limit=10)
        assert (after.version, after.total) == (2, 2000)
        stations = exported_ids(database, reader, resource)
        assert len(stations) == 2000 and stations[:2] == ["新站1", "新站2"]
        assert stations == [f"新站{n}" for n in range(1, 2001)]  # _id order without ORDER BY


def test_an_export_planned_before_a_switch_still_completes(database, committed, tmp_path):
    resource_id, _ = committed
    with Session(database.engine) as reader, reader.begin():
        plan = plan_export(reader, reader.get(Resource, resource_id), fields="station")
    path = tmp_path / "v2.csv"
    path.write_text(csv_text(AQ_HEADER, AQ_ROWS[:1]), encoding="utf-8")
    with Session(database.engine) as writer, writer.begin():
        ingest.ingest(writer, writer.get(Resource, resource_id), path, kind="csv",
                      loaded_by="t")
    data = b"".join(stream_export(database.engine, plan)).decode()
    assert data.splitlines() == ["station", *[row[2] for row in AQ_ROWS]]  # the old version
    with database.engine.connect() as connection:
        assert connection.execute(text(f"SELECT count(*) FROM {plan.selection.table.name}")
                                  ).scalar_one() == 5


def test_an_abandoned_stream_releases_its_connection(database, committed, tmp_path):
    resource_id, _ = committed
    path = tmp_path / "big.csv"
    rows = [[str(n), "北碚区", "站" * 30, "2024-06-01", "", "", "", "", "", ""]
            for n in range(1, 20001)]
    path.write_text(csv_text(AQ_HEADER, rows), encoding="utf-8")
    with Session(database.engine) as writer, writer.begin():
        ingest.ingest(writer, writer.get(Resource, resource_id), path, kind="csv",
                      loaded_by="t")
    for kind in ("csv", "json", "xlsx"):
        with Session(database.engine) as reader, reader.begin():
            plan = plan_export(reader, reader.get(Resource, resource_id), format=kind)
        stream = stream_export(database.engine, plan, chunk_size=4096)
        assert next(stream) and next(stream)
        stream.close()  # the client went away
    checked_out = database.engine.pool.checkedout()
    with Session(database.engine) as reader, reader.begin():
        plan = plan_export(reader, reader.get(Resource, resource_id), format="csv")
    assert len(b"".join(stream_export(database.engine, plan)).splitlines()) == 20001
    assert database.engine.pool.checkedout() == checked_out
