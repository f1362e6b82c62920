"""The OpenAPI document says what the API answers on errors: RFC 9457 problem+json
(``govdata.platform.errors.problem``), not FastAPI's ``{"detail": [...]}``.

Every operation's 422 and its ``default`` response are the ``Problem`` schema as
``application/problem+json``, unless the operation documents its own ``default`` (the CKAN
Action API answers CKAN's error envelope)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable error code"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["loc", "msg"],
            "properties": {"loc": {"type": "array"}, "msg": {"type": "string"}}}},
    },
}
FRAMEWORK_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {
        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = problem_response("请求参数无效 (validation failed)")
            responses.setdefault("default", problem_response("错误 (problem+json)"))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in FRAMEWORK_SCHEMAS:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    return document


def install(app: FastAPI) -> None:
    """Post-process the document FastAPI generates (and caches) for ``app``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        if "Problem" not in document.get("components", {}).get("schemas", {}):
            document_problems(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
