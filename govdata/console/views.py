"""Rendering a console page: the signed-in person, their menu, and a page of a list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from govdata.catalog import vocab
from govdata.console import menus
from govdata.platform.principal import Principal
from govdata.platform.web import render

PAGE_SIZE = 20
LABELS = {
    "SHARE": {str(k): v for k, v in vocab.SHARE_LABEL.items()},
    "OPEN": {str(k): v for k, v in vocab.OPEN_LABEL.items()},
    "STATUS": {str(k): v for k, v in vocab.STATUS_LABEL.items()},
    "REQUEST_STATUS": {"pending": "待审批", "granted": "已授权", "refused": "已拒绝",
                       "withdrawn": "已撤回"},
    "GRANT_STATUS": {"active": "有效", "revoked": "已撤销", "expired": "已到期",
                     "suspended": "已暂停"},
    "DISPUTE_STATUS": {"open": "待答复", "answered": "已答复"},
    "DATA_TYPE": dict(vocab.DATA_TYPES),
    "SENSITIVITY": {str(k): v for k, v in vocab.SENSITIVITY_LABEL.items()},
    "TOKEN_STATUS": {"active": "有效", "revoked": "已吊销", "expired": "已过期",
                     "outdated": "已失效 (账号停用或角色变更)"},
    "ROLE_LABELS": menus.ROLE_LABELS,
    "EVENT": {"submitted": "提交申请", "granted": "自动授权", "approved": "批准",
              "refused": "拒绝", "withdrawn": "撤回", "revoked": "撤销授权", "expired": "到期"},
}


def titled(names, resource) -> str:
    """Data item names as their Chinese titles, in order (a name the resource no longer
    has stays as it is): ``{{ titled(r.data_items, r.resource) }}`` → ``区县、缴费金额``."""
    titles = {item.name: item.title for item in resource.items}
    return "、".join(titles.get(name, name) for name in names)


def page(request: Request, principal: Principal | None, template: str,
         context: dict[str, Any] | None = None, *, status: int = 200) -> HTMLResponse:
    return render(request, f"console/{template}", {
        "principal": principal,
        "menu": menus.menu_for(principal) if principal else [],
        "roles": menus.role_labels(principal) if principal else [],
        "current": request.url.path,
        "message": request.query_params.get("message"),
        **LABELS,
        "titled": titled,
        **(context or {}),
    }, status=status)


def done(location: str, message: str) -> RedirectResponse:
    """After a successful post: back to a page, with what happened (post/redirect/get)."""
    joiner = "&" if "?" in location else "?"
    return RedirectResponse(f"{location}{joiner}{urlencode({'message': message})}",
                            status_code=303)


@dataclass
class Pager:
    total: int
    offset: int
    limit: int = PAGE_SIZE

    def link(self, request: Request, offset: int) -> str:
        params = {k: v for k, v in request.query_params.items() if k not in ("offset",
                                                                               "message")}
        params["offset"] = str(max(0, offset))
        return f"{request.url.path}?{urlencode(params)}"

    def previous(self, request: Request) -> str | None:
        return self.link(request, self.offset - self.limit) if self.offset > 0 else None

    def next(self, request: Request) -> str | None:
        more = self.offset + self.limit < self.total
        return self.link(request, self.offset + self.limit) if more else None


def clean(params: dict[str, str]) -> dict[str, str | None]:
    """Query/form text with blanks as None."""
    return {key: (value.strip() or None) for key, value in params.items()}


def collapse(errors, field: str):
    """Errors on ``field.<anything>`` (e.g. one item of a checkbox list) shown at ``field``."""
    for key in [k for k in errors if k.startswith(field + ".")]:
        errors.add(field, errors.pop(key))
    return errors
