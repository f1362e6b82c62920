"""The one JSON loader for request bodies: duplicate keys, lone surrogates and control
characters are refused instead of silently taken.

``json.loads`` keeps the last of two equal keys (``{"roles": ["requester"], "roles":
["admin"]}`` is an admin), turns ``"\\ud800"`` into a string no database can store, and
lets NUL through (PostgreSQL refuses it, SQLite stores it). Tab, line feed and carriage
return stay allowed: multi-line text is text.
"""

from __future__ import annotations

import json
import re
from typing import Any

UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_DEPTH = 64


class JSONRefused(ValueError):
    """A body that is not JSON or holds what the platform refuses; ``loc`` points at it."""

    def __init__(self, message: str, loc: list[str | int] | None = None) -> None:
        super().__init__(message)
        self.loc = loc or []


def unsafe_text(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or ``None`` when it can."""
    found = UNSAFE_TEXT.search(value)
    if found is None:
        return None
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        return f"含有孤立的代理字符 U+{ord(char):04X} (lone surrogate)"
    return f"含有控制字符 U+{ord(char):04X} (control character)"


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JSONRefused(f"JSON 对象中键 {key!r} 重复 (duplicate key)", [key])
        result[key] = value
    return result


def _check(value: Any, loc: list[str | int], depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise JSONRefused(f"JSON 嵌套超过 {MAX_DEPTH} 层 (nested too deeply)", loc)
    if isinstance(value, str):
        problem = unsafe_text(value)
        if problem:
            raise JSONRefused(f"文本{problem}", loc)
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = unsafe_text(key)
            if problem:
                raise JSONRefused(f"键{problem}", loc)
            _check(item, [*loc, key], depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, [*loc, index], depth + 1)


def loads(raw: bytes | str) -> Any:
    """Parse a request body; ``JSONRefused`` says what is wrong and where."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
        value = json.loads(text, object_pairs_hook=_pairs)
    except UnicodeDecodeError:
        raise JSONRefused("请求体不是 UTF-8 编码 (body is not UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"请求体不是合法的 JSON (malformed JSON): {exc.msg}, "
                          f"第 {exc.lineno} 行第 {exc.colno} 列") from None
    except RecursionError:
        raise JSONRefused(f"JSON 嵌套超过 {MAX_DEPTH} 层 (nested too deeply)") from None
    _check(value, [])
    return value
