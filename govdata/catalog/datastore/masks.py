"""Desensitisation (脱敏, RULES.md §4), as Python functions and as SQL expressions.

- ``id_number``: keep the first 6 and the last 4 characters (``110105********002X``);
- ``phone``: keep the first 3 and the last 4, from 8 characters up (``138****1234``);
- ``name``: keep the surname (``张*``), a 复姓 when the name has 3 characters or more
  (``欧阳**``);
- ``address``: keep up to the district: the first 区/县/旗 (but not 自治区, 地区, 社区,
  小区, 园区, 景区), else the first 市, else nothing (``***``): ``重庆市渝中区``;
- ``bank_card``: keep the first 4 and the last 4, above 8 characters
  (``6222***********0123``);
- ``uscc``: public, not masked; ``secret``: never published, the item is dropped.

Values too short for their rule are starred out entirely. The SQL forms give exactly the
Python results: on PostgreSQL as plain expressions (so an export can stream
``COPY (SELECT <masked columns> …) TO STDOUT``), on SQLite through a function
``govdata_mask(kind, value)`` registered on the connection that calls the Python rule.
Tests compare the two on both databases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Text, case, cast, func, literal
from sqlalchemy.engine import Connection

COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "钟离", "闾丘", "澹台", "公冶", "太史", "申屠", "端木", "赫连", "呼延",
    "南宫", "西门", "独孤", "拓跋", "百里", "东郭", "万俟", "司空", "濮阳", "淳于", "单于", "仲孙",
    "鲜于", "宗政", "左丘", "亓官", "司寇", "子车", "颛孙", "壤驷", "公良", "漆雕", "乐正", "谷梁",
    "第五", "梁丘", "公西", "巫马", "羊舌", "微生", "东门", "公羊", "段干", "太叔", "呼延", "北堂",
)
COUNTY_PATTERN = "^.*?(?:[^治地社小园景]区|县|旗)"
CITY_PATTERN = "^.*?市"
ADDRESS_HIDDEN = "***"
MASKED = frozenset({"id_number", "phone", "name", "address", "bank_card"})
DROPPED = frozenset({"secret"})
UNMASKED = frozenset({"none", "uscc"})
SQLITE_FUNCTION = "govdata_mask"

_county = re.compile(COUNTY_PATTERN)
_city = re.compile(CITY_PATTERN)
_compound = frozenset(COMPOUND_SURNAMES)


def _stars(count: int) -> str:
    return "*" * max(count, 0)


def mask_id_number(value: str) -> str:
    n = len(value)
    return value[:6] + _stars(n - 10) + value[-4:] if n > 10 else _stars(n)


def mask_phone(value: str) -> str:
    n = len(value)
    return value[:3] + _stars(n - 7) + value[-4:] if n >= 8 else _stars(n)


def mask_bank_card(value: str) -> str:
    n = len(value)
    return value[:4] + _stars(n - 8) + value[-4:] if n > 8 else _stars(n)


def mask_name(value: str) -> str:
    n = len(value)
    keep = 2 if n >= 3 and value[:2] in _compound else 1
    return value[:keep] + _stars(n - keep)


def mask_address(value: str) -> str:
    match = _county.match(value) or _city.match(value)
    return match.group(0) if match else ADDRESS_HIDDEN


MASKS: dict[str, Callable[[str], str]] = {
    "id_number": mask_id_number, "phone": mask_phone, "name": mask_name,
    "address": mask_address, "bank_card": mask_bank_card,
}


def is_dropped(sensitivity: str | None) -> bool:
    return sensitivity in DROPPED


def is_masked(sensitivity: str | None) -> bool:
    return sensitivity in MASKED


def mask(sensitivity: str | None, value: Any) -> Any:
    """A value as a public path shows it (``None`` for a dropped item)."""
    if value is None or sensitivity in DROPPED:
        return None
    rule = MASKS.get(sensitivity or "none")
    return rule(str(value)) if rule else value


# --- SQL -------------------------------------------------------------------------------

def sql_mask(sensitivity: str, value: ColumnElement, dialect: str) -> ColumnElement:
    """The masked value as a SQL expression (the column itself if not masked)."""
    if sensitivity not in MASKED:
        return value
    if dialect != "postgresql":
        return getattr(func, SQLITE_FUNCTION)(literal(sensitivity), value)
    value = cast(value, Text())  # a masked number or date is masked as its text
    n = func.char_length(value)

    def stars(count):
        return func.repeat(literal("*"), count, type_=Text())

    def left(count):
        return func.left(value, count, type_=Text())

    def right(count):
        return func.right(value, count, type_=Text())

    if sensitivity == "id_number":
        return case((n > 10, left(6) + stars(n - 10) + right(4)),
                    else_=stars(n))
    if sensitivity == "phone":
        return case((n >= 8, left(3) + stars(n - 7) + right(4)),
                    else_=stars(n))
    if sensitivity == "bank_card":
        return case((n > 8, left(4) + stars(n - 8) + right(4)),
                    else_=stars(n))
    if sensitivity == "name":
        compound = (n >= 3) & left(2).in_(COMPOUND_SURNAMES)
        return case((compound, left(2) + stars(n - 2)), else_=left(1) + stars(n - 1))
    # address
    return case((value.is_(None), None),
                else_=func.coalesce(func.substring(value, literal(COUNTY_PATTERN), type_=Text()),
                                    func.substring(value, literal(CITY_PATTERN), type_=Text()),
                                    literal(ADDRESS_HIDDEN), type_=Text()))


def _sqlite_mask(sensitivity: str, value: Any) -> Any:
    return mask(sensitivity, value)


def register_sqlite_functions(connection: Connection) -> None:
    """Make ``govdata_mask`` available on this SQLite connection (idempotent)."""
    if connection.dialect.name != "sqlite":
        return
    pooled = connection.connection  # its ``info`` lives as long as the DBAPI connection
    if pooled.info.get(SQLITE_FUNCTION):
        return
    pooled.driver_connection.create_function(SQLITE_FUNCTION, 2, _sqlite_mask,
                                             deterministic=True)
    pooled.info[SQLITE_FUNCTION] = True
