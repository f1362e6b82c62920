"""Each role's menus. A page's guard and its menu entry name the same roles, so a menu that is
not shown is also a page that answers 403."""

from __future__ import annotations

from dataclasses import dataclass

from govdata.platform.principal import Principal

ROLE_LABELS = {"steward": "数据管理员", "requester": "使用部门", "approver": "审批人",
               "auditor": "审计", "admin": "管理员", "superuser": "超级管理员"}


@dataclass(frozen=True)
class Entry:
    label: str
    href: str
    roles: tuple[str, ...]


STEWARD = ("steward", "admin")
REQUESTER = ("requester",)
APPROVER = ("approver",)
AUDITOR = ("auditor",)
ADMIN = ("admin", "superuser")  # as the API's Admin: a superuser administers everywhere
PUBLIC_SIDE = ("approver", "steward")  # who the portal's provider services let in
DATA_REQUESTS = (*PUBLIC_SIDE, "admin")  # admins answer the requests naming no department
DASHBOARD = ("steward", "approver", "auditor", "admin")

MENU = (
    Entry("本部门资源", "/console/resources", STEWARD),
    Entry("登记资源", "/console/resources/new", STEWARD),
    Entry("目录导入导出", "/console/catalog-transfer", STEWARD),
    Entry("共享/开放/负面清单", "/console/lists", STEWARD),
    Entry("共享目录", "/console/catalog", REQUESTER),
    Entry("我的申请", "/console/my-requests", REQUESTER),
    Entry("已获授权", "/console/grants", REQUESTER),
    Entry("待审批", "/console/inbox", APPROVER),
    Entry("数据校核", "/console/disputes", ("approver", "steward")),
    Entry("开放数据申请", "/console/applications", PUBLIC_SIDE),
    Entry("数据需求", "/console/data-requests", DATA_REQUESTS),
    Entry("纠错", "/console/error-reports", PUBLIC_SIDE),
    Entry("审计事件", "/console/audit", AUDITOR),
    Entry("部门与用户", "/console/admin/users", ADMIN),
    Entry("访问令牌", "/console/admin/tokens", ADMIN),
    Entry("逾期申请", "/console/admin/overdue", ("admin", "auditor")),
    Entry("评估看板", "/console/dashboard", DASHBOARD),
)


def menu_for(principal: Principal) -> list[Entry]:
    return [entry for entry in MENU if any(principal.has(role) for role in entry.roles)]


def role_labels(principal: Principal) -> list[str]:
    return [ROLE_LABELS.get(role, role) for role in sorted(principal.roles)]
