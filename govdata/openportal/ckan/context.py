"""What every CKAN action receives, and the coercions CKAN applies to its inputs
(booleans as true/yes/on/1, integers as text, lists as JSON text)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from govdata.openportal.apikeys import KeyAccess
from govdata.openportal.ckan.errors import ValidationError
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings

TRUE = frozenset({"true", "yes", "on", "1", "t", "y"})
FALSE = frozenset({"false", "no", "off", "0", "f", "n", ""})


@dataclass
class ActionContext:
    """The request an action runs for. ``principal`` is anonymous when the token was
    missing or bad (``token_problem`` says what was wrong with it); ``path`` and
    ``query`` are the request's, for ``_links``; ``files`` are multipart uploads;
    ``access`` is what an approved applicant's API key opens (conditional data)."""

    session: Session
    principal: Principal
    settings: Settings
    base_url: str
    bind: Engine | Connection
    path: str = ""
    query: list[tuple[str, str]] = field(default_factory=list)
    token_problem: str | None = None
    files: dict[str, Any] = field(default_factory=dict)
    access: KeyAccess | None = None


def as_bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if isinstance(value, bool):
        return value
    if value is None:
        return default
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValidationError({key: [f"应为布尔值 true/false (Invalid boolean: {value!r})"]})


def as_int(data: Mapping[str, Any], key: str, default: int | None, *,
           minimum: int = 0) -> int | None:
    value = data.get(key, default)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValidationError({key: ["Invalid integer"]})
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError({key: [f"Invalid integer: {value!r}"]}) from None
    if number < minimum:
        raise ValidationError({key: [f"Must be a natural number (≥ {minimum})"]})
    return number


def as_json(value: Any, key: str) -> Any:
    """A value that may come JSON-encoded (GET parameters, form fields)."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ValidationError({key: [f"无法解析的 JSON (Could not parse as valid JSON)"
                                         f": {value[:80]!r}"]}) from None
    return value


def as_list(value: Any, key: str) -> list[str]:
    """A list given as a list, as JSON text, or as comma-separated text."""
    value = as_json(value, key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(part) for part in value]
    raise ValidationError({key: ["应为列表 (expected a list)"]})


def text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
        if value is None:
            return None
    if not isinstance(value, str | int):
        raise ValidationError({key: ["应为文本 (expected text)"]})
    return str(value)


def required_text(data: Mapping[str, Any], key: str, *aliases: str) -> str:
    for name in (key, *aliases):
        value = text(data, name)
        if value:
            return value
    raise ValidationError({key: ["Missing value"]})
