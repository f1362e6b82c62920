"""The evaluation dashboard: a department's figures for a year as charts (server-side SVG,
nothing fetched): requests answered in time or late, median reply time over three years,
resources by share type, data freshness, and open-list coverage against the plans' targets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from govdata.catalog import stats
from govdata.console import menus, views
from govdata.console.auth import needs
from govdata.exchange import evaluation, parties
from govdata.platform import clock
from govdata.platform import service as platform_service
from govdata.platform.deps import SessionDep, SettingsDep
from govdata.platform.principal import Principal
from govdata.platform.web import csrf_protect
from govdata.platform.web.charts import bar_chart, line_chart

router = APIRouter(prefix="/console", include_in_schema=False,
                   dependencies=[Depends(csrf_protect)])
Viewer = Annotated[Principal, Depends(needs(menus.DASHBOARD))]
YEARS = 3
FRESHNESS = {"fresh": "按周期更新", "stale": "超期未更新", "no_data": "无数据",
             "not_assessed": "不评估"}


def plan_place(plan: str) -> str:
    """Whose plan it is, for a chart label: ``重庆市大数据发展工作方案…`` → ``重庆市``."""
    for end, char in enumerate(plan[:8]):
        if char in "省市区县":
            return plan[:end + 1]
    return plan[:6] + "…"


def charts(reports: list[dict], coverage: dict) -> dict:
    years = [str(r["year"]) for r in reports]
    received = [r["requests_received"] for r in reports]
    current = reports[-1]
    shares = current["resources"]
    fresh = current["freshness"]
    targets = coverage["targets"]
    return {
        "timeliness": bar_chart(years, {
            "按时答复": [r["answered"] - r["answered_late"] for r in received],
            "逾期": [r["overdue"] for r in received]}, title="申请答复: 按时与逾期", unit="件"),
        "reply_time": line_chart(years, {"答复用时中位数": [
            r["median_reply_working_days"] or 0 for r in received]},
            title="答复用时中位数", unit="工作日"),
        "share_types": bar_chart(["无条件共享", "有条件共享", "不予共享"], {"已发布资源": [
            shares["unconditional"], shares["conditional"], shares["none"]]},
            title="各共享类型的资源数", unit="个"),
        "freshness": bar_chart(list(FRESHNESS.values()), {"资源": [
            fresh[key] for key in FRESHNESS]}, title="数据更新及时性", unit="个"),
        "coverage": bar_chart(
            ["全平台现状", *[f"{plan_place(t['plan'])}目标 {t['target']:.0%}" for t in targets]],
            {"开放清单覆盖率": [round(coverage["open_list_coverage"] * 100, 1),
                          *[t["target"] * 100 for t in targets]]},
            title="开放清单覆盖率与规划目标", unit="%"),
    }


@router.get("/dashboard")
def dashboard(request: Request, session: SessionDep, settings: SettingsDep,
              principal: Viewer, department: str | None = None,
              year: Annotated[int | None, Query(ge=2000, le=2999)] = None):
    year = year or clock.today().year
    department = department or principal.department
    reports = [evaluation.evaluate(session, principal, settings, department=department,
                                   year=y) for y in range(year - YEARS + 1, year + 1)]
    coverage = stats.catalog_stats(session, principal)["departments"]
    departments = (platform_service.list_departments(session, limit=1000, offset=0)[0]
                   if parties.oversees(principal) else [])
    return views.page(request, principal, "dashboard.html", {
        "report": reports[-1], "charts": charts(reports, coverage), "coverage": coverage,
        "departments": [(d.code, d.name) for d in departments],
        "values": {"department": department, "year": year}, "errors": {}})
