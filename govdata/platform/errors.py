"""The one domain error family, and its rendering as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any


class ConfigurationError(RuntimeError):
    """The settings cannot run the platform (e.g. production without its signing keys)."""


class DomainError(Exception):
    """A refusal the platform explains: a stable ``code`` and a human ``detail``."""

    status = 400
    title = "请求有误"
    default_code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.errors = errors
        self.headers = headers


class NotFound(DomainError):
    status = 404
    title = "未找到"
    default_code = "not_found"


class Unauthorized(DomainError):
    status = 401
    title = "未认证"
    default_code = "unauthorized"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status = 403
    title = "无权操作"
    default_code = "forbidden"


class Conflict(DomainError):
    status = 409
    title = "冲突"
    default_code = "conflict"


class RuleViolation(DomainError):
    """A request that breaks a policy rule of RULES.md; ``code`` names the rule."""

    status = 422
    title = "违反规则"
    default_code = "rule_violation"


class RateLimited(DomainError):
    """Too many requests from one client; ``Retry-After`` says when to come back."""

    status = 429
    title = "请求过于频繁"
    default_code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class PayloadTooLarge(DomainError):
    status = 413
    title = "内容过大"
    default_code = "payload_too_large"


# Pydantic's error types in Chinese; the English message follows in brackets.
_VALIDATION_ZH = {
    "missing": "必填", "extra_forbidden": "不接受此字段",
    "string_type": "应为字符串", "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符", "string_pattern_mismatch": "格式不符",
    "string_unicode": "应为有效的 Unicode 文本",
    "int_type": "应为整数", "int_parsing": "应为整数", "int_from_float": "应为整数",
    "int_parsing_size": "整数超出范围", "float_type": "应为数字", "float_parsing": "应为数字",
    "decimal_parsing": "应为数字", "bool_type": "应为布尔值", "bool_parsing": "应为布尔值",
    "greater_than": "应大于 {gt}", "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}", "less_than_equal": "应不大于 {le}",
    "too_short": "至少 {min_length} 项", "too_long": "最多 {max_length} 项",
    "list_type": "应为列表", "dict_type": "应为对象", "model_type": "应为对象",
    "model_attributes_type": "应为对象", "json_invalid": "请求体不是有效的 JSON",
    "json_type": "应为 JSON 文本", "enum": "应为以下之一: {expected}",
    "literal_error": "应为以下之一: {expected}", "date_type": "应为日期",
    "date_parsing": "应为日期 (YYYY-MM-DD)", "date_from_datetime_parsing": "应为日期 (YYYY-MM-DD)",
    "datetime_type": "应为日期时间", "datetime_parsing": "应为日期时间 (ISO 8601)",
    "datetime_from_date_parsing": "应为日期时间 (ISO 8601)", "uuid_parsing": "应为 UUID",
    "url_parsing": "应为网址", "url_type": "应为网址", "bytes_type": "应为字节串",
    "union_tag_invalid": "类型标记无效", "value_error": "取值无效", "assertion_error": "取值无效",
}


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def validation_message(error: dict[str, Any]) -> str:
    """One pydantic error as "中文 (English)"; a message already in Chinese (our own
    validators') is kept as it is."""
    message = str(error.get("msg", ""))
    if has_chinese(message):
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    template = _VALIDATION_ZH.get(str(error.get("type")), "取值无效")
    try:
        chinese = template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        chinese = template
    return f"{chinese} ({message})" if message else chinese


# Starlette's own HTTP errors (routing, form parsing), in Chinese first.
HTTP_TITLES_ZH = {400: "请求有误", 401: "未认证", 403: "无权操作", 404: "未找到",
                  405: "不允许的请求方法", 413: "内容过大", 415: "不支持的内容类型"}


class ServiceUnavailable(DomainError):
    """The platform cannot serve now (its database is down or busy); come back later."""

    status = 503
    title = "服务暂不可用"
    default_code = "service_unavailable"

    def __init__(self, detail: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"Retry-After": str(retry_after)})


class InsufficientStorage(DomainError):
    status = 507
    title = "存储空间不足"
    default_code = "insufficient_storage"


def problem(
    *,
    status: int,
    title: str,
    detail: str,
    code: str,
    errors: list[dict[str, Any]] | None = None,
    instance: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    if instance is not None:
        body["instance"] = instance
    return body
