"""CKAN's error types, as ckanapi tells them apart by ``error.__type`` (CONTRACTS.md §2).

Actions raise these or the platform's domain errors; ``as_ckan_error`` turns the latter
into the former: NotFound → ``Not Found Error`` 404, Forbidden and Unauthorized →
``Authorization Error`` 403, every other refusal (RuleViolation, Conflict, …) →
``Validation Error`` 409 with its field errors at the top of ``error``.
"""

from __future__ import annotations

from typing import Any

from govdata.platform.errors import DomainError, Forbidden, NotFound, Unauthorized

# Our field names where CKAN's package dict calls them otherwise.
CKAN_FIELD = {"name": "title", "summary": "notes", "items": "data_items",
              "department": "owner_org", "code": "name"}


class CkanError(Exception):
    status = 400
    type = "Bad Request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"__type": self.type, "message": self.message}


class ValidationError(CkanError):
    status = 409
    type = "Validation Error"

    def __init__(self, fields: dict[str, list[str]], message: str | None = None) -> None:
        super().__init__(message or "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))
        self.fields = fields

    def body(self) -> dict[str, Any]:
        return {"__type": self.type, "message": self.message, **self.fields}


class AuthorizationError(CkanError):
    status = 403
    type = "Authorization Error"

    def __init__(self, message: str) -> None:
        super().__init__(f"Access denied: {message}")


class NotFoundError(CkanError):
    status = 404
    type = "Not Found Error"

    def __init__(self, message: str) -> None:
        super().__init__(f"Not found: {message}")


class SearchQueryError(CkanError):
    status = 400
    type = "Search Query Error"

    def __init__(self, message: str) -> None:
        super().__init__(f"Search Query Error: {message}")


def field_errors(errors: list[dict[str, Any]] | None, fallback: str,
                 detail: str) -> dict[str, list[str]]:
    """``[{"loc": [...], "msg"}]`` as CKAN's ``{field: [messages]}``."""
    fields: dict[str, list[str]] = {}
    for error in errors or []:
        loc = [part for part in error.get("loc") or [] if part not in ("body", "query")]
        key = CKAN_FIELD.get(str(loc[0]), str(loc[0])) if loc else fallback
        where = "".join(f"[{part}]" for part in loc[1:])
        fields.setdefault(key, []).append(f"{where} {error.get('msg', '')}".strip())
    return fields or {fallback: [detail]}


def as_ckan_error(error: DomainError, *, token_problem: str | None = None) -> CkanError:
    if isinstance(error, NotFound):
        return NotFoundError(error.detail)
    if isinstance(error, Forbidden | Unauthorized):
        note = f" (令牌无效, 已按匿名处理: {token_problem})" if token_problem else ""
        return AuthorizationError(error.detail + note)
    return ValidationError(field_errors(error.errors, error.code, error.detail),
                           message=error.detail)
