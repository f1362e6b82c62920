"""``query_rows``: datastore_search semantics on the current version."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, update

from govdata.catalog.datastore import query_rows, sensitivities
from govdata.catalog.models import DataVersion
from govdata.platform.errors import NotFound, RuleViolation
from tests.conftest import postgres_only

from .conftest import AQ_ROWS, TYPED_ROWS


@pytest.fixture
def loaded(aq, load):
    load(aq, AQ_ROWS)
    return aq


def ids(result) -> list[int]:
    return [r["id"] for r in result.records]


def test_defaults_and_fields(session, loaded):
    result = query_rows(session, loaded)
    assert (result.total, result.limit, result.offset, result.version) == (5, 100, 0, 1)
    assert result.fields[0] == {"id": "_id", "type": "int"}
    day = next(f for f in result.fields if f["id"] == "day")
    assert day["type"] == "date" and day["info"]["label"] == "日期"
    chosen = query_rows(session, loaded, fields="district, aqi")
    assert [f["id"] for f in chosen.fields] == ["district", "aqi"]
    assert chosen.records[0] == {"district": "渝中区", "aqi": 52}
    lists = query_rows(session, loaded, fields=["_id", "day"], records_format="lists")
    assert lists.records[:2] == [[1, "2024-05-01"], [2, "2024-05-01"]]


def test_filters(session, loaded):
    assert ids(query_rows(session, loaded, filters={"district": "渝中区"})) == [1, 3]
    assert ids(query_rows(session, loaded, filters={"district": ["江北区", "虎溪区", "沙坪坝区"]})
               ) == [2, 4]
    assert ids(query_rows(session, loaded, filters={"day": "2024-05-02", "aqi": 75})) == [3]
    assert ids(query_rows(session, loaded, filters={"pm25": "55.0"})) == [3]
    assert ids(query_rows(session, loaded, filters={"aqi": None})) == [5]
    assert ids(query_rows(session, loaded, filters={"_id": [2, "4"]})) == [2, 4]
    result = query_rows(session, loaded, filters={"district": "渝中区"}, limit=1)
    assert result.total == 2 and len(result.records) == 1


def test_typed_filters(session, typed, load):
    load(typed, TYPED_ROWS)
    assert len(query_rows(session, typed, filters={"flag": "是"}).records) == 1
    assert len(query_rows(session, typed, filters={"flag": False}).records) == 1
    assert len(query_rows(session, typed, filters={"at": "2024-05-01T00:30:00Z"}).records) == 1
    assert len(query_rows(session, typed, filters={"fee": -3}).records) == 1


def test_sort_and_paging(session, loaded):
    assert ids(query_rows(session, loaded, sort="aqi desc")) == [5, 4, 3, 1, 2]  # nulls first
    assert ids(query_rows(session, loaded, sort="aqi")) == [2, 1, 3, 4, 5]
    assert ids(query_rows(session, loaded, sort='district, "day" desc')) == [5, 2, 4, 3, 1]
    page = query_rows(session, loaded, sort="district", limit=2, offset=2)
    assert ids(page) == [4, 1] and page.total == 5
    assert query_rows(session, loaded, limit=0).records == []
    assert query_rows(session, loaded, include_total=False).total is None


def test_full_text(session, loaded):
    assert ids(query_rows(session, loaded, q="解放碑")) == [1, 3]
    assert ids(query_rows(session, loaded, q="渝中 良")) == [1, 3]
    assert ids(query_rows(session, loaded, q="欧阳")) == [2]
    assert ids(query_rows(session, loaded, q={"station": "虎"})) == [4]
    assert ids(query_rows(session, loaded, q="100%")) == []
    assert query_rows(session, loaded, q="渝中").total == 2


@pytest.mark.parametrize("q, expected", [
    ("解放碑 & 良", [1, 3]),
    ("解放碑 | 虎溪", [1, 3, 4]),
    ("渝中 & !李四", [1]),
    ("!渝中", [2, 4, 5]),
    ("(江北 | 沙坪坝) & !虎溪", [2]),
    ("解:* <-> 良", [1, 3]),
    ("渝中 良", [1, 3]),
])
def test_full_text_as_tsquery(session, loaded, q, expected):
    """``plain=False``: CKAN's ``to_tsquery`` syntax; a row whose text is NULL is not
    matched by a word and so is matched by its negation."""
    assert ids(query_rows(session, loaded, q=q, plain=False)) == expected
    assert query_rows(session, loaded, q=q, plain=False).total == len(expected)
    by_station = query_rows(session, loaded, q={"station": "解放碑 | 虎溪"}, plain=False)
    assert ids(by_station) == [1, 3, 4]


@pytest.mark.parametrize("q", ["渝中 &", "(渝中", "渝中)", "| 良", "渝中 & & 良", "<", "!"])
def test_bad_tsquery_is_a_rule_violation(session, loaded, q):
    with pytest.raises(RuleViolation, match="invalid query"):
        query_rows(session, loaded, q=q, plain=False)


def test_plain_and_tsquery_totals_are_counted_apart(session, loaded):
    assert query_rows(session, loaded, q="渝中 | 江北").total == 0
    assert query_rows(session, loaded, q="渝中 | 江北", plain=False).total == 3


def _deduplicated(records: list[dict]) -> list[dict]:
    seen: list[dict] = []
    for record in records:
        if record not in seen:
            seen.append(record)
    return seen


def test_distinct(session, loaded):
    """Distinct rows in the order the database sorts the same rows without ``distinct``."""
    expected = _deduplicated(query_rows(session, loaded, fields="district",
                                        sort="district").records)
    result = query_rows(session, loaded, fields="district", distinct=True)
    assert len(expected) == 4 and result.records == expected and result.total == 4
    assert result.fields == [next(f for f in query_rows(session, loaded).fields
                                  if f["id"] == "district")]
    both = _deduplicated(query_rows(session, loaded, fields=["district", "station"],
                                    sort="station desc, district").records)
    pairs = query_rows(session, loaded, fields=["district", "station"], distinct=True,
                       sort="station desc", limit=2, offset=1)
    assert len(both) == 4 and pairs.records == both[1:3] and pairs.total == 4
    filtered = query_rows(session, loaded, fields="district", distinct=True,
                          filters={"district": "渝中区"})
    assert filtered.records == [{"district": "渝中区"}] and filtered.total == 1
    assert len(query_rows(session, loaded, distinct=True).records) == 5  # _id: all distinct


def test_distinct_refuses_masked_fields_and_sorts_by_others(session, loaded):
    with pytest.raises(RuleViolation):
        query_rows(session, loaded, fields="name", distinct=True,
                   masks=sensitivities(loaded))
    with pytest.raises(RuleViolation):
        query_rows(session, loaded, fields="district", sort="aqi", distinct=True)


def test_masks(session, loaded):
    result = query_rows(session, loaded, masks=sensitivities(loaded))
    assert [r["name"] for r in result.records[:2]] == ["张*", "欧阳**"]
    assert result.records[0]["phone"] == "138****1234"
    phone = next(f for f in result.fields if f["id"] == "phone")
    assert phone["info"]["masked"] is True and phone["type"] == "text"
    assert ids(query_rows(session, loaded, masks=sensitivities(loaded), q="张")) == []
    with pytest.raises(RuleViolation) as exc:
        query_rows(session, loaded, masks=sensitivities(loaded), filters={"name": "张三"})
    assert exc.value.errors[0]["loc"] == ["filters", "name"]
    with pytest.raises(RuleViolation):
        query_rows(session, loaded, masks=sensitivities(loaded), sort="phone")
    raw = query_rows(session, loaded, masks={"name": "none", "phone": "none"})
    assert raw.records[0]["name"] == "张三"


def test_secret_items_are_dropped_and_others_masked(session, typed, load):
    load(typed, TYPED_ROWS)
    result = query_rows(session, typed, masks=sensitivities(typed))
    assert "note" not in {f["id"] for f in result.fields}
    record = result.records[0]
    assert "note" not in record
    assert record["person_id"] == "110105********002X"
    assert record["code"] == "91350100M000100Y43"  # uscc is public
    assert record["address"] == "重庆市渝中区" and record["card"] == "6222***********0123"
    with pytest.raises(RuleViolation):
        query_rows(session, typed, masks=sensitivities(typed), fields="note")
    assert query_rows(session, typed).records[0]["note"] == "仅内部"


@pytest.mark.parametrize("arguments", [
    {"fields": "nope"}, {"filters": {"nope": 1}}, {"filters": {"aqi": "many"}},
    {"sort": "nope"}, {"sort": "aqi sideways"}, {"q": {"aqi": "1"}}, {"limit": 32001},
    {"offset": -1}, {"filters": {"day": "2024-02-30"}}, {"sort": "aqi; drop table x"},
    {"filters": ["aqi"]}, {"q": 5}, {"fields": 5}, {"records_format": "csv"},
])
def test_bad_requests_are_rule_violations(session, loaded, arguments):
    with pytest.raises(RuleViolation) as exc:
        query_rows(session, loaded, **arguments)
    assert exc.value.code == "datastore_query_invalid"


def test_no_data_yet(session, aq):
    with pytest.raises(NotFound) as exc:
        query_rows(session, aq)
    assert exc.value.code == "data_not_loaded"


def test_full_text_is_literal_and_case_insensitive(session, aq, load):
    rows = [[str(n), "渝中区", station, "2024-05-01", "", "", "", "", "", ""] for n, station in
            enumerate(["Station_A", "station%B", "STATION\\C", "Ωmega", "ωmega"], start=1)]
    load(aq, rows)
    assert ids(query_rows(session, aq, q="station_a")) == [1]
    assert ids(query_rows(session, aq, q="_")) == [1]
    assert ids(query_rows(session, aq, q="%")) == [2]
    assert ids(query_rows(session, aq, q="\\c")) == [3]
    assert ids(query_rows(session, aq, q="STATION")) == [1, 2, 3]


def test_pages_in_id_order_are_id_ranges(session, aq, load):
    rows = [[str(n), "渝中区", "", "2024-05-01", str(n % 7), "", "", "", "", ""]
            for n in range(1, 251)]
    load(aq, rows)
    seen = []
    for offset in range(0, 260, 40):
        page = query_rows(session, aq, limit=40, offset=offset)
        assert page.total == 250
        seen += [r["_id"] for r in page.records]
    assert seen == list(range(1, 251))
    assert ids(query_rows(session, aq, sort="_id desc", limit=3)) == [250, 249, 248]
    assert ids(query_rows(session, aq, sort="_id", limit=2, offset=10)) == [11, 12]
    filtered = query_rows(session, aq, filters={"aqi": 3}, limit=5, offset=5)
    assert ids(filtered) == [38, 45, 52, 59, 66] and filtered.total == 36


def test_masks_on_items_that_are_not_text(session, make_resource, load):
    resource = make_resource([{"name": "id", "title": "编号", "data_type": "I"},
                              {"name": "card", "title": "卡号", "data_type": "I",
                               "sensitivity": "bank_card"}])
    load(resource, [["1", "6222021234567890"]])
    result = query_rows(session, resource, masks=sensitivities(resource))
    assert result.records[0]["card"] == "6222********7890"


@pytest.fixture
def statements(connection):
    """The SQL statements sent on the test's connection."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    yield sent
    event.remove(connection, "before_cursor_execute", record)


def test_totals_from_the_statistics_need_no_scan(session, aq, load, statements):
    load(aq, AQ_ROWS)

    def total(**query) -> int:
        return query_rows(session, aq, **query).total

    assert total(filters={"district": "渝中区"}) == 2
    assert total(filters={"district": ["渝中区", "江北区", "渝中区"]}) == 3
    assert total(filters={"level": None}) == 1 and total(filters={"level": ["良", None]}) == 3
    assert total(q="解放碑") == 2 and total(q="区") == 5 and total(q="river") == 0
    assert total(q={"station": "虎"}) == 1 and total(q="张") == 1
    assert total(q="张", masks=sensitivities(aq)) == 0
    assert not [s for s in statements if "count(" in s.lower()]


def test_other_totals_are_counted_once_per_version_and_condition(session, aq, load,
                                                                  statements):
    load(aq, AQ_ROWS)
    counts = lambda: sum("count(" in s.lower() for s in statements)  # noqa: E731
    assert query_rows(session, aq, filters={"aqi": 52}).total == 1
    assert query_rows(session, aq, filters={"aqi": 52}, sort="aqi", limit=1).total == 1
    assert counts() == 1
    assert query_rows(session, aq, filters={"district": "渝中区"}, q="良").total == 2
    assert query_rows(session, aq, filters={"district": "渝中区"}, q="良").total == 2
    assert query_rows(session, aq, q="渝中 良").total == 2
    assert counts() == 3
    load(aq, AQ_ROWS[:1])  # a new version: counted afresh
    assert query_rows(session, aq, filters={"aqi": 52}).total == 1
    assert query_rows(session, aq, filters={"district": "渝中区"}).total == 1
    assert counts() == 4


def test_versions_without_statistics_are_queried_as_before(session, aq, load):
    version = load(aq, AQ_ROWS)
    session.execute(update(DataVersion).where(DataVersion.id == version.id)
                    .values(column_stats=None))
    session.expire_all()
    assert ids(query_rows(session, aq, q="解放碑")) == [1, 3]
    assert query_rows(session, aq, filters={"district": "渝中区"}).total == 2
    assert query_rows(session, aq, q="river").total == 0


def test_records_come_as_a_list_and_as_json(session, typed, load):
    load(typed, TYPED_ROWS)
    for records_format in ("objects", "lists"):
        result = query_rows(session, typed, records_format=records_format)
        parsed = json.loads(result.records_json)
        assert parsed == result.records and len(parsed) == 2
    record = query_rows(session, typed).records[0]
    assert record["at"] == "2024-05-01T08:30:00+08:00" and record["fee"] == 12.3
    assert record["flag"] is True and record["ratio"] == 0.5
    empty = query_rows(session, typed, limit=0)
    assert empty.records == [] and empty.records_json == b"[]"
    assert query_rows(session, typed, filters={"flag": "否"}, fields="fee").records == [
        {"fee": -3.0}]


TIMES = ["'2024-05-01 08:30:00.000001+08'", "'2024-05-01 08:30:00.1+08'",
         "'10000-01-01 00:00:00+08'", "'0001-01-01 00:00:00+00'", "'1970-01-01 00:00:00+00'"]


@pytest.mark.parametrize(("per_format", "escapes_known"), [(None, True), (4, True),
                                                          (None, False)])
def test_large_pages_put_together_by_format_are_the_same_bytes(
        session, connection, make_resource, load, database_url, monkeypatch, per_format,
        escapes_known):
    """On PostgreSQL pages from ``FORMATTED_ROWS`` rows are put together by ``format`` from
    their values' text: byte for byte the page ``row_to_json`` / ``to_json`` write, for
    every type, NULLs, NaN and infinities, BC and infinite dates and times, datetimes with
    and without microseconds, text that needs escapes and text its load found nothing to
    escape in (or not known), masked or not, sorted or in ``_id`` order; also when the
    session does not write dates as ISO text."""
    postgres_only(database_url)
    from govdata.catalog.datastore import query
    from govdata.catalog.datastore.matching import LruCache

    from .test_export import EDGE_ROWS, load_edge_rows

    if per_format:
        monkeypatch.setattr("govdata.catalog.datastore.export.FORMAT_VALUES", per_format)
    rows = EDGE_ROWS + [("'t\\'", "'t'", "4", "'2.50'", "'0.10'", "'1.5'", "'2024-02-29'", at,
                         "false", "'赵'") for at in TIMES]
    resource, _ = load_edge_rows(session, connection, make_resource, load,
                                 escapes_known=escapes_known, rows=rows)

    original = query._postgres_page

    def page(formatted_rows: int, date_style: str = "ISO, MDY", **request) -> bytes:
        """The page, the session writing dates in ``date_style`` while it is made (psycopg
        reads only ISO datetimes, so not before)."""
        def made_in_style(connection, *arguments, **keywords):
            connection.exec_driver_sql(f"SET LOCAL DateStyle = '{date_style}'")
            return original(connection, *arguments, **keywords)

        monkeypatch.setattr(query, "FORMATTED_ROWS", formatted_rows)
        monkeypatch.setattr(query, "PAGES", LruCache(8))
        monkeypatch.setattr(query, "_postgres_page", made_in_style)
        with connection.begin_nested() as savepoint:
            records = query_rows(session, resource, limit=2000, **request).records_json
            savepoint.rollback()
        return records

    for masks in (None, sensitivities(resource)):
        for records_format in ("objects", "lists"):
            for sort in (None, "count desc"):
                request = dict(masks=masks, records_format=records_format, sort=sort)
                before = page(query.MAX_LIMIT + 1, **request)
                assert len(json.loads(before)) == len(rows) + 1
                assert page(1, **request) == before
                assert page(1, "SQL, DMY", **request) == before
                assert page(1, "German", **request) == before


def test_large_pages_of_whole_seconds_are_the_same_bytes(session, connection, make_resource,
                                                         load, database_url, monkeypatch):
    """A version whose load found every datetime a whole second (``whole_seconds``): pages
    put together by ``format`` show them without testing each value, the bytes of the
    ``to_char`` page and of the page tested value by value (the record not known)."""
    postgres_only(database_url)
    from govdata.catalog.datastore import query
    from govdata.catalog.datastore.matching import LruCache

    from .test_export import TIME_ITEMS, TIME_ROWS, _drop_whole_seconds

    resource = make_resource(TIME_ITEMS[:1])
    load(resource, [row[:1] for row in TIME_ROWS])
    assert query.current_version(session, resource).columns[0]["whole_seconds"] is True

    def page(formatted_rows: int, records_format: str) -> bytes:
        monkeypatch.setattr(query, "FORMATTED_ROWS", formatted_rows)
        monkeypatch.setattr(query, "PAGES", LruCache(8))
        with connection.begin_nested() as savepoint:
            records = query_rows(session, resource, limit=2000,
                                 records_format=records_format).records_json
            savepoint.rollback()
        return records

    original, tested = query._local_time_cast, []

    def local_time_cast(value, *, whole_seconds=False):
        tested.append(not whole_seconds)
        return original(value, whole_seconds=whole_seconds)

    monkeypatch.setattr(query, "_local_time_cast", local_time_cast)
    for records_format in ("objects", "lists"):
        fast = page(1, records_format)
        assert tested.pop() is False
        assert fast == page(query.MAX_LIMIT + 1, records_format)
        assert b'"1988-07-01T08:00:00+08:00"' in fast
        _drop_whole_seconds(session, resource, monkeypatch)
        assert page(1, records_format) == fast
        assert tested.pop() is True
        load(resource, [row[:1] for row in TIME_ROWS])
