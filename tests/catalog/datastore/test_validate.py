"""The cell rule and the vectorised column path agree on every value."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from govdata.catalog.datastore import validate
from govdata.catalog.datastore.tables import ColumnSpec
from govdata.catalog.datastore.validate import CHINA, Invalid, Rows, check_column, convert


def spec(data_type: str = "C", **overrides) -> ColumnSpec:
    return ColumnSpec(**{"name": "v", "title": "值", "column": "v", "data_type": data_type,
                         **overrides})


SAMPLES = {
    "I": ["1", "-2", "+3", " 4 ", "007", "9223372036854775807", "9223372036854775808",
          "-9223372036854775808", "1.0", "1e3", "", "abc", "١٢", "12345"],
    "N": ["1", "-2.5", "+3.", ".5", "1e5", "1E-99", "1e100", "1,5", "nan", "Infinity", "",
          " 2 ", "0x10", "12345.678", "1" * 101],
    "Y": ["12.30", "-3", "12.345", "1e2", "123456789012345678", "1234567890123456789", ".5"],
    "F": ["0.5", "1e-400", "1e308", "1e309", "-inf", "nan", "2.", "1e5", " 1 "],
    "D": ["2024-02-29", "2023-02-29", "2024-1-5", "0000-01-01", "0001-01-01", "9999-12-31",
          "2024-01-01T00:00", "20240101", " 2024-05-01 ", ""],
    "T": ["2024-05-01T08:30:00+08:00", "2024-05-01 08:30", "2024-05-01T00:30:00Z",
          "2024-05-01", "2024-05-01T24:00:00", "2024-05-01T08:30:00.1234567", "noon",
          "2024-02-30T00:00:00", "2024-05-01T08:30:00.25", "0001-01-01T00:00",
          "0001-01-01T08:00", "9999-12-31T23:59:59.999999", "9999-12-31T23:00:00-05:00",
          " 2024-05-01T08:30 ", "2024-05-01T08:30:00+0800"],
    "L": ["true", "FALSE", "是", "否", "1", "0", "yes", " True ", "t"],
}


@pytest.mark.parametrize("data_type", sorted(SAMPLES))
def test_fast_path_never_disagrees_with_the_rule(data_type):
    for length in (None, 3):
        column_spec = spec(data_type, length=length)
        for value in SAMPLES[data_type]:
            try:
                expected = convert(column_spec, value)
            except Invalid:
                expected = Invalid
            result = check_column(column_spec, pa.array([value], pa.string()), Rows(1, 1),
                                  budget=10)
            if expected is Invalid:
                assert result.error_count == 1, (data_type, length, value)
            else:
                assert result.error_count == 0, (data_type, length, value)
                got = result.array.to_pylist()[0]
                if data_type == "T" and got is not None:
                    got = got.astimezone(CHINA)
                assert got == expected, (data_type, length, value)


def test_whole_columns_take_the_fast_path(monkeypatch):
    calls = []
    monkeypatch.setattr(validate, "_slow", lambda *a, **k: calls.append(a) or None)
    columns = {
        spec("I", length=5): ["1", "-20", "", "300"],
        spec("N"): ["1.5", "-2", "", ".5"],
        spec("D", required=True): ["2024-05-01", "2000-02-29", "1999-12-31", "0001-01-01"],
        spec("L"): ["true", "否", "", "1"],
        spec("T"): ["2024-05-01T08:30:00", "2024-05-01 08:30", "", "2024-05-01"],
        spec("C", length=2): ["张三", "ab", "", "x"],
        spec("C", sensitivity="uscc"): ["91350100M000100Y43", ""],
        spec("C", sensitivity="id_number"): ["11010519491231002X", "440524188001010014"],
    }
    for column_spec, values in columns.items():
        result = check_column(column_spec, pa.array(values), Rows(1, len(values)), budget=5)
        assert result.error_count == 0 and result is not None
    assert calls == []


def test_identifiers_in_bulk_match_the_platform_rules():
    from govdata.platform.identifiers import is_valid_id_number, is_valid_uscc

    ids = ["11010519491231002X", "440524188001010014", "110105194912310021",
           "110105194902300028", "110105300001010010", "11010518000101001X",
           "11010517991231001X"]
    usccs = ["91350100M000100Y43", "91350100M000100Y4Z", "91350100M000100Y44",
             "9135010OM000100Y43"]
    for values, sensitivity, rule in ((ids, "id_number", is_valid_id_number),
                                      (usccs, "uscc", is_valid_uscc)):
        for value in values:
            result = check_column(spec("C", sensitivity=sensitivity), pa.array([value] * 3),
                                  Rows(1, 3), budget=10)
            assert (result.error_count == 0) == rule(value), value


def test_bad_cells_name_their_rows():
    result = check_column(spec("I"), pa.array(["1", "x", "3", "y"]),
                          Rows(1, 4, numbers=__import__("numpy").array([2, 5, 7, 9])), budget=1)
    assert result.error_count == 2
    assert [(e.row, e.value) for e in result.errors] == [(5, "x")]  # budget of one detail


def test_datetimes_without_offset_are_china_time():
    moment = convert(spec("T"), "2024-05-01 08:30")
    assert moment == dt.datetime(2024, 5, 1, 0, 30, tzinfo=dt.UTC)
    assert moment.utcoffset() == dt.timedelta(hours=8)


def test_required_and_text_rules():
    with pytest.raises(Invalid, match="必填"):
        convert(spec("C", required=True), "")
    assert convert(spec("C"), "  a  ") == "  a  "  # text is kept as written
    with pytest.raises(Invalid, match="NUL"):
        convert(spec("C"), "a\x00b")
    assert convert(spec("I"), " 12 ") == 12
