"""Whose departments an administrator governs.

An ``admin`` governs the departments of their own jurisdiction: those whose administrative
division code (GB/T 2260) lies under the division of the admin's own department. The code's
trailing ``00`` pairs are the levels below it (``500000`` 重庆市 → every ``50xxxx``;
``440300`` 深圳市 → ``4403xx``; ``500103`` 渝中区 → that district only). A ``superuser``
governs every department.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from govdata.platform.principal import Principal


def prefix(division_code: str) -> str:
    """The part of a division code every division under it shares."""
    code = division_code
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


def covers(principal: Principal, division_code: str | None) -> bool:
    """Whether the principal administers a department of this division."""
    if principal.has("superuser"):
        return True
    if not principal.has("admin") or not principal.division or division_code is None:
        return False
    return division_code.startswith(prefix(principal.division))


def covers_clause(principal: Principal, division_column: ColumnElement) -> ColumnElement[bool]:
    """``covers`` as a SQL condition on a department's division code column."""
    if principal.has("superuser"):
        return true()
    if not principal.has("admin") or not principal.division:
        return false()
    return division_column.startswith(prefix(principal.division), autoescape=True)


def describe(principal: Principal) -> str:
    """The jurisdiction in words, for refusals."""
    if principal.has("superuser"):
        return "全平台 (platform-wide)"
    return f"行政区划 {principal.division or '?'}"
