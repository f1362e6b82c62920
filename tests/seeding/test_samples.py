"""The sample-data generators: deterministic, streaming, and true to the items they fill."""

from __future__ import annotations

import datetime as dt
import gc
import inspect
import itertools
import re
import tracemalloc
from decimal import Decimal

import pytest

from govdata.platform.identifiers import is_valid_id_number, is_valid_uscc
from govdata.seeding.files import jurisdiction_context, load_seed_files
from govdata.seeding.samples import GENERATORS, LARGE_DATASET, SCALES, aqi_level, sample_size

SEEDS = load_seed_files()
MOBILE = re.compile(r"^1[3-9]\d{9}$")
SAMPLED = [(seed, r) for seed in SEEDS for r in seed["resources"] if r["sample"]]
SAMPLED_IDS = [r["key"] for _, r in SAMPLED]


def digits_before_point(value: float | int) -> int:
    return len(str(abs(int(value)))) if int(value) else 0


def misfit(item: dict, value) -> str | None:
    """Why ``value`` does not fit the data item, or None (RULES.md §2 data types)."""
    if value is None:
        return "missing a required value" if item["required"] else None
    kind, length = item["type"], item.get("length")
    if kind == "C":
        if not isinstance(value, str) or not value:
            return f"not a non-empty string: {value!r}"
        if len(value) > length:
            return f"{len(value)} characters > {length}: {value!r}"
    elif kind in {"I"}:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"not an int: {value!r}"
    elif kind == "F":
        if not isinstance(value, float):
            return f"not a float: {value!r}"
    elif kind in {"N", "Y"}:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"not a number: {value!r}"
        if kind == "Y" and Decimal(str(value)) != Decimal(str(value)).quantize(Decimal("0.01")):
            return f"money with more than two decimals: {value!r}"
        if length and digits_before_point(value) + (2 if kind == "Y" else 0) > length:
            return f"more than {length} digits: {value!r}"
    elif kind == "D":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return f"not YYYY-MM-DD: {value!r}"
        dt.date.fromisoformat(value)
    elif kind == "T":
        if not isinstance(value, str) or dt.datetime.fromisoformat(value).tzinfo is None:
            return f"not an ISO 8601 date-time with an offset: {value!r}"
    elif kind == "L" and not isinstance(value, bool):
        return f"not a bool: {value!r}"
    sensitivity = item["sensitivity"]
    if sensitivity == "uscc" and not is_valid_uscc(value):
        return f"invalid 统一社会信用代码 {value!r}"
    if sensitivity == "id_number" and not is_valid_id_number(value):
        return f"invalid 公民身份号码 {value!r}"
    if sensitivity == "phone" and not MOBILE.match(value):
        return f"not a mobile number {value!r}"
    if sensitivity == "bank_card" and not re.fullmatch(r"\d{16,19}", value):
        return f"not a card number {value!r}"
    return None


def rows_for(seed, resource):
    """As many rows as the small seed loads."""
    generator = GENERATORS[resource["sample"]]
    count = sample_size(generator.name, "small")
    return generator.rows(jurisdiction=jurisdiction_context(seed), count=count, seed=1)


# --- the registry --------------------------------------------------------------------------------

def test_registry_shapes():
    assert len(GENERATORS) >= 10
    for name, generator in GENERATORS.items():
        assert generator.name == name
        assert len(set(generator.columns)) == len(generator.columns), name
        assert 200 <= sample_size(name, "small") <= 2000, name


def test_scales():
    assert set(SCALES) == {"small", "large"}
    assert sample_size(LARGE_DATASET, "large") == 1_000_000
    for name in GENERATORS:
        if name != LARGE_DATASET:
            assert sample_size(name, "large") == sample_size(name, "small")
    with pytest.raises(ValueError, match="scale"):
        sample_size(LARGE_DATASET, "huge")


def test_the_brief_generators_exist():
    wanted = {"air_quality_daily", "enterprise_registration", "bus_routes_stops",
              "weather_observations", "medical_institutions", "schools", "administrative_licensing",
              "population_basic", "legal_person_basic", "credit_records"}
    assert wanted <= set(GENERATORS)


# --- determinism ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_arguments_same_rows(name):
    jurisdiction = jurisdiction_context(SEEDS[0])
    generator = GENERATORS[name]
    first = list(generator.rows(jurisdiction=jurisdiction, count=120, seed=42))
    again = list(generator.rows(jurisdiction=jurisdiction, count=120, seed=42))
    other = list(generator.rows(jurisdiction=jurisdiction, count=120, seed=43))
    assert len(first) == 120
    assert first == again
    assert first != other
    assert all(list(row) == list(generator.columns) for row in first)


def test_jurisdictions_get_their_own_data():
    one, two = (jurisdiction_context(seed) for seed in SEEDS[:2])
    generator = GENERATORS["enterprise_registration"]
    first = next(generator.rows(jurisdiction=one, count=1, seed=1))
    second = next(generator.rows(jurisdiction=two, count=1, seed=1))
    assert first["division_code"][:2] == one["division_code"][:2]
    assert second["division_code"][:2] == two["division_code"][:2]


# --- values fit the items ------------------------------------------------------------------------

@pytest.mark.parametrize(("seed", "resource"), SAMPLED, ids=SAMPLED_IDS)
def test_every_value_fits_its_item(seed, resource):
    items = resource["items"]
    divisions = {d["code"] for d in seed["divisions"]}
    district_names = {d["name"] for d in seed["divisions"]}
    problems = []
    count = 0
    for count, row in enumerate(rows_for(seed, resource), start=1):
        assert list(row) == [item["name"] for item in items]
        for item in items:
            value = row[item["name"]]
            why = misfit(item, value)
            if why:
                problems.append(f"row {count} {item['name']}: {why}")
            if item["name"] == "division_code":
                assert value in divisions, value
            if item["name"] == "district" and value is not None:
                assert value in district_names, value
        if len(problems) > 10:
            break
    assert count == sample_size(resource["sample"], "small")
    assert not problems, "\n".join(problems)


def test_identifiers_are_valid_and_consistent():
    seed = SEEDS[0]
    generator = GENERATORS["population_basic"]
    rows = list(generator.rows(jurisdiction=jurisdiction_context(seed), count=2000, seed=5))
    divisions = {d["code"] for d in seed["divisions"]}
    for row in rows:
        number = row["id_number"]
        assert is_valid_id_number(number), number
        assert number[:6] == row["division_code"] and row["division_code"] in divisions
        assert number[6:14] == row["birth_date"].replace("-", "")
        assert row["gender"] == ("男" if int(number[16]) % 2 else "女")
    assert len({row["id_number"] for row in rows}) == len(rows)
    assert any(len(row["name"]) >= 3 and row["name"][:2] in {"欧阳", "司马", "诸葛", "上官", "东方",
               "皇甫", "令狐", "慕容", "夏侯", "尉迟"} for row in rows), "no 复姓 in 2,000 people"
    assert {row["gender"] for row in rows} == {"男", "女"}


def test_uscc_carry_the_jurisdiction_and_a_valid_check_character():
    for seed in SEEDS:
        generator = GENERATORS["enterprise_registration"]
        rows = generator.rows(jurisdiction=jurisdiction_context(seed), count=300, seed=9)
        for row in rows:
            assert is_valid_uscc(row["uscc"]), row["uscc"]
            assert row["uscc"][2:8] == row["division_code"]
            assert row["uscc"][:2] in {"91", "93"}
            assert row["enterprise_name"].endswith(("公司", "合作社", "商行"))
            assert row["registration_authority"].endswith("工商行政管理局")


def test_air_quality_is_internally_consistent():
    generator = GENERATORS["air_quality_daily"]
    rows = list(generator.rows(jurisdiction=jurisdiction_context(SEEDS[0]), count=720, seed=3))
    for row in rows:
        assert row["level"] == aqi_level(row["aqi"])
        assert (row["primary_pollutant"] is None) == (row["aqi"] <= 50)
        assert row["pm10"] >= row["pm25"]
    assert len({row["level"] for row in rows}) >= 3
    days = [row["day"] for row in rows]
    assert days == sorted(days)


# --- streaming -----------------------------------------------------------------------------------

def test_rows_is_a_lazy_generator():
    generator = GENERATORS[LARGE_DATASET]
    rows = generator.rows(jurisdiction=jurisdiction_context(SEEDS[0]), count=10**9, seed=1)
    assert inspect.isgenerator(rows)
    assert len(list(itertools.islice(rows, 5))) == 5


def traced_peak(rows, n: int) -> int:
    """Peak memory newly allocated while taking ``n`` rows (what the rows leave behind counts)."""
    gc.collect()
    tracemalloc.start()
    try:
        for _ in itertools.islice(rows, n):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_large_dataset_streams_in_constant_memory():
    """200,000 of a million rows, traced at the start (nothing built up front) and after
    160,000 rows (nothing kept): a list of them would need well over 100 MB."""
    count = sample_size(LARGE_DATASET, "large")
    tracemalloc.start()
    try:
        rows = GENERATORS[LARGE_DATASET].rows(jurisdiction=jurisdiction_context(SEEDS[0]),
                                              count=count, seed=1)
        for _ in itertools.islice(rows, 10_000):
            pass
        start_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    for _ in itertools.islice(rows, 150_000):
        pass
    later_peak = traced_peak(rows, 40_000)
    assert start_peak < 2 * 1024 * 1024, f"{start_peak / 1e6:.1f} MB for the first rows"
    assert later_peak < 1024 * 1024, f"{later_peak / 1e6:.1f} MB for rows 160,000–200,000"
    row = next(rows)  # the 200,001st: about five years before the series' end in mid-2018
    assert "2013" <= row["observed_at"] < "2018-07"
