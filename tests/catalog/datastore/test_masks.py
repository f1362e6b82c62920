"""Desensitisation rules (RULES.md §4), in Python and in SQL, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import String, literal, select

from govdata.catalog.datastore import masks
from govdata.catalog.datastore.masks import (
    mask,
    mask_address,
    mask_bank_card,
    mask_id_number,
    mask_name,
    mask_phone,
    register_sqlite_functions,
    sql_mask,
)


def test_rules_examples():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_bank_card("6222021234567890123") == "6222***********0123"


@pytest.mark.parametrize(("name", "masked"), [
    ("张三丰", "张**"), ("司马光", "司马*"), ("诸葛亮", "诸葛*"), ("欧阳", "欧*"),
    ("王", "王"), ("", ""), ("John Smith", "J*********"),
])
def test_names_keep_the_surname(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(("address", "kept"), [
    ("重庆市渝中区解放碑街道88号", "重庆市渝中区"),
    ("北京市朝阳区建国路88号", "北京市朝阳区"),
    ("四川省成都市武侯区人民南路四段1号", "四川省成都市武侯区"),
    ("上海市浦东新区张江镇科苑路88号", "上海市浦东新区"),
    ("内蒙古自治区呼和浩特市新城区中山路1号", "内蒙古自治区呼和浩特市新城区"),
    ("西藏自治区阿里地区噶尔县狮泉河镇", "西藏自治区阿里地区噶尔县"),
    ("云南省红河哈尼族彝族自治州屏边苗族自治县玉屏镇", "云南省红河哈尼族彝族自治州屏边苗族自治县"),
    ("内蒙古自治区呼伦贝尔市鄂温克族自治旗巴彦托海镇", "内蒙古自治区呼伦贝尔市鄂温克族自治旗"),
    ("广东省东莞市长安镇乌沙社区8号", "广东省东莞市"),
    ("湖北省仙桃市干河街道", "湖北省仙桃市"),
    ("解放碑步行街88号", "***"),
])
def test_addresses_are_cut_after_the_district(address, kept):
    assert mask_address(address) == kept


def test_short_values_are_starred_out_and_public_kinds_untouched():
    assert mask_phone("1234567") == "*******"
    assert mask_phone("023-6388 1234") == "023******1234"
    assert mask_id_number("1234567890") == "**********"
    assert mask_bank_card("12345678") == "********"
    assert mask("uscc", "91350100M000100Y43") == "91350100M000100Y43"
    assert mask("none", 42) == 42
    assert mask("secret", "机密") is None
    assert mask("name", None) is None


SAMPLES = {
    "id_number": ["11010519491231002X", "440524188001010014", "123", "", None],
    "phone": ["13812341234", "023-6388 1234", "1234567", "12345678", None],
    "name": ["张三", "欧阳娜娜", "司马光", "欧阳", "王", "", "John Smith", None],
    "address": ["重庆市渝中区解放碑街道88号", "西藏自治区阿里地区噶尔县狮泉河镇",
                "广东省东莞市长安镇乌沙社区8号", "新疆维吾尔自治区石河子市北泉镇",
                "深圳市南山区科技园区1号", "解放碑步行街88号", "", None],
    "bank_card": ["6222021234567890123", "12345678", "123456789", None],
}


@pytest.mark.parametrize("sensitivity", sorted(SAMPLES))
def test_sql_masks_give_the_python_results(session, dialect, sensitivity):
    connection = session.connection()
    register_sqlite_functions(connection)
    for value in SAMPLES[sensitivity]:
        expression = sql_mask(sensitivity, literal(value, String()), dialect)
        got = connection.execute(select(expression)).scalar_one()
        assert got == mask(sensitivity, value), (sensitivity, value)


def test_unmasked_kinds_are_the_column_itself(dialect):
    column = literal("x", String())
    assert sql_mask("uscc", column, dialect) is column
    assert sql_mask("none", column, dialect) is column
    assert masks.is_dropped("secret") and not masks.is_masked("uscc")
