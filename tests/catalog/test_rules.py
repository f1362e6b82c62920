"""The catalog entry rules (RULES.md §2 and §4) one by one, through the door every writer
uses (``service.check_fields``: normalise, then ``rules.check``): each broken rule is
reported at its field with its code, all of them at once, and nothing else is. Pure
functions, no database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from govdata.catalog import rules
from govdata.catalog import service as catalog_service
from govdata.platform.errors import RuleViolation
from govdata.platform.settings import Settings
from tests.catalog import basic_fields, fields, item

SETTINGS = Settings()
LEGAL = "《中华人民共和国保守国家秘密法》第九条"


def broken(resource: dict[str, Any], settings: Settings = SETTINGS) -> set[tuple]:
    """``(loc, code)`` of every problem; each also says what is wrong, in words."""
    _, problems = catalog_service.check_fields(resource, settings)
    assert all(isinstance(p["msg"], str) and p["msg"].strip() for p in problems), problems
    return {(tuple(p["loc"]), p["code"]) for p in problems}


def with_item(**overrides: Any) -> dict[str, Any]:
    return fields(items=[item(**overrides)])


@pytest.mark.parametrize("resource", [
    fields(), basic_fields(), fields(resource_class="theme", classification="201001",
                                     theme="社会保障"),
    fields(share_type="none", legal_basis=LEGAL),
    fields(share_type="conditional", share_condition="仅限审批使用"),
    fields(open_type="conditional", open_condition="实名申请"),
    fields(format=" CSV ", name=" 前后有空格的名称 ", published_on=dt.date(2026, 1, 1)),
    fields(name="名" * 200, summary="要" * 4000, tags=["标" * 50] * 30,
           related_codes=["101001/000001"] * 100),
    fields(tags=["  ", "空气"], related_codes=[" 101001/000001 ", ""]),
    with_item(length=1), with_item(length=rules.MAX_ITEM_LENGTH), with_item(title="题" * 100),
    with_item(sensitivity="secret", open_type="none"),
    with_item(share_type="none", sensitivity="id_number"),
], ids=lambda r: r["name"][:12])
def test_a_valid_resource_breaks_no_rule(resource):
    if any(i.get("share_type") == "none" for i in resource["items"]):
        resource["legal_basis"] = LEGAL
    assert broken(resource) == set()


@pytest.mark.parametrize("key", rules.REQUIRED)
def test_every_required_field(key):
    """Blank, or missing unless it has a default (open_type: 不予开放); a blank
    classification or class is then not judged further."""
    missing = {k: v for k, v in fields().items() if k != key}
    expected = {((key,), "field_required")}
    assert broken(fields(**{key: "   "})) == expected
    assert broken(missing) == (set() if key in catalog_service.RESOURCE_DEFAULTS else expected)


@pytest.mark.parametrize(("key", "limit"), sorted(rules.MAX_LENGTH.items()))
def test_text_fields_are_text_of_their_length(key, limit):
    assert ((key,), "value_invalid") in broken(fields(**{key: 5}))
    assert ((key,), "value_too_long") in broken(fields(**{key: "a" * (limit + 1)}))
    assert ((key,), "value_invalid") in broken(fields(**{key: "a\x00b"}))
    assert ((key,), "value_too_long") not in broken(fields(**{key: "a" * limit}))


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"format": "c s v"}, {(("format",), "value_invalid")}),
    ({"format": "x" * 21}, {(("format",), "value_too_long"), (("format",), "value_invalid")}),
    ({"resource_class": "private"}, {(("resource_class",), "value_not_allowed")}),
    ({"format_category": "纸质"}, {(("format_category",), "value_not_allowed")}),
    ({"update_cycle": "每小时"}, {(("update_cycle",), "value_not_allowed")}),
    ({"share_method": "传真"}, {(("share_method",), "value_not_allowed")}),
    ({"share_type": "sometimes"}, {(("share_type",), "value_not_allowed")}),
    ({"open_type": "sometimes"}, {(("open_type",), "value_not_allowed")}),
    ({"published_on": "2026-01-01"}, {(("published_on",), "value_invalid")}),
    ({"related_codes": "101001/000001"}, {(("related_codes",), "value_invalid")}),
    ({"related_codes": ["101001/000001"] * 101}, {(("related_codes",), "value_invalid")}),
    ({"related_codes": ["101001/000001", "不是代码", 7]},
     {(("related_codes", 1), "related_code_invalid"),
      (("related_codes", 2), "related_code_invalid")}),
    ({"tags": "空气"}, {(("tags",), "value_invalid")}),
    ({"tags": ["标"] * 31}, {(("tags",), "value_invalid")}),
    ({"tags": ["空气", "标" * 51, 3, "a\x07b"]},
     {(("tags", 1), "value_invalid"), (("tags", 2), "value_invalid"),
      (("tags", 3), "value_invalid")}),
])
def test_shapes_and_vocabularies(overrides, expected):
    assert broken(fields(**overrides)) == expected


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"classification": "999"}, {(("classification",), "classification_invalid")}),
    ({"classification": "101001"}, {(("classification",), "classification_invalid")}),
    ({"resource_class": "basic", "classification": "101001", "basic_kind": None,
      "items": basic_fields()["items"]}, {(("basic_kind",), "basic_kind_required")}),
    ({"resource_class": "basic", "classification": "101001", "basic_kind": "宠物",
      "items": basic_fields()["items"]}, {(("basic_kind",), "value_not_allowed")}),
    ({"basic_kind": "人口"}, {(("basic_kind",), "value_not_allowed")}),
    ({"resource_class": "theme", "classification": "201001"}, {(("theme",), "theme_required")}),
    ({"theme": "娱乐"}, {(("theme",), "value_not_allowed")}),
])
def test_class_kind_and_theme(overrides, expected):
    assert broken(fields(**overrides)) == expected


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"share_type": "none"}, {(("legal_basis",), "legal_basis_required")}),
    ({"share_type": "conditional"}, {(("share_condition",), "share_condition_required")}),
    ({"open_type": "conditional"}, {(("open_condition",), "open_condition_required")}),
    ({"share_type": "none", "share_condition": "条件"},
     {(("legal_basis",), "legal_basis_required")}),
])
def test_share_and_open_conditions(overrides, expected):
    assert broken(fields(**overrides)) == expected


def test_basic_resources_are_shared_unconditionally():
    for share_type, extra in (("conditional", {"share_condition": "条件"}),
                              ("none", {"legal_basis": LEGAL})):
        assert broken(basic_fields(share_type=share_type, **extra)) == {
            (("share_type",), "basic_resource_must_be_unconditional")}


def test_a_local_rule_asks_a_legal_basis_for_conditional_sharing_too():
    strict = Settings(conditional_share_needs_legal_basis=True)
    conditional = fields(share_type="conditional", share_condition="仅限审批使用")
    assert broken(conditional, strict) == {(("legal_basis",), "legal_basis_required")}
    assert broken({**conditional, "legal_basis": LEGAL}, strict) == set()
    assert broken(conditional) == set()
    assert broken(fields(share_type="none", legal_basis=LEGAL), strict) == set()


@pytest.mark.parametrize(("items", "expected"), [
    ([], {(("items",), "items_required")}),
    ([item("Station")], {(("items", 0, "name"), "item_name_invalid")}),
    ([item("a" * 64)], {(("items", 0, "name"), "item_name_invalid")}),
    ([item(7)], {(("items", 0, "name"), "item_name_invalid")}),
    ([item("station"), item("station")], {(("items", 1, "name"), "item_name_duplicate")}),
    ([item(title="")], {(("items", 0, "title"), "field_required")}),
    ([item(title=None)], {(("items", 0, "title"), "field_required")}),
    ([item(title="题" * 101)], {(("items", 0, "title"), "value_too_long")}),
    ([item(title="a\x1bb")], {(("items", 0, "title"), "value_invalid")}),
    ([item(data_type="X")], {(("items", 0, "data_type"), "value_not_allowed")}),
    ([item(length=0)], {(("items", 0, "length"), "value_invalid")}),
    ([item(length=rules.MAX_ITEM_LENGTH + 1)], {(("items", 0, "length"), "value_invalid")}),
    ([item(length=True)], {(("items", 0, "length"), "value_invalid")}),
    ([item(length="50")], {(("items", 0, "length"), "value_invalid")}),
    ([item(required="yes")], {(("items", 0, "required"), "value_invalid")}),
    ([item(is_basic=1)], {(("items", 0, "is_basic"), "value_invalid")}),
    ([item(sensitivity="hidden")], {(("items", 0, "sensitivity"), "value_not_allowed")}),
    ([item(share_type="sometimes")], {(("items", 0, "share_type"), "value_not_allowed")}),
    ([item(open_type="sometimes")], {(("items", 0, "open_type"), "value_not_allowed")}),
    ([item("a"), item("b", share_type="none")],
     {(("items", 1, "share_type"), "legal_basis_required")}),
    ([item(share_type="conditional")], {(("items", 0, "share_type"), "share_condition_required")}),
    ([item(sensitivity="secret", open_type="unconditional")],
     {(("items", 0, "open_type"), "secret_item_cannot_open")}),
])
def test_data_items(items, expected):
    assert broken(fields(items=items)) == expected


def test_basic_items_of_a_basic_resource_are_shared_unconditionally():
    uscc = item("uscc", "统一社会信用代码", is_basic=True, length=18, sensitivity="uscc")
    note = item("licence_note", "许可备注")
    conditional = {**uscc, "share_type": "conditional"}
    assert broken(basic_fields(items=[conditional, note], share_condition="条件")) == {
        (("items", 0, "share_type"), "basic_resource_must_be_unconditional")}
    # its other items may be conditional, never 不予共享
    assert broken(basic_fields(items=[uscc, {**note, "share_type": "conditional"}],
                               share_condition="条件")) == set()
    assert broken(basic_fields(items=[uscc, {**note, "share_type": "none"}],
                               legal_basis=LEGAL)) == {
        (("items", 1, "share_type"), "basic_resource_must_be_unconditional")}
    # the same items on a department resource are fine
    assert broken(fields(items=[conditional, {**note, "share_type": "none"}],
                         share_condition="条件", legal_basis=LEGAL)) == set()


def test_every_problem_at_once_under_one_code_or_the_generic_one():
    resource = fields(share_type="conditional", open_type="conditional", items=[])
    assert broken(resource) == {(("share_condition",), "share_condition_required"),
                                (("open_condition",), "open_condition_required"),
                                (("items",), "items_required")}
    _, problems = catalog_service.check_fields(resource, SETTINGS)
    with pytest.raises(RuleViolation) as several:
        rules.raise_if_any(problems)
    assert several.value.code == "resource_invalid" and several.value.errors == problems
    assert several.value.detail == "信息资源不符合编目规则"
    _, one = catalog_service.check_fields(fields(items=[]), SETTINGS)
    with pytest.raises(RuleViolation) as single:
        rules.raise_if_any(one, "导入的第 3 行不符合编目规则")
    assert single.value.code == "items_required"
    assert single.value.detail == "导入的第 3 行不符合编目规则"
    rules.raise_if_any([])  # nothing to raise


def test_normalised_items_have_their_defaults():
    data, _ = catalog_service.check_fields(fields(items=[
        {"name": "station", "title": "  监测站点 ", "data_type": "C", "sensitivity": None}]),
        SETTINGS)
    assert data["items"] == [{"name": "station", "title": "监测站点", "data_type": "C",
                              "length": None, "required": False, "is_basic": False,
                              "sensitivity": "none", "share_type": None, "open_type": None}]
