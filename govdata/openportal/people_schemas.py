"""Shapes of the portal's people side: accounts, applications, API keys, data requests and
error reports. Public views of requests and reports never carry the contact address or
who submitted them."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from govdata.catalog.models import Resource
from govdata.openportal import apikeys, applications, feedback, service
from govdata.openportal.models import (
    Account,
    ApiKey,
    Application,
    DataRequest,
    ErrorReport,
)
from govdata.openportal.schemas import DepartmentRef
from govdata.platform.models import Department

Text = Field(default="", max_length=5000)


class AccountIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)
    name: str = Field(max_length=200)
    organisation: str | None = Field(default=None, max_length=400)


class SignIn(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


class AccountOut(BaseModel):
    id: str
    email: str
    name: str
    organisation: str | None
    created_at: dt.datetime


class SessionOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


def account_out(account: Account) -> AccountOut:
    return AccountOut(id=account.id, email=account.email, name=account.name,
                      organisation=account.organisation, created_at=account.created_at)


class DatasetRef(BaseModel):
    name: str
    title: str
    department: DepartmentRef


def dataset_ref(resource: Resource) -> DatasetRef:
    return DatasetRef(name=service.dataset_name(resource.code), title=resource.name,
                      department=DepartmentRef(code=resource.department.code,
                                               name=resource.department.name))


class ApplicationIn(BaseModel):
    dataset: str = Field(max_length=40, description="数据集名, 如 105001-000001")
    purpose: str = Text
    data_items: list[str] = Field(default_factory=list, max_length=500)
    undertaking: str = Text
    until: dt.date | None = None


class ApplicationOut(BaseModel):
    id: int
    dataset: DatasetRef
    purpose: str
    data_items: list[str]
    undertaking: str
    until: dt.date
    status: str = Field(description="pending | approved | refused | revoked | expired")
    status_title: str
    granted_items: list[str] | None
    granted_until: dt.date | None
    reason: str | None = Field(description="批准说明, 或未获批准/撤销的理由")
    decided_at: dt.datetime | None
    created_at: dt.datetime


def application_out(application: Application, resource: Resource) -> ApplicationOut:
    status = applications.shown_status(application)
    return ApplicationOut(
        id=application.id, dataset=dataset_ref(resource), purpose=application.purpose,
        data_items=application.data_items, undertaking=application.undertaking,
        until=application.until, status=status,
        status_title=applications.STATUS_TITLES[status],
        granted_items=application.granted_items, granted_until=application.granted_until,
        reason=application.reason, decided_at=application.decided_at,
        created_at=application.created_at)


class ProviderApplicationOut(ApplicationOut):
    """An application as the providing department sees it: with the applicant."""

    applicant_email: str
    applicant_name: str
    applicant_organisation: str | None


class ApplicationPage(BaseModel):
    items: list[ApplicationOut]
    total: int
    limit: int
    offset: int


class ProviderApplicationPage(BaseModel):
    items: list[ProviderApplicationOut]
    total: int
    limit: int
    offset: int


class ApproveIn(BaseModel):
    data_items: list[str] | None = Field(default=None, max_length=500)
    until: dt.date | None = None
    note: str | None = Field(default=None, max_length=2000)


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=2000)


class KeyOut(BaseModel):
    id: str
    prefix: str
    application: int
    dataset: str
    state: str = Field(description="active | revoked | expired")
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class IssuedKeyOut(KeyOut):
    key: str = Field(description="只显示这一次, 请妥善保存 (shown once)")


def key_out(key: ApiKey, application: Application, resource: Resource) -> KeyOut:
    return KeyOut(id=key.id, prefix=key.prefix, application=application.id,
                  dataset=service.dataset_name(resource.code), state=apikeys.state(key),
                  created_at=key.created_at, expires_at=key.expires_at,
                  revoked_at=key.revoked_at)


class DataRequestIn(BaseModel):
    title: str = Field(default="", max_length=400)
    description: str = Text
    department: str | None = Field(default=None, max_length=64)
    contact_email: str | None = Field(default=None, max_length=254)


class DataRequestOut(BaseModel):
    id: int
    title: str
    description: str
    department: DepartmentRef | None
    status: str = Field(description="pending | planned | opened | declined")
    status_title: str
    answer: str | None
    answered_at: dt.datetime | None
    created_at: dt.datetime


def data_request_out(found: DataRequest, department: Department | None) -> DataRequestOut:
    return DataRequestOut(
        id=found.id, title=found.title, description=found.description,
        department=DepartmentRef(code=department.code, name=department.name)
        if department else None, status=found.status,
        status_title=feedback.STATUS_TITLES[found.status], answer=found.answer,
        answered_at=found.answered_at, created_at=found.created_at)


class DataRequestPage(BaseModel):
    items: list[DataRequestOut]
    total: int
    limit: int
    offset: int


class ErrorReportIn(BaseModel):
    dataset: str = Field(max_length=40)
    description: str = Text
    data_item: str | None = Field(default=None, max_length=100)
    record: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)


class ErrorReportOut(BaseModel):
    id: int
    dataset: DatasetRef
    data_item: str | None
    record: str | None
    description: str
    status: str = Field(description="pending | corrected | no_error")
    status_title: str
    answer: str | None
    answered_at: dt.datetime | None
    created_at: dt.datetime


def error_report_out(found: ErrorReport, resource: Resource) -> ErrorReportOut:
    return ErrorReportOut(
        id=found.id, dataset=dataset_ref(resource), data_item=found.data_item,
        record=found.record, description=found.description, status=found.status,
        status_title=feedback.STATUS_TITLES[found.status], answer=found.answer,
        answered_at=found.answered_at, created_at=found.created_at)


class ErrorReportPage(BaseModel):
    items: list[ErrorReportOut]
    total: int
    limit: int
    offset: int


class AnswerIn(BaseModel):
    outcome: str = Field(max_length=20)
    answer: str = Field(default="", max_length=5000)
