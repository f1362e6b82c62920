"""The catalog entry rules of RULES.md §2 and §4, as one check over a resource's fields.

The HTTP API, the catalog import and the seed loader all reach these through the service,
so a resource is judged the same way whichever door it comes in by. ``check`` returns every
problem at once (``{"loc", "msg", "code"}``); the service raises them as one RuleViolation.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from govdata.catalog import codes
from govdata.catalog.models import ResourceClass, Sensitivity, ShareType
from govdata.catalog.vocab import (
    BASIC_KINDS,
    DATA_TYPES,
    FORMAT_CATEGORIES,
    OPEN_TYPES,
    RESOURCE_CLASSES,
    SENSITIVITIES,
    SHARE_METHODS,
    SHARE_TYPES,
    THEMES,
    UPDATE_CYCLES,
)
from govdata.platform.errors import RuleViolation
from govdata.platform.settings import Settings
from govdata.platform.strictjson import unsafe_text

Problem = dict[str, Any]

RESOURCE_FIELDS = (
    "name", "summary", "classification", "resource_class", "basic_kind", "theme",
    "category_path", "format_category", "format", "share_type", "share_condition",
    "share_method", "legal_basis", "open_type", "open_condition", "update_cycle",
    "published_on", "related_codes", "tags",
)
ITEM_FIELDS = ("name", "title", "data_type", "length", "required", "is_basic", "sensitivity",
               "share_type", "open_type")
TEXT_FIELDS = {"name", "summary", "classification", "resource_class", "basic_kind", "theme",
               "category_path", "format_category", "format", "share_type", "share_condition",
               "share_method", "legal_basis", "open_type", "open_condition", "update_cycle"}
REQUIRED = ("name", "summary", "classification", "resource_class", "format_category", "format",
            "share_type", "share_method", "open_type", "update_cycle")
# The most characters each text field holds: the guide's metadata lengths where it gives
# them (name, summary, conditions, legal basis); vocabulary and code fields are short.
MAX_LENGTH = {"name": 200, "summary": 4000, "classification": 32, "resource_class": 32,
              "basic_kind": 32, "theme": 32, "category_path": 200, "format_category": 32,
              "format": 20, "share_type": 32, "share_condition": 1000, "share_method": 32,
              "legal_basis": 1000, "open_type": 32, "open_condition": 1000, "update_cycle": 32}
MAX_RELATED = 100
ITEM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
FORMAT = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,19}$")
MAX_TAGS, MAX_TAG_LENGTH, MAX_ITEM_LENGTH = 30, 50, 1_000_000
ITEM_DEFAULTS = {"length": None, "required": False, "is_basic": False,
                 "sensitivity": Sensitivity.none.value, "share_type": None, "open_type": None}

# The rule a field's problem is reported under when it is the only one broken.
GENERIC_CODE = "resource_invalid"


def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def normalize(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Strip text, turn blank text into ``None``, fill item defaults, lower the format."""
    out = {key: (_text(value) if key in TEXT_FIELDS else value) for key, value in fields.items()}
    if isinstance(out.get("format"), str):
        out["format"] = out["format"].lower()
    for key in ("related_codes", "tags"):
        if key in out:
            values = out[key] or []
            if isinstance(values, list | tuple):
                out[key] = [v.strip() if isinstance(v, str) else v for v in values
                            if not (isinstance(v, str) and not v.strip())]
    if "items" in out:
        out["items"] = [normalize_item(item) for item in out["items"] or []]
    return out


def normalize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = {**ITEM_DEFAULTS, **{k: _text(v) if isinstance(v, str) else v
                                   for k, v in item.items()}}
    if cleaned.get("sensitivity") is None:
        cleaned["sensitivity"] = Sensitivity.none.value
    return cleaned


class _Problems:
    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, loc: Sequence[str | int], msg: str, code: str) -> None:
        self.items.append({"loc": list(loc), "msg": msg, "code": code})


def check(fields: Mapping[str, Any], settings: Settings) -> list[Problem]:
    """Every problem of a normalised resource (``RESOURCE_FIELDS`` plus ``items``)."""
    p = _Problems()
    _check_required_and_shapes(fields, p)
    _check_class(fields, p)
    _check_share_and_open(fields, settings, p)
    _check_items(fields, p)
    return p.items


def raise_if_any(problems: list[Problem], detail: str = "信息资源不符合编目规则") -> None:
    if problems:
        raise RuleViolation(detail, code=rule_code(problems), errors=problems)


def rule_code(problems: Iterable[Problem]) -> str:
    found = {problem["code"] for problem in problems}
    return found.pop() if len(found) == 1 else GENERIC_CODE


def _choice(fields: Mapping[str, Any], key: str, allowed: Iterable[str], label: str,
            p: _Problems, loc: Sequence[str | int] | None = None) -> None:
    value = fields.get(key)
    allowed = [str(a) for a in allowed]
    if value is not None and value not in allowed:
        p.add(loc or [key], f"{label}必须是以下之一: {'、'.join(allowed)} (收到 {value!r})",
              "value_not_allowed")


def _check_required_and_shapes(fields: Mapping[str, Any], p: _Problems) -> None:
    for key in REQUIRED:
        if fields.get(key) is None:
            p.add([key], f"{key} 为必填项", "field_required")
    for key in TEXT_FIELDS:
        value = fields.get(key)
        if value is not None and not isinstance(value, str):
            p.add([key], f"{key} 必须是文本", "value_invalid")
        elif isinstance(value, str) and len(value) > MAX_LENGTH[key]:
            p.add([key], f"{key} 不能超过 {MAX_LENGTH[key]} 个字符", "value_too_long")
        elif isinstance(value, str):
            _check_text(value, [key], p)
    fmt = fields.get("format")
    if isinstance(fmt, str) and not FORMAT.match(fmt):
        p.add(["format"], f"格式应为文件格式名, 如 csv、xlsx、json (收到 {fmt!r})", "value_invalid")
    _choice(fields, "resource_class", RESOURCE_CLASSES, "资源类别", p)
    _choice(fields, "format_category", FORMAT_CATEGORIES, "信息资源格式", p)
    _choice(fields, "update_cycle", UPDATE_CYCLES, "更新周期", p)
    _choice(fields, "share_method", SHARE_METHODS, "共享方式", p)
    _choice(fields, "share_type", SHARE_TYPES, "共享类型", p)
    _choice(fields, "open_type", OPEN_TYPES, "开放类型", p)
    published_on = fields.get("published_on")
    if published_on is not None and not isinstance(published_on, dt.date):
        p.add(["published_on"], "发布日期必须是日期 (YYYY-MM-DD)", "value_invalid")
    related = fields.get("related_codes") or []
    if not isinstance(related, list) or len(related) > MAX_RELATED:
        p.add(["related_codes"], f"关联资源代码必须是不超过 {MAX_RELATED} 个的列表",
              "value_invalid")
    else:
        for index, code in enumerate(related):
            if not isinstance(code, str) or codes.parse_code(code) is None:
                p.add(["related_codes", index], f"关联资源代码格式不正确: {code!r}",
                      "related_code_invalid")
    tags = fields.get("tags") or []
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        p.add(["tags"], f"标签必须是不超过 {MAX_TAGS} 个的列表", "value_invalid")
    else:
        for index, tag in enumerate(tags):
            if not isinstance(tag, str) or len(tag) > MAX_TAG_LENGTH:
                p.add(["tags", index], f"每个标签是不超过 {MAX_TAG_LENGTH} 个字符的文本",
                      "value_invalid")
            else:
                _check_text(tag, ["tags", index], p)


def _check_text(value: str, loc: Sequence[str | int], p: _Problems) -> None:
    """Text a database can store and a reader can see: no NUL, control characters or
    lone surrogates (PostgreSQL refuses NUL, SQLite would store it)."""
    problem = unsafe_text(value)
    if problem:
        p.add(loc, f"{loc[0]} {problem}", "value_invalid")


def _check_class(fields: Mapping[str, Any], p: _Problems) -> None:
    resource_class = fields.get("resource_class")
    classification = fields.get("classification")
    if isinstance(classification, str):
        problem = codes.classification_problem(classification, resource_class)
        if problem:
            p.add(["classification"], problem, "classification_invalid")
    basic_kind = fields.get("basic_kind")
    if resource_class == ResourceClass.basic:
        if basic_kind is None:
            p.add(["basic_kind"], f"基础信息资源须注明类型: {'、'.join(BASIC_KINDS)}",
                  "basic_kind_required")
        else:
            _choice(fields, "basic_kind", BASIC_KINDS, "基础信息资源类型", p)
    elif basic_kind is not None:
        p.add(["basic_kind"], "只有基础信息资源才有基础信息资源类型", "value_not_allowed")
    theme = fields.get("theme")
    if resource_class == ResourceClass.theme and theme is None:
        p.add(["theme"], f"主题信息资源须注明主题: {'、'.join(THEMES)}", "theme_required")
    _choice(fields, "theme", THEMES, "主题", p)


def _check_share_and_open(fields: Mapping[str, Any], settings: Settings, p: _Problems) -> None:
    share_type = fields.get("share_type")
    if share_type == ShareType.none and fields.get("legal_basis") is None:
        p.add(["legal_basis"], "不予共享的信息资源必须注明法律、行政法规或政策依据",
              "legal_basis_required")
    if share_type == ShareType.conditional:
        if fields.get("share_condition") is None:
            p.add(["share_condition"], "有条件共享的信息资源必须注明共享条件",
                  "share_condition_required")
        if settings.conditional_share_needs_legal_basis and fields.get("legal_basis") is None:
            p.add(["legal_basis"], "按本地规定, 有条件共享的信息资源也须注明依据",
                  "legal_basis_required")
    if fields.get("open_type") == "conditional" and fields.get("open_condition") is None:
        p.add(["open_condition"], "有条件开放的信息资源必须公布开放条件", "open_condition_required")
    if (fields.get("resource_class") == ResourceClass.basic
            and share_type not in (None, ShareType.unconditional)):
        p.add(["share_type"], "基础信息资源必须无条件共享", "basic_resource_must_be_unconditional")


def _check_items(fields: Mapping[str, Any], p: _Problems) -> None:
    items = fields.get("items") or []
    if not items:
        p.add(["items"], "信息资源至少要有一个信息项", "items_required")
        return
    basic = fields.get("resource_class") == ResourceClass.basic
    seen: set[str] = set()
    for index, item in enumerate(items):
        loc = ["items", index]
        name = item.get("name")
        if not isinstance(name, str) or not ITEM_NAME.match(name):
            p.add([*loc, "name"], "信息项名称须为小写字母开头的字母、数字、下划线, 至多 63 个字符 "
                  f"(收到 {name!r})", "item_name_invalid")
        elif name in seen:
            p.add([*loc, "name"], f"信息项名称重复: {name}", "item_name_duplicate")
        else:
            seen.add(name)
        title = item.get("title")
        if not isinstance(title, str) or not title:
            p.add([*loc, "title"], "信息项中文名称为必填项", "field_required")
        elif len(title) > 100:
            p.add([*loc, "title"], "信息项中文名称不能超过 100 个字符", "value_too_long")
        else:
            _check_text(title, [*loc, "title"], p)
        data_type = item.get("data_type")
        if data_type not in DATA_TYPES:
            choices = "、".join(f"{k}({v})" for k, v in DATA_TYPES.items())
            p.add([*loc, "data_type"], f"数据类型必须是以下之一: {choices} (收到 {data_type!r})",
                  "value_not_allowed")
        length = item.get("length")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int)
                                   or not 0 < length <= MAX_ITEM_LENGTH):
            p.add([*loc, "length"], f"数据长度须为 1–{MAX_ITEM_LENGTH} 的整数", "value_invalid")
        for flag in ("required", "is_basic"):
            if not isinstance(item.get(flag), bool):
                p.add([*loc, flag], f"{flag} 必须是布尔值", "value_invalid")
        _choice(item, "sensitivity", SENSITIVITIES, "敏感类别", p, [*loc, "sensitivity"])
        _choice(item, "share_type", SHARE_TYPES, "共享类型", p, [*loc, "share_type"])
        _choice(item, "open_type", OPEN_TYPES, "开放类型", p, [*loc, "open_type"])
        _check_item_rules(fields, item, loc, basic, p)


def _check_item_rules(fields: Mapping[str, Any], item: Mapping[str, Any],
                      loc: list[str | int], basic: bool, p: _Problems) -> None:
    share_type = item.get("share_type")
    if share_type == ShareType.none and fields.get("legal_basis") is None:
        p.add([*loc, "share_type"], "信息项不予共享, 资源须注明不予共享的依据",
              "legal_basis_required")
    if share_type == ShareType.conditional and fields.get("share_condition") is None:
        p.add([*loc, "share_type"], "信息项有条件共享, 资源须注明共享条件",
              "share_condition_required")
    if basic and item.get("is_basic") and share_type not in (None, ShareType.unconditional):
        p.add([*loc, "share_type"], "基础信息资源的基础信息项必须无条件共享",
              "basic_resource_must_be_unconditional")
    elif basic and share_type == ShareType.none:
        p.add([*loc, "share_type"], "基础信息资源的业务信息项至多为有条件共享",
              "basic_resource_must_be_unconditional")
    if (item.get("sensitivity") == Sensitivity.secret
            and item.get("open_type") not in (None, "none")):
        p.add([*loc, "open_type"], "涉密信息项不得开放", "secret_item_cannot_open")
