"""The one domain error family, and its rendering as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any


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
