"""Form errors shown next to their fields, in Chinese.

A service refuses with a ``DomainError`` whose ``errors`` carry a ``loc`` (``["name"]``,
``["items", 0, "title"]``); a page parses its form with a Pydantic model. Both become one
mapping field → message that the ``web/forms.html`` macros place beside each input.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from govdata.platform.errors import DomainError

GENERAL = ""  # the key of an error that belongs to no one field

MESSAGES = {
    "missing": "此项为必填项",
    "string_too_short": "此项不能为空",
    "string_too_long": "内容过长",
    "int_parsing": "必须是整数",
    "int_from_float": "必须是整数",
    "float_parsing": "必须是数字",
    "bool_parsing": "必须是“是”或“否”",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式应为 YYYY-MM-DD HH:MM",
    "datetime_from_date_parsing": "时间格式应为 YYYY-MM-DD HH:MM",
    "enum": "请从列表中选择",
    "literal_error": "请从列表中选择",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "too_short": "至少选择一项",
    "value_error": "取值无效",
}


def field_key(loc: Any) -> str:
    parts = [str(part) for part in (loc or []) if part not in ("body", "query", "form")]
    return ".".join(parts)


class FormErrors(dict):
    """field key → message; ``general`` holds what no field owns."""

    @property
    def general(self) -> list[str]:
        value = self.get(GENERAL)
        return [value] if value else []

    def add(self, key: str, message: str) -> None:
        self[key] = f"{self[key]}; {message}" if key in self else message


def form_errors(exc: DomainError | ValidationError) -> FormErrors:
    errors = FormErrors()
    if isinstance(exc, ValidationError):
        for error in exc.errors():
            message = MESSAGES.get(error["type"], error.get("msg", "取值无效"))
            errors.add(field_key(error.get("loc")), message)
        return errors
    for error in exc.errors or []:
        errors.add(field_key(error.get("loc")), str(error.get("msg", exc.detail)))
    if not exc.errors:
        errors.add(GENERAL, exc.detail)
    return errors
