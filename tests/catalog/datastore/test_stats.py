"""``stats``: what a version's text columns hold, gathered while loading."""

from __future__ import annotations

import pyarrow as pa

from govdata.catalog.datastore import stats
from govdata.catalog.datastore.tables import ColumnSpec

from .conftest import AQ_ROWS

SPECS = [ColumnSpec("station", "站点", "station", "C"), ColumnSpec("aqi", "指数", "aqi", "I"),
         ColumnSpec("note", "备注", "note", "C")]


def gathered(*batches) -> dict:
    gatherer = stats.Gatherer(SPECS)
    for batch in batches:
        gatherer.add([pa.array(column, type) for column, type in
                      zip(batch, [pa.string(), pa.int64(), pa.string()], strict=True)])
    return gatherer.result()


def test_values_are_counted_while_they_are_few(monkeypatch):
    monkeypatch.setattr(stats, "MAX_VALUES", 3)
    result = gathered([["解放碑", "虎溪", None], [1, 2, 3], ["a", "b", "c"]],
                      [["解放碑", None, None], [4, 5, 6], ["d", None, None]])
    assert result["station"]["values"] == {"解放碑": 2, "虎溪": 1}
    assert result["note"]["values"] is None  # four values: too many
    assert set(result) == {"station", "note"}  # text columns only


def test_the_bytes_of_a_column_come_from_its_few_values_then_from_every_row(monkeypatch):
    monkeypatch.setattr(stats, "MAX_VALUES", 3)
    result = gathered([["解放碑", "虎溪", None], [1, 2, 3], ["a", "b", "c"]],
                      [["解放碑", None, None], [4, 5, 6], ["d", None, None]],
                      [["虎溪", "虎溪", None], [7, 8, 9], ["ef", "g", None]])
    note = result["note"]
    assert all(stats.may_contain(note, letter) for letter in "abcdefg")
    assert not stats.may_contain(note, "h") and not stats.may_contain(note, "虎")
    assert stats.may_contain(result["station"], "虎溪")
    assert not stats.may_contain(result["station"], "a")


def test_a_column_may_contain_only_words_of_its_bytes():
    result = gathered([["解放碑", "唐家沱"], [1, 2], ["quiet river 1", "Kelvin 2"]])
    station, note = result["station"], result["note"]
    assert stats.may_contain(station, "解放") and not stats.may_contain(station, "river")
    assert stats.may_contain(note, "RIVER") and not stats.may_contain(note, "解放碑")
    assert not stats.may_contain(note, "x") and not stats.may_contain(station, "1")
    assert stats.may_contain(station, "Ω")  # non-ASCII letters with cases: never ruled out
    kelvin = gathered([["\u212a"], [1], [None]])["station"]  # KELVIN SIGN: ILIKE 'k' finds it
    assert stats.may_contain(kelvin, "k") and stats.may_contain(kelvin, "K")
    assert stats.may_contain(None, "anything")


def test_loads_record_their_statistics(aq, load):
    version = load(aq, AQ_ROWS)
    recorded = version.column_stats
    assert recorded["district"]["values"] == {"渝中区": 2, "江北区": 1, "沙坪坝区": 1,
                                               "九龙坡区": 1}
    assert recorded["level"]["values"] == {"良": 2, "优": 1, "轻度污染": 1}
    assert set(recorded) == {"district", "station", "level", "name", "phone"}
