"""Loading files into typed version tables: checks, reports, atomic replacement."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pyarrow as pa
import pytest
from sqlalchemy import inspect, select

from govdata.catalog.datastore import batches, ingest, query_rows, service
from govdata.catalog.datastore.tables import table_name
from govdata.catalog.datastore.validate import CellError
from govdata.catalog.models import DataVersion
from govdata.platform.errors import Forbidden, NotFound, RuleViolation
from govdata.platform.models import AuditEntry
from govdata.platform.principal import Principal

from .conftest import (
    AQ_HEADER,
    AQ_ROWS,
    TYPED_HEADER,
    TYPED_ROWS,
    csv_text,
    json_lines,
    records,
)


def problems(exc: pytest.ExceptionInfo) -> list[tuple]:
    return [(e["row"], e["column"], e["value"]) for e in exc.value.errors]


def table_exists(session, name: str) -> bool:
    return inspect(session.connection()).has_table(name)


def test_good_csv_makes_a_typed_current_version(session, aq, load, dialect):
    version = load(aq, AQ_ROWS)
    assert (version.version, version.row_count, version.is_current) == (1, 5, True)
    assert version.table_name == table_name(aq.id, 1)
    assert version.table_name.startswith("ds_")
    columns = {c["name"]: inspect(session.connection()).get_columns(version.table_name)
               for c in [{"name": "x"}]}["x"]
    types = {c["name"]: str(c["type"]).upper() for c in columns}
    assert set(types) == {"_id", *AQ_HEADER}
    assert "INT" in types["_id"] and "INT" in types["aqi"]
    if dialect == "postgresql":
        assert types["day"] == "DATE" and types["pm25"] == "NUMERIC"
        assert types["district"] == "VARCHAR(20)"
    result = query_rows(session, aq)
    assert result.total == 5
    first = result.records[0]
    assert first == {"_id": 1, "id": 1, "district": "渝中区", "station": "解放碑",
                     "day": "2024-05-01", "aqi": 52, "pm25": 35.2, "pm10": 60.1, "level": "良",
                     "name": "张三", "phone": "13812341234"}
    last = result.records[-1]
    assert last["aqi"] is None and last["name"] is None and last["pm25"] is None


def test_load_is_audited(session, aq, load, steward):
    load(aq, AQ_ROWS)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "data.load")
                            .order_by(AuditEntry.id.desc())).first()
    body = json.loads(entry.body)
    assert (entry.actor, entry.resource) == (steward.username, aq.code)
    assert body["row_count"] == 5 and body["version"] == 1 and body["format"] == "csv"


def test_typed_values_round_trip(session, typed, load):
    load(typed, TYPED_ROWS)
    rows = records(query_rows(session, typed))
    assert rows[0] == {"code": "91350100M000100Y43", "person_id": "11010519491231002X",
                       "at": "2024-05-01T08:30:00+08:00", "flag": True, "fee": 12.3,
                       "ratio": 0.5, "address": "重庆市渝中区解放碑街道88号",
                       "card": "6222021234567890123", "note": "仅内部"}
    assert rows[1]["at"] == "2024-05-01T00:00:00+08:00" and rows[1]["flag"] is False
    assert rows[1]["code"] is None and rows[1]["ratio"] == 0.001 and rows[1]["fee"] == -3


def test_datetimes_with_offsets_are_kept_as_the_same_moment(session, typed, load):
    load(typed, [["", "", "2024-05-01T00:30:00Z", "", "", "", "", "", ""],
                 ["", "", "2024-05-01T08:30:00.250+0800", "", "", "", "", "", ""]])
    moments = [r["at"] for r in query_rows(session, typed, sort="_id").records]
    assert moments == ["2024-05-01T08:30:00+08:00", "2024-05-01T08:30:00.250000+08:00"]


BAD = [
    ("aqi", "abc", "不是整数"),
    ("aqi", "1000", "超过 3 位数字"),
    ("id", "99999999999999999999", "超出 64 位"),
    ("day", "2023-02-30", "日期不存在"),
    ("day", "2024/05/01", "YYYY-MM-DD"),
    ("day", "", "必填项为空"),
    ("pm25", "1,5", "不是数值"),
    ("district", "很" * 21, "超过 20 个字符"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD)
def test_each_kind_of_bad_value_is_reported(aq, load, column, value, reason):
    row = list(AQ_ROWS[0])
    row[AQ_HEADER.index(column)] = value
    with pytest.raises(RuleViolation) as exc:
        load(aq, [AQ_ROWS[1], row])
    assert exc.value.code == "data_rows_invalid"
    [error] = exc.value.errors
    assert (error["row"], error["column"], error["value"]) == (2, column, value)
    assert reason in error["reason"]
    assert error["loc"] == ["row", 2, column] and reason in error["msg"]


TYPED_BAD = [
    ("code", "91350100M000100Y4Z", "统一社会信用代码"),
    ("code", "91350100M000100Y44", "校验位"),
    ("person_id", "110105194912310021", "校验位"),
    ("person_id", "110105194902300028", "出生日期"),
    ("person_id", "110105230001010013", "出生日期"),
    ("person_id", "11010519491231002", "17 位数字"),
    ("at", "2024-05-01T25:00:00", "日期时间"),
    ("at", "yesterday", "ISO 8601"),
    ("flag", "yes", "逻辑值"),
    ("fee", "12.345", "金额"),
    ("ratio", "1e999", "超出范围"),
    ("ratio", "nan", "浮点数"),
]


@pytest.mark.parametrize(("column", "value", "reason"), TYPED_BAD)
def test_typed_bad_values(typed, load, column, value, reason):
    row = list(TYPED_ROWS[0])
    row[TYPED_HEADER.index(column)] = value
    with pytest.raises(RuleViolation) as exc:
        load(typed, [row])
    assert problems(exc) == [(1, column, value)]
    assert reason in exc.value.errors[0]["reason"]


def test_lower_case_x_in_an_id_number_is_stored_upper_case(session, typed, load):
    load(typed, [["", "11010519491231002x", "", "", "", "", "", "", ""]])
    assert query_rows(session, typed).records[0]["person_id"] == "11010519491231002X"


def test_every_bad_row_is_listed_with_the_total(aq, load):
    rows = [[str(n), "渝中区", "", "2024-05-01", "x" if n % 2 else "1", "", "", "", "", ""]
            for n in range(1, 3001)]
    with pytest.raises(RuleViolation) as exc:
        load(aq, rows)
    assert len(exc.value.errors) == batches.MAX_REPORTED_ERRORS
    assert "1500 处错误" in exc.value.detail and "1500 rows" in exc.value.detail
    assert [e["row"] for e in exc.value.errors[:3]] == [1, 3, 5]


def test_several_errors_in_one_row(aq, load):
    row = ["x", "渝中区", "", "2024-13-01", "abc", "", "", "", "", ""]
    with pytest.raises(RuleViolation) as exc:
        load(aq, [row])
    assert problems(exc) == [(1, "id", "x"), (1, "day", "2024-13-01"), (1, "aqi", "abc")]
    assert exc.value.detail.startswith("上传的数据有 3 处错误, 涉及 1 行, 未做任何更改 ")


def test_header_problems_are_reported(aq, load):
    header = ["编号", "区县", "foo", "district", ""] + AQ_HEADER[5:]
    with pytest.raises(RuleViolation) as exc:
        load(aq, [["1"] * len(header)], header=header)
    found = [(e["column"], e["reason"]) for e in exc.value.errors]
    assert [c for c, r in found if r.startswith("未知的列")] == ["foo"]
    assert [c for c, r in found if r.startswith("与 区县 重复")] == ["district"]
    assert [c for c, r in found if r.startswith("列名为空")] == ["第 5 列"]
    assert [c for c, r in found if r.startswith("缺少必填")] == ["day"]
    assert all(e["row"] is None and e["loc"][0] == "file" for e in exc.value.errors)
    assert exc.value.code == "data_rows_invalid"
    assert exc.value.detail.startswith(f"表头与信息项不符, 有 {len(found)} 处问题, 未做任何更改")


def test_rows_with_a_wrong_number_of_columns(aq, load, write):
    text = csv_text(AQ_HEADER, [AQ_ROWS[0]]) + "2,江北区\n" + ",".join(AQ_ROWS[2]) + ",extra\n"
    with pytest.raises(RuleViolation) as exc:
        load(aq, path=write("broken.csv", text))
    assert [(e["row"], e["reason"][:4]) for e in exc.value.errors] == [(2, "列数不对"),
                                                                      (3, "列数不对")]
    assert "2 处错误, 涉及 2 行" in exc.value.detail


def test_bad_upload_leaves_the_previous_version_untouched(session, aq, load):
    first = load(aq, AQ_ROWS)
    bad = [list(AQ_ROWS[0]), list(AQ_ROWS[1])]
    bad[1][4] = "many"
    with pytest.raises(RuleViolation):
        load(aq, bad)
    versions = session.scalars(select(DataVersion).where(DataVersion.resource_id == aq.id)).all()
    assert [(v.version, v.is_current) for v in versions] == [(1, True)]
    assert not table_exists(session, table_name(aq.id, 2))
    result = query_rows(session, aq)
    assert result.version == first.version and result.total == 5
    assert result.records[0]["district"] == "渝中区"
    # the next good load takes the next number
    assert load(aq, AQ_ROWS[:2]).version == 2


def test_a_new_version_replaces_the_old_and_old_tables_are_dropped(session, aq, load):
    v1 = load(aq, AQ_ROWS)
    v2 = load(aq, AQ_ROWS[:2])
    assert (v1.is_current, v2.is_current) == (False, True)
    assert query_rows(session, aq).total == 2 and query_rows(session, aq).version == 2
    assert table_exists(session, v1.table_name)  # kept: a reader may still be exporting it
    v3 = load(aq, AQ_ROWS[:3])
    assert not table_exists(session, v1.table_name)
    assert table_exists(session, v2.table_name) and table_exists(session, v3.table_name)
    kept = session.scalars(select(DataVersion.version).where(DataVersion.resource_id == aq.id)
                           .order_by(DataVersion.version)).all()
    assert kept == [2, 3]
    assert query_rows(session, aq).total == 3


def test_csv_with_bom_chinese_headers_and_crlf(session, aq, load, write):
    titles = [i.title for i in aq.items]
    text = "\ufeff" + csv_text(titles, AQ_ROWS).replace("\n", "\r\n")
    version = load(aq, path=write("空气质量.csv", text))
    assert version.row_count == 5 and version.source_name == "空气质量.csv"
    assert query_rows(session, aq).records[1]["name"] == "欧阳娜娜"


def test_gbk_csv_from_excel(session, aq, load, write):
    text = csv_text([i.title for i in aq.items], AQ_ROWS)
    version = load(aq, path=write("gbk.csv", text, encoding="gbk"))
    assert version.row_count == 5
    assert query_rows(session, aq).records[3]["level"] == "轻度污染"


def test_tab_separated_and_quoted_newlines(session, aq, load, write):
    rows = [list(AQ_ROWS[0]), list(AQ_ROWS[1])]
    rows[0][2] = '解放碑\n"东"站, 一号'
    load(aq, path=write("data.tsv", csv_text(AQ_HEADER, rows, delimiter="\t")))
    assert query_rows(session, aq).records[0]["station"] == '解放碑\n"东"站, 一号'


def test_columns_in_any_order_optional_ones_missing_and_id_ignored(session, aq, load):
    header = ["_id", "day", "district", "id"]
    load(aq, [["7", "2024-05-01", "渝中区", "1"]], header=header)
    record = query_rows(session, aq).records[0]
    assert record["_id"] == 1 and record["district"] == "渝中区" and record["aqi"] is None


def test_xlsx(session, aq, load, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])  # a blank row before the header
    sheet.append([i.title for i in aq.items])
    sheet.append([1, "渝中区", "解放碑", dt.datetime(2024, 5, 1), 52, 35.2, 60, "良", "张三",
                  13812341234])
    sheet.append([None] * 10)  # blank rows are skipped
    sheet.append([2, "江北区", None, dt.date(2024, 5, 2), 38.0, 21.5, None, "优", None, None])
    path = tmp_path / "data.xlsx"
    book.save(path)
    version = load(aq, path=path)
    assert version.row_count == 2
    rows = records(query_rows(session, aq))
    assert rows[0]["day"] == "2024-05-01" and rows[0]["phone"] == "13812341234"
    assert rows[1]["aqi"] == 38 and rows[1]["pm10"] is None


def test_xlsx_errors_name_the_row_after_the_header(aq, load, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(AQ_HEADER)
    sheet.append([1, "渝中区", None, "2024-05-01"])
    sheet.append([None])
    sheet.append([3, "渝中区", None, "someday"])
    path = tmp_path / "bad.xlsx"
    book.save(path)
    with pytest.raises(RuleViolation) as exc:
        load(aq, path=path)
    assert problems(exc) == [(3, "day", "someday")]


def test_json_array_and_ndjson(session, aq, load, write):
    objects = [dict(zip(AQ_HEADER, row, strict=True)) for row in AQ_ROWS[:3]]
    objects[0]["aqi"] = 52  # numbers may be JSON numbers
    objects[1]["pm25"] = 21.5
    objects[2] = {"编号": 3, "区县": "渝中区", "日期": "2024-05-02", "aqi": None}
    load(aq, path=write("data.json", json.dumps(objects, ensure_ascii=False, indent=1)))
    rows = records(query_rows(session, aq))
    assert [r["aqi"] for r in rows] == [52, 38, None] and rows[1]["pm25"] == 21.5
    version = load(aq, path=write("data.ndjson", json_lines(objects[:2])))
    assert version.row_count == 2 and version.version == 2


def test_json_array_read_in_small_chunks(session, aq, load, write, monkeypatch):
    from govdata.catalog.datastore import readers

    monkeypatch.setattr(readers.JsonReader, "CHUNK", 7)
    objects = [dict(zip(AQ_HEADER, row, strict=True)) for row in AQ_ROWS]
    objects[0]["aqi"] = 123456789 % 1000
    load(aq, path=write("data.json", json.dumps(objects, ensure_ascii=False)))
    assert [r["aqi"] for r in records(query_rows(session, aq))] == [789, 38, 75, 120, None]


def test_json_problems(aq, load, write):
    objects = [{"id": 1, "district": "渝中区", "day": "2024-05-01", "foo": 1},
               [1, 2],
               {"id": 3, "district": {"a": 1}, "day": "2024-05-01"}]
    with pytest.raises(RuleViolation) as exc:
        load(aq, path=write("data.json", json.dumps(objects)))
    reasons = [(e["row"], e["column"], e["reason"].split(" (")[0]) for e in exc.value.errors]
    assert reasons[:3] == [(1, "foo", "未知的字段: 不是本资源的信息项名称或中文名称"),
                           (2, None, "不是 JSON 对象"), (3, "district", "不能是嵌套的对象或数组")]
    with pytest.raises(RuleViolation) as exc:
        load(aq, path=write("broken.json", '[{"id": 1}, {"id": '))
    assert exc.value.code == "data_file_unreadable"


def test_unreadable_and_empty_files(aq, load, write):
    with pytest.raises(RuleViolation) as exc:
        load(aq, path=write("empty.csv", b""))
    assert exc.value.code == "data_file_unreadable"
    with pytest.raises(RuleViolation) as exc:
        load(aq, path=write("header.csv", ",".join(AQ_HEADER) + "\n"))
    assert exc.value.code == "data_empty"
    with pytest.raises(RuleViolation) as exc:
        load(aq, path=write("fake.xlsx", b"PK\x03\x04 not really"))
    assert exc.value.code == "data_file_unreadable"


def test_only_stewards_of_the_department_load(session, make_resource, load, make_department):
    aq = make_resource(publish=True)
    other = make_department()
    stranger = Principal(username="s", department=other, roles=frozenset({"steward"}))
    with pytest.raises(Forbidden):
        load(aq, AQ_ROWS, principal=stranger)
    requester = Principal(username="r", department=aq.department.code,
                          roles=frozenset({"requester"}))
    with pytest.raises(Forbidden):
        load(aq, AQ_ROWS, principal=requester)
    with pytest.raises(NotFound):
        service.load_data(session, requester, "301001/999999", None)
    draft = make_resource()
    with pytest.raises(NotFound):  # another department's draft does not exist for it
        load(draft, AQ_ROWS, principal=stranger)


def test_extreme_values_load_on_both_databases(session, make_resource, load):
    resource = make_resource([
        {"name": "i", "title": "整数", "data_type": "I"},
        {"name": "n", "title": "数值", "data_type": "N"},
        {"name": "f", "title": "浮点", "data_type": "F"},
        {"name": "d", "title": "日期", "data_type": "D"},
        {"name": "t", "title": "时间", "data_type": "T"},
        {"name": "y", "title": "金额", "data_type": "Y"},
    ])
    rows = [["9223372036854775807", "1e99", "1e308", "0001-01-01", "0001-01-01T08:00",
             "999999999999999999.99"],
            ["-9223372036854775808", "-0.000001", "1e-320", "9999-12-31",
             "9999-12-31T23:59:59.999999", "-0.01"],
            ["0", "+12.5", "1e-400", "2024-02-29", "2024-02-29T12:00:00-05:00", "+1"]]
    load(resource, rows)
    got = [list(r.values())[1:] for r in query_rows(session, resource).records]
    assert got[0][0] == 2**63 - 1 and got[1][0] == -(2**63)
    assert got[0][2] == 1e308 and got[2][2] == 0.0
    assert [r[3] for r in got] == ["0001-01-01", "9999-12-31", "2024-02-29"]
    assert [r[4] for r in got] == ["0001-01-01T08:00:00+08:00",
                                   "9999-12-31T23:59:59.999999+08:00",
                                   "2024-03-01T01:00:00+08:00"]


def test_retired_resources_take_no_data_but_keep_theirs(session, aq, load, steward):
    from govdata.catalog import service as catalog_service

    load(aq, AQ_ROWS)
    catalog_service.retire_resource(session, steward, code=aq.code, reason="合并")
    with pytest.raises(RuleViolation) as exc:
        load(aq, AQ_ROWS)
    assert exc.value.code == "resource_retired"
    assert query_rows(session, aq).total == 5


def test_drop_data_removes_every_version(session, aq, load):
    tables = [load(aq, AQ_ROWS).table_name, load(aq, AQ_ROWS[:2]).table_name]
    ingest.drop_data(session, aq)
    assert not any(table_exists(session, name) for name in tables)
    assert session.scalars(select(DataVersion).where(DataVersion.resource_id == aq.id)).all() == []


def test_rows_longer_than_a_read_block(session, make_resource, load, monkeypatch):
    resource = make_resource([{"name": "id", "title": "编号", "data_type": "I"},
                              {"name": "body", "title": "正文", "data_type": "C"}])
    monkeypatch.setattr(ingest, "CSV_BLOCK_SIZES", (1024, 1 << 20))
    rows = [["1", "短"], ["2", "长" * 5000], ["3", "x"]]
    load(resource, rows)
    assert [len(r["body"]) for r in query_rows(session, resource).records] == [1, 5000, 1]
    monkeypatch.setattr(ingest, "CSV_BLOCK_SIZES", (1024,))
    with pytest.raises(RuleViolation) as exc:
        load(resource, rows)
    assert exc.value.code == "data_file_unreadable"


def test_copy_text_writes_timestamps_as_pyarrow_does():
    """The fast text for COPY is byte for byte what pyarrow's CSV writer gives a
    zone-aware timestamp (before 1970, with microseconds, null)."""
    import pyarrow as pa

    moments = [dt.datetime(1965, 3, 1, 23, 59, 59, tzinfo=dt.UTC), None,
               dt.datetime(2024, 5, 1, 0, 30, 0, 123456, tzinfo=dt.UTC)]
    for unit in ("ms", "us"):
        array = pa.array(moments, pa.timestamp(unit, tz="UTC"))
        plain = pa.record_batch([array], names=["t"])
        fast = pa.record_batch([batches.copy_text(array)], names=["t"])
        assert batches.csv_bytes(fast).to_pybytes() == batches.csv_bytes(plain).to_pybytes()
    numbers = pa.array([1, None])
    assert batches.copy_text(numbers) is numbers


def test_copy_text_leaves_out_the_fraction_of_whole_seconds():
    """Shorter text for the database to read, the same instants."""
    import pyarrow as pa

    moments = [dt.datetime(1965, 3, 1, 23, 59, 59, tzinfo=dt.UTC), None,
               dt.datetime(2024, 5, 1, 0, 30, 0, tzinfo=dt.UTC)]
    for unit in ("s", "ms", "us"):
        text = batches.copy_text(pa.array(moments, pa.timestamp(unit, tz="UTC")))
        assert text.to_pylist() == ["1965-03-01 23:59:59Z", None, "2024-05-01 00:30:00Z"]


def test_the_report_counts_every_error_and_lists_the_first():
    """Errors come batch by batch: all are counted, the first ``limit`` listed, and the
    answer says when the list is not the whole of it."""
    def errors(rows):
        return [CellError(row, "aqi", "x", "不是整数") for row in rows]

    report = batches.Report(limit=3)
    report.add(errors([1, 2]), 2)
    report.add(errors([20_001, 20_002]), 5)  # a later batch; 5 counted, its details cut
    report.bad_rows = 4
    violation = report.violation()
    assert (report.count, [e.row for e in report.errors]) == (7, [1, 2, 20_001])
    assert violation.code == "data_rows_invalid"
    assert violation.detail == ("上传的数据有 7 处错误, 涉及 4 行, 未做任何更改; 列出前 3 处 "
                                "(7 problems in 4 rows; nothing was changed; the first 3 "
                                "are listed)")
    assert [e["row"] for e in violation.errors] == [1, 2, 20_001]
    whole = batches.Report(limit=3)
    whole.add(errors([1, 2]))
    whole.bad_rows = 2
    assert whole.violation().detail == ("上传的数据有 2 处错误, 涉及 2 行, 未做任何更改 "
                                        "(2 problems in 2 rows; nothing was changed)")


@pytest.mark.parametrize(("array", "formula"), [
    (pa.array(["=1"]), True),  # one value
    (pa.chunked_array([[], ["=1"]], pa.string()), True),  # after an empty chunk
    (pa.chunked_array([[None, ""], ["x", "+1"]], pa.string()), True),  # after one of nulls
    (pa.array(["x", "y", "=z"]).slice(0, 2), False),  # the slice's own values only
    (pa.array(["x", "@y"]).dictionary_encode(), True),  # text of another arrow type
])
def test_formula_detection_reads_every_chunk_and_only_its_values(array, formula):
    assert batches.starts_like_formula(array) is formula


def test_copy_csv_quotes_what_needs_quoting():
    """The batches fed to PostgreSQL's COPY are CSV it reads back as the same values:
    unquoted when nothing needs quotes, else quoted."""
    import csv as csv_module
    import io

    plain = pa.RecordBatch.from_arrays([pa.array([1, 2]), pa.array(["渝中区", None])],
                                       names=["_id", "district"])
    assert batches.csv_bytes(plain).to_pybytes().decode() == "1,渝中区\n2,\n"
    values = ["a,b", 'say "hi"', "two\nlines", "plain"]
    hostile = pa.RecordBatch.from_arrays([pa.array([1, 2, 3, 4]), pa.array(values)],
                                         names=["_id", "note"])
    text = batches.csv_bytes(hostile).to_pybytes().decode()
    assert [row[1] for row in csv_module.reader(io.StringIO(text))] == values


def test_prune_says_which_versions_it_dropped(session, aq, load):
    for rows in (AQ_ROWS, AQ_ROWS[:2], AQ_ROWS[:3]):
        load(aq, rows)
    assert ingest.prune(session, aq, keep=1) == [2]
    assert ingest.prune(session, aq, keep=1) == []


def test_a_version_keeps_its_source_name_and_column_statistics(session, aq, load):
    """The file's name as given (at most 255 characters), and what the
    statistics pages read: each text column's gathered figures, stored with the version."""
    version = load(aq, AQ_ROWS, filename="空" * 300 + ".csv")
    assert version.source_name == "空" * 255
    assert set(version.column_stats) == {i.name for i in aq.items if i.data_type == "C"}
    assert all(stats["values"] is not None for stats in version.column_stats.values())
