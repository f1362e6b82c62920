"""HTTP routes of the exchange (CONTRACTS.md §1a). Each parses, calls one service function
and shapes the answer; who may do what is the services' (``govdata.exchange.parties``), so
every refusal is on the ledger."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from govdata.catalog import api as _catalog_api  # noqa: F401 - registers the rcode convertor
from govdata.catalog.datastore.api import StreamBind, download, parse_filters, parse_q
from govdata.catalog.datastore.schemas import DataPage, page_response
from govdata.exchange import access, disputes, evaluation, grants, notifications, requests
from govdata.exchange.schemas import (
    AccessOut,
    ApproveIn,
    DeliveryOut,
    DisputeIn,
    DisputeOut,
    GrantOut,
    NotificationOut,
    ReasonIn,
    RequestIn,
    RequestOut,
    ResolveIn,
    WebhookIn,
    WebhookOut,
    access_out,
    delivery_out,
    dispute_out,
    grant_out,
    notification_out,
    request_out,
)
from govdata.platform.deps import CurrentPrincipal, Limit, Offset, SessionDep, SettingsDep
from govdata.platform.schemas import Page

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"])
Side = Annotated[str | None, Query(pattern="^(consumer|provider)$",
                                   description="consumer: 本部门申请的; provider: 本部门收到的")]


# --- requests --------------------------------------------------------------------------

@router.get("/requests", response_model=Page[RequestOut])
def list_requests(session: SessionDep, principal: CurrentPrincipal, side: Side = None,
                  status: Annotated[str | None, Query(
                      pattern="^(pending|granted|refused|withdrawn)$")] = None,
                  overdue: bool | None = None, resource: str | None = None,
                  department: str | None = None, limit: Limit = 20, offset: Offset = 0,
                  ) -> Page[RequestOut]:
    rows, total = requests.list_requests(session, principal, side=side, status=status,
                                         overdue=overdue, resource=resource,
                                         department=department, limit=limit, offset=offset)
    return Page(items=[request_out(r) for r in rows], total=total, limit=limit, offset=offset)


@router.post("/requests", response_model=RequestOut, status_code=201)
def create_request(body: RequestIn, session: SessionDep, principal: CurrentPrincipal,
                   settings: SettingsDep) -> RequestOut:
    return request_out(requests.request_share(session, principal, settings,
                                              **body.model_dump()))


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(request_id: int, session: SessionDep, principal: CurrentPrincipal
                ) -> RequestOut:
    return request_out(requests.get_request(session, principal, request_id))


@router.post("/requests/{request_id}/approve", response_model=RequestOut)
def approve_request(request_id: int, session: SessionDep, principal: CurrentPrincipal,
                    body: ApproveIn | None = None) -> RequestOut:
    body = body or ApproveIn()
    return request_out(requests.approve_request(session, principal, request_id,
                                                **body.model_dump()))


@router.post("/requests/{request_id}/reject", response_model=RequestOut)
def reject_request(request_id: int, body: ReasonIn, session: SessionDep,
                   principal: CurrentPrincipal) -> RequestOut:
    return request_out(requests.reject_request(session, principal, request_id,
                                               reason=body.reason))


@router.post("/requests/{request_id}/withdraw", response_model=RequestOut)
def withdraw_request(request_id: int, session: SessionDep, principal: CurrentPrincipal
                     ) -> RequestOut:
    return request_out(requests.withdraw_request(session, principal, request_id))


# --- grants ----------------------------------------------------------------------------

@router.get("/grants", response_model=Page[GrantOut])
def list_grants(session: SessionDep, principal: CurrentPrincipal, side: Side = None,
                status: Annotated[str | None, Query(
                    pattern="^(active|revoked|expired|suspended)$")] = None,
                resource: str | None = None, department: str | None = None,
                limit: Limit = 20, offset: Offset = 0) -> Page[GrantOut]:
    rows, total = grants.list_grants(session, principal, side=side, status=status,
                                     resource=resource, department=department, limit=limit,
                                     offset=offset)
    return Page(items=[grant_out(g) for g in rows], total=total, limit=limit, offset=offset)


@router.get("/grants/{grant_id}", response_model=GrantOut)
def get_grant(grant_id: int, session: SessionDep, principal: CurrentPrincipal) -> GrantOut:
    return grant_out(grants.get_grant(session, principal, grant_id))


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut)
def revoke_grant(grant_id: int, body: ReasonIn, session: SessionDep,
                 principal: CurrentPrincipal) -> GrantOut:
    return grant_out(grants.revoke_grant(session, principal, grant_id, reason=body.reason))


# --- data ------------------------------------------------------------------------------

@router.get("/data/{code:rcode}", response_model=DataPage,
            responses={200: {"content": {"text/csv": {}}}})
def read_data(
    code: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    bind: StreamBind,
    grant: Annotated[int | None, Query(description="按哪一个授权读取 (有多个时必填)")] = None,
    filters: Annotated[str | None, Query(description='JSON, e.g. {"district": "渝中区"}')] = None,
    q: Annotated[str | None, Query(description="words, or JSON {field: words}")] = None,
    fields: Annotated[str | None, Query(description="a,b,c (granted items only)")] = None,
    sort: Annotated[str | None, Query(description="a, b desc")] = None,
    limit: Annotated[int | None, Query(ge=0, description="JSON: ≤ 1000, default 20; "
                                                         "CSV: default all")] = None,
    offset: Offset = 0,
    include_total: bool = True,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    bom: Annotated[bool, Query(description="CSV: UTF-8 BOM for Excel")] = False,
    header: Annotated[str, Query(pattern="^(name|title)$")] = "name",
) -> Response:
    """The caller's department's granted data: only the granted items of the current
    version. Every call, served or refused, is one ledger entry."""
    query = {"grant": grant, "filters": parse_filters(filters), "q": parse_q(q),
             "fields": fields, "sort": sort, "offset": offset}
    if format == "csv":
        plan = access.export_granted(session, principal, code, format="csv", limit=limit,
                                     bom=bom, header=header, **query)
        return download(bind, plan)
    limit = 20 if limit is None else limit
    result = access.read_granted(session, principal, code, limit=min(limit, 1000),
                                 include_total=include_total, **query)
    return page_response(result)


@router.get("/access-log", response_model=Page[AccessOut])
def access_log(session: SessionDep, principal: CurrentPrincipal, resource: str | None = None,
               department: str | None = None, since: dt.datetime | None = None,
               until: dt.datetime | None = None,
               outcome: Annotated[str | None, Query(pattern="^(allowed|refused)$")] = None,
               limit: Limit = 20, offset: Offset = 0) -> Page[AccessOut]:
    """Who read the department's data (and who was refused), from the ledger."""
    rows, total = access.access_log(session, principal, resource=resource,
                                    department=department, since=since, until=until,
                                    outcome=outcome, limit=limit, offset=offset)
    return Page(items=[access_out(e) for e in rows], total=total, limit=limit, offset=offset)


# --- disputes --------------------------------------------------------------------------

@router.get("/disputes", response_model=Page[DisputeOut])
def list_disputes(session: SessionDep, principal: CurrentPrincipal, side: Side = None,
                  status: Annotated[str | None, Query(pattern="^(open|answered)$")] = None,
                  overdue: bool | None = None, resource: str | None = None,
                  department: str | None = None, limit: Limit = 20, offset: Offset = 0,
                  ) -> Page[DisputeOut]:
    rows, total = disputes.list_disputes(session, principal, side=side, status=status,
                                         overdue=overdue, resource=resource,
                                         department=department, limit=limit, offset=offset)
    return Page(items=[dispute_out(d) for d in rows], total=total, limit=limit, offset=offset)


@router.post("/disputes", response_model=DisputeOut, status_code=201)
def open_dispute(body: DisputeIn, session: SessionDep, principal: CurrentPrincipal,
                 settings: SettingsDep) -> DisputeOut:
    return dispute_out(disputes.open_dispute(
        session, principal, settings, resource=body.resource,
        records=[record.model_dump() for record in body.records]))


@router.get("/disputes/{dispute_id}", response_model=DisputeOut)
def get_dispute(dispute_id: int, session: SessionDep, principal: CurrentPrincipal
                ) -> DisputeOut:
    return dispute_out(disputes.get_dispute(session, principal, dispute_id))


@router.post("/disputes/{dispute_id}/resolve", response_model=DisputeOut)
def resolve_dispute(dispute_id: int, body: ResolveIn, session: SessionDep,
                    principal: CurrentPrincipal) -> DisputeOut:
    return dispute_out(disputes.resolve_dispute(session, principal, dispute_id,
                                                **body.model_dump()))


# --- evaluation ------------------------------------------------------------------------

@router.get("/evaluation", responses={200: {"content": {"text/csv": {}}}})
def department_evaluation(session: SessionDep, principal: CurrentPrincipal,
                          settings: SettingsDep, department: str | None = None,
                          year: Annotated[int | None, Query(ge=2000, le=2999)] = None,
                          format: Annotated[str, Query(pattern="^(json|csv)$")] = "json"):
    """绩效评估: one department's exchange figures for a year (JSON, or CSV for Excel)."""
    report = evaluation.evaluate(session, principal, settings, department=department,
                                 year=year)
    if format == "csv":
        name = f"evaluation-{report['department']['code']}-{report['year']}.csv"
        return Response(evaluation.as_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return report


# --- notifications ---------------------------------------------------------------------

@router.get("/inbox", response_model=Page[NotificationOut])
def inbox(session: SessionDep, principal: CurrentPrincipal, department: str | None = None,
          unread: bool | None = None, kind: str | None = None, limit: Limit = 20,
          offset: Offset = 0) -> Page[NotificationOut]:
    rows, total = notifications.list_inbox(session, principal, department=department,
                                           unread=unread, kind=kind, limit=limit,
                                           offset=offset)
    return Page(items=[notification_out(n) for n in rows], total=total, limit=limit,
                offset=offset)


@router.post("/inbox/{notification_id}/read", response_model=NotificationOut)
def mark_read(notification_id: int, session: SessionDep, principal: CurrentPrincipal
              ) -> NotificationOut:
    return notification_out(notifications.mark_read(session, principal, notification_id))


def _webhook_out(hook, secret: str | None = None) -> WebhookOut:
    return WebhookOut(department=hook.department.code, url=hook.url,
                      updated_at=hook.updated_at, updated_by=hook.updated_by, secret=secret)


@router.put("/webhook", response_model=WebhookOut)
def set_webhook(body: WebhookIn, session: SessionDep, principal: CurrentPrincipal
                ) -> WebhookOut:
    """Set the department's webhook; a new signing secret is returned this once."""
    hook, secret = notifications.set_webhook(session, principal, url=body.url,
                                             department=body.department)
    return _webhook_out(hook, secret)


@router.get("/webhook", response_model=WebhookOut)
def get_webhook(session: SessionDep, principal: CurrentPrincipal,
                department: str | None = None) -> WebhookOut:
    return _webhook_out(notifications.get_webhook(session, principal, department=department))


@router.delete("/webhook", status_code=204)
def remove_webhook(session: SessionDep, principal: CurrentPrincipal,
                   department: str | None = None) -> Response:
    notifications.remove_webhook(session, principal, department=department)
    return Response(status_code=204)


@router.get("/webhook/deliveries", response_model=Page[DeliveryOut])
def deliveries(session: SessionDep, principal: CurrentPrincipal,
               department: str | None = None,
               status: Annotated[str | None, Query(
                   pattern="^(pending|delivered|failed)$")] = None,
               limit: Limit = 20, offset: Offset = 0) -> Page[DeliveryOut]:
    rows, total = notifications.list_deliveries(session, principal, department=department,
                                                status=status, limit=limit, offset=offset)
    return Page(items=[delivery_out(d) for d in rows], total=total, limit=limit,
                offset=offset)
