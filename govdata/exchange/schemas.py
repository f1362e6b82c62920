"""Shapes that cross HTTP for the exchange (CONTRACTS.md §1a)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from govdata.exchange import disputes
from govdata.exchange import grants as grant_rules
from govdata.exchange import requests as request_rules
from govdata.exchange.models import Delivery, Dispute, Grant, Notification, ShareRequest
from govdata.platform import clock
from govdata.platform.models import AuditEntry


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestIn(_In):
    resource: str = Field(description="信息资源代码", examples=["211001/000001"])
    data_items: list[str] = Field(default_factory=list,
                                  description="申请的信息项; 省略或为空即所有可共享的信息项")
    purpose: str = Field(min_length=1, max_length=4000, description="用途")
    basis: str = Field(min_length=1, max_length=4000, description="需求依据")
    until: dt.date = Field(description="使用截止日期")


class ApproveIn(_In):
    data_items: list[str] | None = Field(default=None, description="批准的信息项 (申请的子集)")
    until: dt.date | None = Field(default=None, description="授权截止日期 (不晚于申请的)")
    note: str | None = Field(default=None, max_length=4000)


class ReasonIn(_In):
    reason: str = Field(min_length=1, max_length=4000, description="理由 (必填)")


class HistoryOut(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    note: str | None


class RequestOut(BaseModel):
    id: int
    resource: str
    resource_name: str
    provider: str
    consumer: str
    requester: str
    data_items: list[str]
    purpose: str
    basis: str
    until: dt.date
    status: str
    deadline: dt.date | None
    overdue: bool
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decision_reason: str | None
    grant: int | None
    history: list[HistoryOut]


def request_out(request: ShareRequest) -> RequestOut:
    return RequestOut(
        id=request.id, resource=request.resource.code, resource_name=request.resource.name,
        provider=request.provider.code, consumer=request.consumer.code,
        requester=request.requester, data_items=request.data_items, purpose=request.purpose,
        basis=request.basis, until=request.until, status=request.status,
        deadline=request.deadline, overdue=request_rules.is_overdue(request, clock.today()),
        created_at=request.created_at, decided_at=request.decided_at,
        decision_reason=request.decision_reason,
        grant=request.grant.id if request.grant else None,
        history=[HistoryOut(at=e.at, actor=e.actor, action=e.action, note=e.note)
                 for e in request.events])


class GrantOut(BaseModel):
    id: int
    request: int
    resource: str
    resource_name: str
    provider: str
    consumer: str
    data_items: list[str]
    purpose: str
    starts: dt.date
    ends: dt.date
    status: str
    revoked_reason: str | None


def grant_out(grant: Grant) -> GrantOut:
    return GrantOut(id=grant.id, request=grant.request_id, resource=grant.resource.code,
                    resource_name=grant.resource.name, provider=grant.provider.code,
                    consumer=grant.consumer.code, data_items=grant_rules.granted_items(grant),
                    purpose=grant.purpose, starts=grant.starts, ends=grant.ends,
                    status=grant_rules.effective_status(grant),
                    revoked_reason=grant.revoked_reason)


class AccessOut(BaseModel):
    """One data call on a provider's resource, as the ledger has it."""

    seq: int | None
    at: str
    actor: str | None
    department: str | None
    resource: str | None
    outcome: str
    grant: int | None = None
    purpose: str | None = None
    data_items: list[str] | None = None
    row_count: int | None = None
    query: dict[str, Any] | None = None
    rule: str | None = None
    reason: str | None = None


def access_out(entry: AuditEntry) -> AccessOut:
    body = json.loads(entry.body)
    return AccessOut(seq=entry.seq, at=entry.occurred_at, actor=entry.actor,
                     department=entry.department, resource=entry.resource,
                     outcome=entry.outcome,
                     **{key: body.get(key) for key in ("grant", "purpose", "data_items",
                                                       "row_count", "query", "rule",
                                                       "reason")})


class DisputeRecordIn(_In):
    key: str = Field(min_length=1, max_length=200, description="记录的 _id 或业务主键")
    item: str = Field(min_length=1, max_length=64, description="有疑问的信息项")
    problem: str = Field(min_length=1, max_length=2000, description="问题描述")


class DisputeIn(_In):
    resource: str
    records: list[DisputeRecordIn] = Field(min_length=1, max_length=1000)


class ResolveIn(_In):
    answer: str = Field(min_length=1, max_length=4000, description="更正说明或解释")
    corrected_version: int | None = Field(default=None, ge=1,
                                          description="更正后的数据版本号")


class DisputeOut(BaseModel):
    id: int
    resource: str
    resource_name: str
    provider: str
    consumer: str
    opened_by: str
    status: str
    deadline: dt.date
    overdue: bool
    records: list[dict[str, Any]]
    data_version: int | None
    answer: str | None
    corrected_version: int | None
    created_at: dt.datetime
    answered_at: dt.datetime | None
    answered_by: str | None


def dispute_out(dispute: Dispute) -> DisputeOut:
    overdue = disputes.is_overdue(dispute, clock.today())
    return DisputeOut(id=dispute.id, resource=dispute.resource.code,
                      resource_name=dispute.resource.name, provider=dispute.provider.code,
                      consumer=dispute.consumer.code, opened_by=dispute.opened_by,
                      status=dispute.status, deadline=dispute.deadline, overdue=overdue,
                      records=dispute.records, data_version=dispute.data_version,
                      answer=dispute.answer, corrected_version=dispute.corrected_version,
                      created_at=dispute.created_at, answered_at=dispute.answered_at,
                      answered_by=dispute.answered_by)


class NotificationOut(BaseModel):
    id: int
    department: str
    kind: str
    title: str
    subject: dict[str, Any]
    data: dict[str, Any]
    created_at: dt.datetime
    read_at: dt.datetime | None
    read_by: str | None


def notification_out(note: Notification) -> NotificationOut:
    return NotificationOut(id=note.id, department=note.department.code, kind=note.kind,
                           title=note.title,
                           subject={"type": note.subject_type, "id": note.subject_id},
                           data=note.data, created_at=note.created_at, read_at=note.read_at,
                           read_by=note.read_by)


class WebhookIn(_In):
    url: str = Field(min_length=1, max_length=2000, examples=["https://dept.example/hooks"])
    department: str | None = Field(default=None, description="部门代码 (管理员为其他部门设置)")


class WebhookOut(BaseModel):
    department: str
    url: str
    updated_at: dt.datetime
    updated_by: str
    secret: str | None = Field(default=None, description="签名密钥, 仅在设置时返回一次")


class DeliveryOut(BaseModel):
    id: int
    notification: int
    kind: str
    url: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_status: int | None
    last_error: str | None
    delivered_at: dt.datetime | None


def delivery_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut(id=delivery.id, notification=delivery.notification_id,
                       kind=delivery.notification.kind, url=delivery.url,
                       status=delivery.status, attempts=delivery.attempts,
                       next_attempt_at=delivery.next_attempt_at,
                       last_status=delivery.last_status, last_error=delivery.last_error,
                       delivered_at=delivery.delivered_at)
