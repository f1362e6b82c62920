"""Streamed exports: CSV, TSV, JSON (objects and CKAN lists), NDJSON, XLSX; masks."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json

import openpyxl
import pytest

from govdata.catalog.datastore import plan_export, query_rows, sensitivities, stream_export
from govdata.catalog.datastore import xlsx as xlsx_writer
from govdata.platform.errors import RuleViolation
from tests.catalog import item
from tests.conftest import postgres_only

from .conftest import AQ_HEADER, AQ_ROWS, TYPED_ROWS


@pytest.fixture
def loaded(aq, load):
    load(aq, AQ_ROWS)
    return aq


@pytest.fixture
def export(session, connection):
    def run(resource, **options) -> bytes:
        plan = plan_export(session, resource, **options)
        return b"".join(stream_export(connection, plan, chunk_size=64))

    return run


def csv_rows(data: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def test_csv(loaded, export):
    rows = csv_rows(export(loaded))
    assert rows[0] == ["_id", *AQ_HEADER]
    assert len(rows) == 6
    for got, sent in zip(rows[1:], AQ_ROWS, strict=True):
        assert got[:5] == [got[0], *sent[:4]]
        assert got[5] == sent[4]
        for column in (6, 7):  # numbers as numbers
            assert (float(got[column]) if got[column] else None) == (
                float(sent[column - 1]) if sent[column - 1] else None)
        assert got[8:] == sent[7:]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]


def test_csv_options(loaded, export):
    data = export(loaded, bom=True, header="title", fields="district,day,aqi",
                  filters={"district": "渝中区"}, sort="aqi desc")
    assert data.startswith(codecs.BOM_UTF8)
    assert csv_rows(data) == [["区县", "日期", "空气质量指数"], ["渝中区", "2024-05-02", "75"],
                              ["渝中区", "2024-05-01", "52"]]
    tsv = csv_rows(export(loaded, format="tsv", fields="_id,station", limit=2, offset=1), "\t")
    assert tsv == [["_id", "station"], ["2", "唐家沱"], ["3", "解放碑"]]


def test_csv_values_of_every_type(typed, load, export):
    load(typed, TYPED_ROWS)
    header, first, second = csv_rows(export(typed))
    row = dict(zip(header, first, strict=True))
    assert row["at"] == "2024-05-01T08:30:00+08:00" and row["flag"] == "true"
    assert row["fee"] == "12.30" and row["ratio"] == "0.5"
    other = dict(zip(header, second, strict=True))
    assert other["flag"] == "false" and other["code"] == "" and other["fee"] == "-3.00"
    assert other["at"] == "2024-05-01T00:00:00+08:00" and other["ratio"] == "0.001"


def test_quotes_and_newlines_survive(session, aq, load, export):
    row = list(AQ_ROWS[0])
    row[2] = '解放碑,"东"\n站'
    load(aq, [row])
    assert csv_rows(export(aq))[1][3] == '解放碑,"东"\n站'
    assert json.loads(export(aq, format="json"))[0]["station"] == '解放碑,"东"\n站'


def test_json_matches_the_query(session, loaded, export):
    records = json.loads(export(loaded, format="json"))
    assert records == query_rows(session, loaded).records
    assert json.loads(export(loaded, format="json", filters={"aqi": 999})) == []


def test_json_lists_are_ckan_dump_shaped(session, loaded, export):
    dump = json.loads(export(loaded, format="json", records="lists", fields="_id,district"))
    assert dump["fields"] == [{"id": "_id", "type": "int"},
                              {"id": "district", "type": "text",
                               "info": {"label": "区县", "data_type": "C",
                                        "sensitivity": "none", "masked": False}}]
    assert dump["records"][:2] == [[1, "渝中区"], [2, "江北区"]]


def test_ndjson(loaded, export):
    lines = export(loaded, format="ndjson").decode().splitlines()
    assert len(lines) == 5
    assert json.loads(lines[1])["name"] == "欧阳娜娜"


def test_xlsx(loaded, export, typed, load):
    book = openpyxl.load_workbook(io.BytesIO(export(loaded, format="xlsx", header="title")))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("_id", "编号", "区县", "监测站点")
    assert rows[1][:6] == (1, 1, "渝中区", "解放碑", dt.datetime(2024, 5, 1), 52)
    assert rows[1][6] == pytest.approx(35.2) and rows[1][10] == "13812341234"
    assert rows[5][5] is None and len(rows) == 6
    load(typed, TYPED_ROWS)
    typed_rows = list(openpyxl.load_workbook(io.BytesIO(export(typed, format="xlsx")))
                      .active.iter_rows(values_only=True))
    record = dict(zip(typed_rows[0], typed_rows[1], strict=True))
    assert record["at"] == dt.datetime(2024, 5, 1, 8, 30) and record["flag"] is True
    assert record["fee"] == pytest.approx(12.3)


def test_xlsx_row_limit(loaded, export, monkeypatch):
    monkeypatch.setattr(xlsx_writer, "MAX_ROWS", 5)
    with pytest.raises(RuleViolation) as exc:
        export(loaded, format="xlsx")
    assert exc.value.code == "export_too_large"
    assert export(loaded, format="xlsx", limit=3)


def test_masked_exports(loaded, export, typed, load):
    masks = sensitivities(loaded)
    rows = csv_rows(export(loaded, masks=masks))
    assert [r[9] for r in rows[1:3]] == ["张*", "欧阳**"]
    assert rows[1][10] == "138****1234"
    records = json.loads(export(loaded, format="json", masks=masks))
    assert records[1]["name"] == "欧阳**" and records[1]["phone"] == "139****1111"
    load(typed, TYPED_ROWS)
    header, first, _ = csv_rows(export(typed, masks=sensitivities(typed)))
    row = dict(zip(header, first, strict=True))
    assert "note" not in row
    assert row["person_id"] == "110105********002X" and row["address"] == "重庆市渝中区"
    book = openpyxl.load_workbook(io.BytesIO(export(typed, format="xlsx",
                                                    masks=sensitivities(typed))))
    cells = list(book.active.iter_rows(values_only=True))
    assert cells[1][cells[0].index("card")] == "6222***********0123"


def test_bad_export_requests(loaded, export):
    for options in ({"format": "pdf"}, {"header": "both"}, {"fields": "nope"},
                    {"records": "rows"}):
        with pytest.raises(RuleViolation):
            export(loaded, **options)


def test_big_export_streams_in_chunks(session, connection, aq, load):
    rows = [[str(n), "渝中区", "站" * 40, "2024-05-01", "1", "", "", "", "", ""]
            for n in range(1, 3001)]
    load(aq, rows)
    for kind in ("csv", "json", "xlsx"):
        plan = plan_export(session, aq, format=kind)
        chunks = list(stream_export(connection, plan, chunk_size=32 << 10))
        data = b"".join(chunks)
        if kind == "csv":
            assert len(chunks) > 3 and len(csv_rows(data)) == 3001
        elif kind == "json":
            assert len(chunks) > 3 and len(json.loads(data)) == 3000
        else:  # deflated: this repetitive sheet fits in one chunk, but it is complete
            assert openpyxl.load_workbook(io.BytesIO(data)).active.max_row == 3001


FORMULAS = ["=1+2", "+cmd", "-2+3", "@SUM(A1)", "\t=tab", "\r=cr"]


@pytest.fixture
def hostile(make_resource, load, write):
    """Text cells that spreadsheets would run as formulas, a bare carriage return inside a
    cell, a negative number, and an item title that looks like a formula."""
    resource = make_resource([
        {"name": "label", "title": "=HYPERLINK(\"http://x\")", "data_type": "C"},
        {"name": "value", "title": "值", "data_type": "N"},
        {"name": "count", "title": "数", "data_type": "I"},
    ])
    rows = [{"label": text, "value": "-3.5", "count": "-2"} for text in FORMULAS]
    rows += [{"label": "a\rb", "value": "1", "count": "1"}, {"label": "普通", "value": "",
                                                           "count": ""}]
    load(resource, path=write("hostile.ndjson", "".join(json.dumps(r) + "\n" for r in rows)))
    return resource


@pytest.mark.parametrize("kind", ["csv", "tsv"])
def test_formula_cells_are_neutralised_and_numbers_kept(hostile, export, kind):
    data = export(hostile, format=kind, fields="label,value,count", header="title")
    rows = csv_rows(data, "\t" if kind == "tsv" else ",")
    assert rows[0] == ["'=HYPERLINK(\"http://x\")", "值", "数"]
    assert [row[0] for row in rows[1:7]] == ["'" + text for text in FORMULAS]
    assert all(row[1:] == ["-3.5", "-2"] for row in rows[1:7])  # numbers stay numbers
    assert rows[7] == ["a\rb", "1", "1"] and rows[8] == ["普通", "", ""]
    assert len(rows) == 9
    delimiter = b"\t" if kind == "tsv" else b","
    assert b'"a\rb"' + delimiter in data  # the bare carriage return is quoted


def test_xlsx_keeps_formula_text_as_text(hostile, export):
    sheet = openpyxl.load_workbook(io.BytesIO(export(hostile, format="xlsx",
                                                     fields="label,value"))).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2, max_row=7)]
    assert [cell.value for cell in cells] == FORMULAS and {c.data_type for c in cells} == {"s"}
    assert sheet.cell(2, 2).value == -3.5


def test_json_exports_are_unchanged(hostile, export):
    records = json.loads(export(hostile, format="json", fields="label,value"))
    assert [r["label"] for r in records[:6]] == FORMULAS and records[0]["value"] == -3.5


def test_loads_record_which_text_columns_look_like_formulas(hostile, loaded, session):
    from govdata.catalog.datastore.query import current_version

    def flags(resource):
        return {c["name"]: c["formulas"] for c in current_version(session, resource).columns}

    assert flags(hostile) == {"label": True, "value": None, "count": None}
    assert {flags(loaded)[name] for name in ("district", "station", "name")} == {False}


def test_versions_loaded_before_the_flag_are_neutralised(hostile, export, session):
    from govdata.catalog.datastore.query import current_version

    version = current_version(session, hostile)
    version.columns = [{k: v for k, v in c.items() if k != "formulas"} for c in version.columns]
    session.flush()
    rows = csv_rows(export(hostile, fields="label"))
    assert rows[1] == ["'=1+2"]


def test_loads_record_which_text_columns_hold_json_escapes(hostile, loaded, session):
    from govdata.catalog.datastore.query import current_version

    def flags(resource):
        return {c["name"]: c["escapes"] for c in current_version(session, resource).columns}

    assert flags(hostile) == {"label": True, "value": None, "count": None}
    assert {flags(loaded)[name] for name in ("district", "station", "name")} == {False}


def test_holds_json_escapes():
    import pyarrow as pa

    from govdata.catalog.datastore.batches import holds_json_escapes

    assert not holds_json_escapes(pa.array(["渝中区", None, "", "a'b/c", "\u2028\x7f"]))
    for character in ['"', "\\", "\n", "\x01", "\x1f"]:
        assert holds_json_escapes(pa.array(["重庆", f"a{character}b"]))
    assert not holds_json_escapes(pa.array(['"x', "y", "z"]).slice(1))
    assert not holds_json_escapes(pa.array(["y", "z\t"]).slice(0, 1))
    assert holds_json_escapes(pa.chunked_array([["x"], ["y", "\\z"]]))
    assert holds_json_escapes(pa.array(["x", "\rq"], pa.large_string()))
    assert not holds_json_escapes(pa.array([], pa.string()))


def test_starts_like_formula():
    import pyarrow as pa

    from govdata.catalog.datastore.batches import starts_like_formula

    assert not starts_like_formula(pa.array(["渝中区", None, "", "a=b", "13812341234"]))
    assert starts_like_formula(pa.array(["渝中区", None, "", "-1"]))
    assert not starts_like_formula(pa.array(["=1", "x", "y"]).slice(1))
    assert starts_like_formula(pa.chunked_array([["x"], ["y", "@z"]]))
    assert starts_like_formula(pa.array(["x", "\rq"], pa.large_string()))
    assert not starts_like_formula(pa.array([], pa.string()))


def test_times_in_exports_are_china_standard_time_as_in_records(make_resource, load, export,
                                                                  session):
    """The fixed +08:00 of every other path, also in 1986–1991 when Asia/Shanghai kept
    summer time, at the ends of the range and with fractions of a second."""
    resource = make_resource([{"name": "t", "title": "时间", "data_type": "T"}])
    moments = ["1988-07-01T00:00:00Z", "1988-07-01T00:00:00.25Z", "0001-01-01T08:00",
               "9999-12-31T23:59:59.999999", "2024-05-01T08:30:00+08:00"]
    load(resource, [[moment] for moment in moments])
    expected = ["1988-07-01T08:00:00+08:00", "1988-07-01T08:00:00.250000+08:00",
                "0001-01-01T08:00:00+08:00", "9999-12-31T23:59:59.999999+08:00",
                "2024-05-01T08:30:00+08:00"]
    assert [r["t"] for r in query_rows(session, resource).records] == expected
    assert [row[1] for row in csv_rows(export(resource))[1:]] == expected
    assert [row["t"] for row in json.loads(export(resource, format="json"))] == expected


TIME_ITEMS = [item("whole", "整秒", data_type="T", length=None),
              item("fraction", "小数秒", data_type="T", length=None),
              item("label", "名称", length=None)]
TIME_ROWS = [  # whole, fraction, label
    ["2024-05-01T08:30:00+08:00", "2024-05-01T08:30:00", "a"],
    ["", "2024-05-01T08:30:00.000001", "b"],
    ["1988-07-01T00:00:00Z", "", "c"],
    ["0001-01-01T08:00", "1988-07-01T00:00:00.25Z", "d"],
    ["9999-12-31T23:59:59", "9999-12-31T23:59:59.999999", "e"],
    ["2024-02-29T23:59:59-05:00", "2024-05-01T08:30:00+08:00", "f"],
]


def _drop_whole_seconds(session, resource, monkeypatch):
    """Make the current version one loaded before the record (``whole_seconds`` unknown);
    its specs are built again (``version_shape`` keeps them per version)."""
    from govdata.catalog.datastore import query
    from govdata.catalog.datastore.matching import LruCache

    version = query.current_version(session, resource)
    version.columns = [{k: v for k, v in c.items() if k != "whole_seconds"}
                       for c in version.columns]
    session.flush()
    monkeypatch.setattr(query, "_SHAPES", LruCache(8))


def test_loads_record_which_datetime_columns_hold_whole_seconds(make_resource, load,
                                                                 session):
    from govdata.catalog.datastore.query import current_version

    resource = make_resource(TIME_ITEMS)
    load(resource, TIME_ROWS)
    assert {c["name"]: c["whole_seconds"] for c in current_version(session, resource).columns
            } == {"whole": True, "fraction": False, "label": None}
    load(resource, [[row[0], row[0], row[2]] for row in TIME_ROWS])
    assert {c["name"]: c["whole_seconds"] for c in current_version(session, resource).columns
            } == {"whole": True, "fraction": True, "label": None}


def test_whole_seconds():
    import pyarrow as pa

    from govdata.catalog.datastore.batches import whole_seconds

    kind = pa.timestamp("us", tz="UTC")
    assert whole_seconds(pa.array([0, 1_000_000, None, -62_135_596_800_000_000], kind))
    assert whole_seconds(pa.array([None, None], kind))
    assert whole_seconds(pa.array([], kind))
    for micros in (1, -1, 999_999, 1_000_001, -1_500_000):
        assert not whole_seconds(pa.array([0, None, micros], kind))
    assert whole_seconds(pa.array([0, 5], kind).slice(0, 1))
    assert not whole_seconds(pa.chunked_array([[0], [None, 5]], kind))


def test_exports_of_whole_seconds_are_the_bytes_of_the_tested_path(make_resource, load,
                                                                    export, session,
                                                                    database_url, monkeypatch):
    """A version whose load found every datetime a whole second is exported without testing
    each value (``ColumnSpec.whole_seconds``): byte for byte the export of the same version
    when that is not known (tested value by value), in every format, masked or not."""
    postgres_only(database_url)
    from sqlalchemy.dialects import postgresql

    from govdata.catalog.datastore import export as exporting

    resource = make_resource([*TIME_ITEMS[:1], item("person", "联系人", length=20,
                                                    sensitivity="name")])
    load(resource, [[row[0], "张三"] for row in TIME_ROWS])
    requests = [dict(format=kind, masks=masks, records=records)
                for kind in ("csv", "tsv", "json", "ndjson")
                for records in (("objects", "lists") if kind == "json" else ("objects",))
                for masks in (None, sensitivities(resource))]

    def tested() -> bool:
        plan = plan_export(session, resource)
        [column] = [c for c in plan.selection.columns if c.name == "whole"]
        sql = exporting._text_expression(plan.selection, column).compile(
            dialect=postgresql.dialect())
        return "date_trunc" in str(sql)

    assert not tested()
    fast = [export(resource, **request) for request in requests]
    _drop_whole_seconds(session, resource, monkeypatch)
    assert tested()
    assert [export(resource, **request) for request in requests] == fast
    assert csv_rows(fast[0])[1:] == [
        ["1", "2024-05-01T08:30:00+08:00", "张三"], ["2", "", "张三"],
        ["3", "1988-07-01T08:00:00+08:00", "张三"], ["4", "0001-01-01T08:00:00+08:00", "张三"],
        ["5", "9999-12-31T23:59:59+08:00", "张三"], ["6", "2024-03-01T12:59:59+08:00", "张三"]]


def test_datetimes_not_all_whole_seconds_keep_their_microseconds(make_resource, load, export,
                                                                 session):
    from govdata.catalog.datastore.query import current_version

    resource = make_resource(TIME_ITEMS)
    load(resource, TIME_ROWS)
    assert {c["name"]: c["whole_seconds"] for c in current_version(session, resource).columns
            if c["data_type"] == "T"} == {"whole": True, "fraction": False}
    expected = ["2024-05-01T08:30:00+08:00", "2024-05-01T08:30:00.000001+08:00", "",
                "1988-07-01T08:00:00.250000+08:00", "9999-12-31T23:59:59.999999+08:00",
                "2024-05-01T08:30:00+08:00"]
    for kind, delimiter in (("csv", ","), ("tsv", "\t")):
        rows = csv_rows(export(resource, format=kind), delimiter)
        assert [row[2] for row in rows[1:]] == expected
    assert [row["fraction"] for row in json.loads(export(resource, format="json"))] == [
        value or None for value in expected]


EDGE_ITEMS = [
    item("label", "名称", length=None),
    item("plain", "说明", length=None),
    item("count", "数", data_type="I", length=None),
    item("amount", "数值", data_type="N", length=None),
    item("fee", "金额", data_type="Y", length=None),
    item("ratio", "比率", data_type="F", length=None),
    item("day", "日期", data_type="D", length=None),
    item("at", "时间", data_type="T", length=None),
    item("flag", "标志", data_type="L", length=None),
    item("person", "联系人", length=20, sensitivity="name"),
]
EDGE_ROWS = [  # label, plain, count, amount, fee, ratio, day, at, flag, person (SQL literals)
    ("'\"引号\" \\ 反斜杠\n换行\t制表\x01\x1f\u2028'", "'说明\u2028\x7f'", "-9223372036854775808",
     "'NaN'", "'NaN'", "'NaN'", "'4714-11-24 BC'", "'0044-03-15 12:00:00.5+00 BC'", "true",
     "'欧阳娜娜'"),
    ("''", "''", "9223372036854775807", "'Infinity'", "'12.30'", "'Infinity'", "'infinity'",
     "'infinity'", "false", "''"),
    ("NULL", "NULL", "NULL", "'-Infinity'", "'-0.01'", "'-Infinity'", "'-infinity'",
     "'-infinity'", "NULL", "NULL"),
    ("'a'", "'a''b/c'", "0", "'1.000'", "NULL", "'-0'", "'10000-01-01'",
     "'1988-07-01 00:00:00.25+00'", "true", "'张'"),
    ("'b'", "'重庆'", "1", "'1e30'", "'0'", "'1e20'", "'2024-05-01'", "'2024-05-01 08:30:00+08'",
     "false", "'李四四'"),
    ("'c'", "'c'", "2", "NULL", "'1'", "'5e-324'", "NULL", "NULL", "NULL", "'王'"),
    ("'d'", "'d'", "3", "'-0.000001'", "'99.99'", "'0.1'", "'0001-01-01'",
     "'0001-01-01 00:00:00+08'", "true", "'司马'"),
]


def load_edge_rows(session, connection, make_resource, load, *, escapes_known: bool,
                   rows=EDGE_ROWS):
    """A resource of ``EDGE_ITEMS`` whose current version holds ``rows`` (SQL literals,
    ``_id`` from 2) after one loaded row, and the version. The rows are inserted past the
    load, so its whole-seconds record is dropped, and its escapes record too unless
    ``escapes_known`` (as for versions loaded before it was recorded)."""
    from sqlalchemy import text

    from govdata.catalog.datastore.query import current_version

    resource = make_resource(EDGE_ITEMS)
    load(resource, [['x"', "x", "1", "1", "1", "1", "2024-05-01", "2024-05-01T08:00", "是",
                     "张三"]])
    version = current_version(session, resource)
    assert {c["name"]: c["escapes"] for c in version.columns if c["data_type"] == "C"} == {
        "label": True, "plain": False, "person": False}
    dropped = ("whole_seconds",) if escapes_known else ("whole_seconds", "escapes")
    version.columns = [{k: v for k, v in c.items() if k not in dropped}
                       for c in version.columns]
    session.flush()
    columns = ", ".join(c["column"] for c in version.columns)
    for number, values in enumerate(rows, start=2):
        connection.execute(text(f'INSERT INTO "{version.table_name}" (_id, {columns}) '
                                f"VALUES ({number}, {', '.join(values)})"))
    return resource, version


@pytest.mark.parametrize(("per_format", "escapes_known"), [(None, True), (4, True),
                                                          (None, False)])
def test_json_rows_are_the_bytes_row_to_json_writes(make_resource, load, export, session,
                                                    connection, database_url, monkeypatch,
                                                    per_format, escapes_known):
    """On PostgreSQL each JSON row is put together from its values' text (``_json_row``):
    byte for byte what ``row_to_json`` and ``array_to_json`` write for the same row, for
    every type, NULLs, NaN and infinities, BC and infinite dates and times, numbers' trailing
    zeros, text that needs escapes and text its load found nothing to escape in
    (``ColumnSpec.escapes``; not known for versions loaded before it was recorded), masked
    or not; also when a row takes several ``format`` calls (``per_format`` values each)."""
    postgres_only(database_url)
    if per_format:
        monkeypatch.setattr("govdata.catalog.datastore.export.FORMAT_VALUES", per_format)
    from sqlalchemy import Text, cast, func, literal_column, select
    from sqlalchemy.dialects.postgresql import array

    from govdata.catalog.datastore import export as exporting

    resource, _ = load_edge_rows(session, connection, make_resource, load,
                                 escapes_known=escapes_known)
    for masks in (None, sensitivities(resource)):
        for records in ("objects", "lists"):
            plan = plan_export(session, resource, format="json", records=records, masks=masks)
            selection = plan.selection
            inner = exporting._statement(
                plan, [exporting._json_expression(selection, c).label(c.name)
                       for c in selection.columns], ordered=True).subquery("r")
            row = cast(func.array_to_json(array([func.to_json(c) for c in inner.c]))
                       if records == "lists" else func.row_to_json(literal_column("r")), Text)
            with connection.begin_nested():
                connection.exec_driver_sql(
                    "SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL TIME ZONE INTERVAL '+08:00' "
                    "HOUR TO MINUTE; SET LOCAL extra_float_digits = 1")
                expected = list(connection.execute(select(row).select_from(inner)).scalars())
            data = export(resource, format="json", records=records, masks=masks).decode()
            head = data[:data.index("\n") + 1]
            assert data == head + ",\n".join(expected) + "\n" + exporting._json_tail(
                plan).decode()
            if records == "objects":
                assert export(resource, format="ndjson", masks=masks).decode() == "".join(
                    line + "\n" for line in expected)
            assert len(expected) == 8
