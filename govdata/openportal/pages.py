"""The open portal's pages for the public (Chinese, server-rendered, usable without
JavaScript): home, search results with facets, dataset pages with preview, chart,
downloads and API snippets, department pages, the coverage page and the API page.

No rule lives here: every page reads through the same services as ``/api/v1/open``
(masks, conditional data refused, usage counted). The forms of the people side are in
``people_pages``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from govdata.openportal import charts, feedback, service
from govdata.openportal.api import base_url
from govdata.openportal.deps import OptionalAccount
from govdata.openportal.identifiers import datastore_resource_id
from govdata.openportal.models import Account
from govdata.openportal.people_schemas import error_report_out
from govdata.openportal.ratelimit import RATE_LIMITED
from govdata.openportal.schemas import dataset_out, summary_out
from govdata.openportal.vocab import THEME_GROUPS
from govdata.platform import clock
from govdata.platform.deps import SessionDep, SettingsDep
from govdata.platform.models import Department
from govdata.platform.web import csrf_protect, render

router = APIRouter(include_in_schema=False, dependencies=[RATE_LIMITED, Depends(csrf_protect)])
PAGE_SIZE = 10
PREVIEW_ROWS = 10
FACET_TITLES = {"department": "部门", "theme": "主题", "format": "格式", "open_type": "开放类型"}
SORTS = {"": "相关度/名称", "modified desc": "最近更新", "title asc": "名称 (拼音)",
         "name asc": "资源代码"}
OPEN_TYPE_TITLES = {"unconditional": "无条件开放", "conditional": "有条件开放"}
PageNumber = Annotated[int, Query(ge=1, le=100_000, alias="page", description="第几页")]


def page(request: Request, template: str, account: Account | None, status: int = 200,
         **context: Any) -> HTMLResponse:
    """A portal page with the signed-in account (if any) in its header."""
    return render(request, f"openportal/{template}",
                  {"account": account, "tz": clock.CHINA, **context}, status=status)


def department_names(session, codes) -> dict[str, str]:
    codes = list(codes)
    if not codes:
        return {}
    return dict(session.execute(select(Department.code, Department.name)
                                .where(Department.code.in_(codes))).all())


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, settings: SettingsDep,
         account: OptionalAccount) -> HTMLResponse:
    newest = service.search_datasets(session, service.DatasetQuery(sort="modified desc",
                                                                   limit=6), settings=settings)
    themes = newest.facets.get("theme", {})
    return page(request, "home.html", account, newest=[summary_out(d) for d in newest.items],
                used=[summary_out(d) for d in service.most_used(session, settings=settings)],
                themes=[(theme, themes.get(theme, 0)) for theme in THEME_GROUPS],
                total=newest.total, stats=service.portal_stats(session, settings=settings))


def _link(params: dict[str, Any], **changes: Any) -> str:
    merged = {**params, **changes}
    return "/datasets?" + urlencode({k: v for k, v in merged.items() if v not in (None, "")})


def pages_of(total: int, current: int, size: int) -> list[int]:
    """The page numbers to link: the first, the last and two either side of this one."""
    last = max(1, math.ceil(total / size))
    shown = {1, last, *range(max(1, current - 2), min(last, current + 2) + 1)}
    return sorted(shown)


@router.get("/datasets", response_class=HTMLResponse)
def results(request: Request, session: SessionDep, settings: SettingsDep,
            account: OptionalAccount,
            q: Annotated[str, Query(max_length=200)] = "",
            department: Annotated[str, Query(max_length=64)] = "",
            theme: Annotated[str, Query(max_length=40)] = "",
            format: Annotated[str, Query(max_length=20)] = "",
            open_type: Annotated[str, Query(max_length=20)] = "",
            sort: Annotated[str, Query(max_length=30)] = "",
            page_number: PageNumber = 1) -> HTMLResponse:
    params = {"q": q.strip(), "department": department, "theme": theme, "format": format,
              "open_type": open_type, "sort": sort if sort in SORTS else ""}
    found = service.search_datasets(session, service.DatasetQuery(
        q=params["q"] or None, department=department or None, theme=theme or None,
        format=format or None, open_type=open_type or None, sort=params["sort"] or None,
        limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE), settings=settings)
    names = department_names(session, found.facets.get("department", {}))
    facets = []
    for key, title in FACET_TITLES.items():
        values = []
        for value, count in found.facets.get(key, {}).items():
            label = names.get(value, value) if key == "department" else (
                OPEN_TYPE_TITLES.get(value, value) if key == "open_type" else value)
            chosen = params[key] == value
            values.append({"label": label, "count": count, "chosen": chosen,
                           "href": _link(params, **{key: "" if chosen else value, "page": None})})
        facets.append({"key": key, "title": title, "values": values})
    return page(request, "results.html", account, params=params, facets=facets,
                items=[summary_out(d) for d in found.items], total=found.total,
                page_number=page_number, pages=pages_of(found.total, page_number, PAGE_SIZE),
                page_href=lambda n: _link(params, page=n), sorts=SORTS)


def _snippets(base: str, name: str, resource_id: str, conditional: bool) -> dict[str, str]:
    key_header = ' \\\n  -H "Authorization: <你的 API 密钥>"' if conditional else ""
    key_arg = ', apikey="<你的 API 密钥>"' if conditional else ""
    return {
        "本平台 API (curl)": f'curl "{base}/api/v1/open/datasets/{name}/records?limit=5"'
                           f"{key_header}",
        "CKAN API (curl)": f'curl "{base}/api/3/action/datastore_search?resource_id='
                           f'{resource_id}&limit=5"{key_header}',
        "Python (ckanapi)": f"from ckanapi import RemoteCKAN\n\n"
                            f'portal = RemoteCKAN("{base}"{key_arg})\n'
                            f"result = portal.action.datastore_search(\n"
                            f'    resource_id="{resource_id}", limit=5)\n'
                            f'print(result["total"], result["records"])',
    }


def _preview(session, dataset, page_number: int) -> dict[str, Any] | None:
    if dataset.data_access != "open" or dataset.data is None:
        return None
    result = service.preview_rows(session, dataset.resource, limit=PREVIEW_ROWS,
                                  offset=(page_number - 1) * PREVIEW_ROWS)
    fields = [f for f in result.fields if f["id"] != "_id"]
    return {"fields": fields, "rows": result.records, "total": result.total,
            "pages": pages_of(result.total or 0, page_number, PREVIEW_ROWS),
            "page_number": page_number}


def _chart(session, dataset):
    if dataset.data_access != "open" or dataset.data is None:
        return None
    chosen = service.chart_items(dataset.resource)
    if chosen is None:
        return None
    date_item, value_item = chosen
    rows = service.chart_rows(session, dataset.resource, date_item=date_item.name,
                              value_item=value_item.name)
    return charts.over_time(rows, date_title=date_item.title, value_title=value_item.title)


@router.get("/datasets/{name}", response_class=HTMLResponse)
def dataset_page(name: str, request: Request, session: SessionDep, settings: SettingsDep,
                 account: OptionalAccount,
                 page_number: PageNumber = 1) -> HTMLResponse:
    dataset = service.view_dataset(session, name, settings=settings)
    base = base_url(request, settings)
    shown = dataset_out(dataset, base)
    reports, _ = feedback.list_reports(session, dataset=name, limit=5)
    return page(request, "dataset.html", account, dataset=shown,
                preview=_preview(session, dataset, page_number),
                preview_href=lambda n: f"/datasets/{name}?page={n}#preview",
                chart=_chart(session, dataset),
                reports=[error_report_out(r, dataset.resource) for r in reports],
                snippets=_snippets(base, dataset.name, datastore_resource_id(dataset.resource.id),
                                   dataset.data_access != "open"))


@router.get("/departments/{code}", response_class=HTMLResponse)
def department_page(code: str, request: Request, session: SessionDep, settings: SettingsDep,
                    account: OptionalAccount,
                    page_number: PageNumber = 1
                    ) -> HTMLResponse:
    owner, found = service.department_datasets(session, code, limit=PAGE_SIZE * 5,
                                               offset=(page_number - 1) * PAGE_SIZE * 5,
                                               settings=settings)
    items = [summary_out(d) for d in found.items]
    return page(request, "department.html", account, department=owner, items=items,
                total=found.total, overdue=sum(1 for d in items if d.overdue),
                page_number=page_number, page_href=lambda n: f"/departments/{code}?page={n}",
                pages=pages_of(found.total, page_number, PAGE_SIZE * 5))


@router.get("/coverage", response_class=HTMLResponse)
def coverage(request: Request, session: SessionDep, settings: SettingsDep,
             account: OptionalAccount) -> HTMLResponse:
    stats = service.portal_stats(session, settings=settings)
    everyone = service.search_datasets(session, service.DatasetQuery(limit=0),
                                       settings=settings)
    counts = everyone.facets.get("department", {})
    names = department_names(session, counts)
    publishing = sorted(((names.get(code, code), code, n) for code, n in counts.items()),
                        key=lambda row: (-row[2], row[1]))
    departments = stats["departments"]
    chart = charts.coverage(departments["open_list_coverage"], departments["targets"])
    return page(request, "coverage.html", account, stats=stats, publishing=publishing,
                chart=chart)


@router.get("/developers", response_class=HTMLResponse)
def developers(request: Request, settings: SettingsDep,
               account: OptionalAccount) -> HTMLResponse:
    return page(request, "developers.html", account, base=base_url(request, settings))
