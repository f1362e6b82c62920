"""The resource form: every catalog-guide field and an editable table of data items, turned
into the same ``ResourceIn`` the API takes (so the same shapes and the same rules apply)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from govdata.catalog import vocab
from govdata.catalog.models import Resource
from govdata.catalog.schemas import DataItemIn, ResourceIn, item_out

TEXT_FIELDS = ("name", "summary", "classification", "resource_class", "basic_kind", "theme",
               "category_path", "format_category", "format", "share_type", "share_condition",
               "share_method", "legal_basis", "open_type", "open_condition", "update_cycle",
               "published_on")
LIST_FIELDS = ("related_codes", "tags")
ITEM_TEXT = ("name", "title", "data_type", "length", "sensitivity", "share_type", "open_type")
ITEM_FLAGS = ("required", "is_basic")
BLANK_ROWS = 3

CHOICES = {
    "resource_class": [(str(k), v) for k, v in vocab.CLASS_LABEL.items()],
    "basic_kind": [(k, k) for k in vocab.BASIC_KINDS],
    "theme": [(k, k) for k in vocab.THEMES],
    "format_category": [(k, k) for k in vocab.FORMAT_CATEGORIES],
    "share_type": [(str(k), v) for k, v in vocab.SHARE_LABEL.items()],
    "share_method": [(k, k) for k in vocab.SHARE_METHODS],
    "open_type": [(str(k), v) for k, v in vocab.OPEN_LABEL.items()],
    "update_cycle": [(k, k) for k in vocab.UPDATE_CYCLES],
    "data_type": [(k, f"{k} {v}") for k, v in vocab.DATA_TYPES.items()],
    "sensitivity": [(str(k), v) for k, v in vocab.SENSITIVITY_LABEL.items()],
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_items(form: FormData) -> list[dict[str, Any]]:
    """Rows ``items.<i>.<field>`` in order; rows left wholly blank are dropped."""
    indexes = sorted({int(key.split(".")[1]) for key in form
                      if key.startswith("items.") and key.split(".")[1].isdigit()})
    rows = []
    for i in indexes:
        row: dict[str, Any] = {name: (form.get(f"items.{i}.{name}") or "").strip()
                               for name in ITEM_TEXT}
        if all(_blank(row[name]) for name in ("name", "title", "length")):
            continue
        row.update({flag: form.get(f"items.{i}.{flag}") == "on" for flag in ITEM_FLAGS})
        rows.append(row)
    return rows


def read_values(form: FormData) -> dict[str, Any]:
    """What the person typed, as the form shows it again."""
    values: dict[str, Any] = {name: (form.get(name) or "").strip() for name in TEXT_FIELDS}
    values.update({name: (form.get(name) or "").strip() for name in LIST_FIELDS})
    values["items"] = read_items(form)
    return values


def to_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The typed values for ``ResourceIn`` (blank → absent, lists split on commas)."""
    fields: dict[str, Any] = {name: values[name] for name in TEXT_FIELDS
                              if not _blank(values.get(name))}
    for name in LIST_FIELDS:
        text = values.get(name) or ""
        fields[name] = [part.strip() for part in text.replace("，", ",").split(",")
                        if part.strip()]
    fields["items"] = [{key: value for key, value in row.items()
                        if not (key in ITEM_TEXT and _blank(value))}
                       for row in values.get("items", [])]
    return fields


def parse(values: dict[str, Any]) -> ResourceIn:
    """Raises pydantic's ValidationError with locations matching the form's field names."""
    return ResourceIn.model_validate(to_fields(values))


def from_resource(resource: Resource) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(resource, name) for name in TEXT_FIELDS}
    values["published_on"] = resource.published_on.isoformat() if resource.published_on else ""
    values = {k: ("" if v is None else str(v)) for k, v in values.items()}
    values["related_codes"] = ", ".join(resource.related_codes or [])
    values["tags"] = ", ".join(resource.tags or [])
    values["items"] = [_item_values(item_out(item)) for item in resource.items]
    return values


def _item_values(item: DataItemIn) -> dict[str, Any]:
    data = item.model_dump()
    return {k: ("" if v is None else v) for k, v in data.items()}


def with_blank_rows(values: dict[str, Any], count: int = BLANK_ROWS) -> dict[str, Any]:
    rows = list(values.get("items", []))
    blank = {name: "" for name in ITEM_TEXT} | {flag: False for flag in ITEM_FLAGS}
    return {**values, "items": rows + [dict(blank) for _ in range(count)]}
