"""All the console's pages as one router for the app assembly."""

from __future__ import annotations

from fastapi import APIRouter

from govdata.console import (
    admin,
    approver,
    auditor,
    dashboard,
    pages,
    public,
    requester,
    steward,
)

router = APIRouter()
for part in (pages, steward, requester, approver, public, auditor, admin, dashboard):
    router.include_router(part.router)
