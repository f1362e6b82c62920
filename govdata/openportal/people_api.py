"""The portal's people side over HTTP (``/api/v1/open/...``): public accounts,
applications for conditional open data and their API keys, data requests and error
reports; and the providing departments' decisions and answers (staff tokens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from govdata.openportal import accounts, apikeys, applications, feedback
from govdata.openportal.deps import (
    CurrentAccount,
    OptionalAccount,
    account_principal,
    session_token,
)
from govdata.openportal.models import Account
from govdata.openportal.people_schemas import (
    AccountIn,
    AccountOut,
    AnswerIn,
    ApplicationIn,
    ApplicationOut,
    ApplicationPage,
    ApproveIn,
    DataRequestIn,
    DataRequestOut,
    DataRequestPage,
    ErrorReportIn,
    ErrorReportOut,
    ErrorReportPage,
    IssuedKeyOut,
    KeyOut,
    ProviderApplicationOut,
    ProviderApplicationPage,
    ReasonIn,
    SessionOut,
    SignIn,
    account_out,
    application_out,
    data_request_out,
    error_report_out,
    key_out,
)
from govdata.openportal.ratelimit import RATE_LIMITED
from govdata.platform.deps import CurrentPrincipal, Limit, Offset, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/open", tags=["open data: the public"],
                   dependencies=[RATE_LIMITED])
Status = Annotated[str | None, Query(max_length=20, description="按状态筛选")]


# --- accounts --------------------------------------------------------------------------

@router.post("/accounts", response_model=AccountOut, status_code=201)
def register(body: AccountIn, session: SessionDep) -> AccountOut:
    """Register a public account (email + password of at least 10 characters)."""
    return account_out(accounts.register(session, email=body.email, password=body.password,
                                         name=body.name, organisation=body.organisation))


@router.post("/accounts/token", response_model=SessionOut)
def sign_in(body: SignIn, session: SessionDep, settings: SettingsDep) -> SessionOut:
    """Sign in: a session token to send as ``Authorization: Bearer gdp_…``."""
    _, token, _ = accounts.sign_in(session, settings, email=body.email, password=body.password)
    return SessionOut(access_token=token, expires_in=settings.portal_session_hours * 3600)


@router.delete("/accounts/token", status_code=204)
def sign_out(request: Request, session: SessionDep, account: CurrentAccount) -> Response:
    accounts.sign_out(session, session_token(request) or "")
    return Response(status_code=204)


@router.get("/accounts/me", response_model=AccountOut)
def me(account: CurrentAccount) -> AccountOut:
    return account_out(account)


# --- applications and keys (the applicant) -----------------------------------------------

def _application_out(session, application) -> ApplicationOut:
    return application_out(application, applications.resource_of(session, application))


@router.post("/applications", response_model=ApplicationOut, status_code=201)
def apply(body: ApplicationIn, request: Request, session: SessionDep, settings: SettingsDep,
          account: CurrentAccount) -> ApplicationOut:
    """Apply for a conditional open dataset's data: purpose, data items, undertaking and
    the date the data is needed until."""
    found = applications.apply(session, account, settings, dataset=body.dataset,
                               purpose=body.purpose, data_items=body.data_items,
                               undertaking=body.undertaking, until=body.until,
                               principal=account_principal(request, account))
    return _application_out(session, found)


@router.get("/applications", response_model=ApplicationPage)
def my_applications(session: SessionDep, account: CurrentAccount) -> ApplicationPage:
    found = applications.mine(session, account)
    return ApplicationPage(items=[_application_out(session, a) for a in found],
                           total=len(found), limit=len(found), offset=0)


@router.get("/applications/{application_id}", response_model=ApplicationOut)
def my_application(application_id: int, session: SessionDep,
                   account: CurrentAccount) -> ApplicationOut:
    return _application_out(session, applications.get_own(session, account, application_id))


@router.post("/applications/{application_id}/keys", response_model=IssuedKeyOut,
             status_code=201)
def issue_key(application_id: int, request: Request, session: SessionDep,
              account: CurrentAccount) -> IssuedKeyOut:
    """A new API key for an approved application, shown this once."""
    key, raw = apikeys.issue(session, account, application_id,
                             principal=account_principal(request, account))
    application = applications.get_own(session, account, application_id)
    shown = key_out(key, application, applications.resource_of(session, application))
    return IssuedKeyOut(**shown.model_dump(), key=raw)


@router.get("/keys", response_model=list[KeyOut])
def my_keys(session: SessionDep, account: CurrentAccount) -> list[KeyOut]:
    return [key_out(key, application, applications.resource_of(session, application))
            for key, application in apikeys.keys_of(session, account)]


@router.post("/keys/{key_id}/revoke", response_model=KeyOut)
def revoke_key(key_id: str, request: Request, session: SessionDep,
               account: CurrentAccount) -> KeyOut:
    key = apikeys.revoke_own(session, account, key_id,
                             principal=account_principal(request, account))
    application = applications.get_own(session, account, key.application_id)
    return key_out(key, application, applications.resource_of(session, application))


# --- applications (the providing department) ---------------------------------------------

def _provider_out(session, application) -> ProviderApplicationOut:
    applicant = session.get_one(Account, application.account_id)
    shown = _application_out(session, application)
    return ProviderApplicationOut(**shown.model_dump(), applicant_email=applicant.email,
                                  applicant_name=applicant.name,
                                  applicant_organisation=applicant.organisation)


@router.get("/provider/applications", response_model=ProviderApplicationPage)
def provider_applications(session: SessionDep, principal: CurrentPrincipal,
                          status: Status = None, limit: Limit = 20,
                          offset: Offset = 0) -> ProviderApplicationPage:
    """Applications for the datasets of the caller's department (approvers, stewards)."""
    found, total = applications.provider_queue(session, principal, status=status, limit=limit,
                                               offset=offset)
    return ProviderApplicationPage(items=[_provider_out(session, a) for a in found],
                                   total=total, limit=limit, offset=offset)


@router.get("/provider/applications/{application_id}", response_model=ProviderApplicationOut)
def provider_application(application_id: int, session: SessionDep,
                         principal: CurrentPrincipal) -> ProviderApplicationOut:
    return _provider_out(session, applications.get_as_provider(session, principal,
                                                               application_id))


@router.post("/provider/applications/{application_id}/approve",
             response_model=ProviderApplicationOut)
def approve(application_id: int, body: ApproveIn, session: SessionDep,
            principal: CurrentPrincipal) -> ProviderApplicationOut:
    """Approve (possibly fewer data items, an earlier date); approvers of the provider."""
    found = applications.approve(session, principal, application_id,
                                 data_items=body.data_items, until=body.until, note=body.note)
    return _provider_out(session, found)


@router.post("/provider/applications/{application_id}/reject",
             response_model=ProviderApplicationOut)
def reject(application_id: int, body: ReasonIn, session: SessionDep,
           principal: CurrentPrincipal) -> ProviderApplicationOut:
    """Refuse, with the reasons the applicant will read."""
    found = applications.reject(session, principal, application_id, reason=body.reason)
    return _provider_out(session, found)


@router.post("/provider/applications/{application_id}/revoke",
             response_model=ProviderApplicationOut)
def revoke(application_id: int, body: ReasonIn, session: SessionDep,
           principal: CurrentPrincipal) -> ProviderApplicationOut:
    """End an approved application's access now; its keys stop working."""
    found = applications.revoke(session, principal, application_id, reason=body.reason)
    return _provider_out(session, found)


# --- data requests ---------------------------------------------------------------------

def _request_out(session, found) -> DataRequestOut:
    return data_request_out(found, feedback.department_of(session, found.department_id))


@router.post("/data-requests", response_model=DataRequestOut, status_code=201)
def submit_data_request(body: DataRequestIn, session: SessionDep,
                        account: OptionalAccount) -> DataRequestOut:
    """Ask for data that is not open yet; no account needed. The contact address is
    never shown publicly."""
    found = feedback.submit_request(session, title=body.title, description=body.description,
                                    department=body.department,
                                    contact_email=body.contact_email, account=account)
    return _request_out(session, found)


@router.get("/data-requests", response_model=DataRequestPage)
def data_requests(session: SessionDep, status: Status = None,
                  department: Annotated[str | None, Query(max_length=64)] = None,
                  limit: Limit = 20, offset: Offset = 0) -> DataRequestPage:
    found, total = feedback.list_requests(session, status=status, department=department,
                                          limit=limit, offset=offset)
    return DataRequestPage(items=[_request_out(session, f) for f in found], total=total,
                           limit=limit, offset=offset)


@router.get("/data-requests/{request_id}", response_model=DataRequestOut)
def data_request(request_id: int, session: SessionDep) -> DataRequestOut:
    return _request_out(session, feedback.get_request(session, request_id))


@router.post("/data-requests/{request_id}/answer", response_model=DataRequestOut)
def answer_data_request(request_id: int, body: AnswerIn, session: SessionDep,
                        principal: CurrentPrincipal) -> DataRequestOut:
    """Answer (planned | opened | declined): the named department's stewards or approvers,
    the administrators for a request naming no department."""
    found = feedback.answer_request(session, principal, request_id, outcome=body.outcome,
                                    answer=body.answer)
    return _request_out(session, found)


# --- error reports ---------------------------------------------------------------------

def _report_out(session, found) -> ErrorReportOut:
    return error_report_out(found, feedback.resource_of(session, found))


@router.post("/error-reports", response_model=ErrorReportOut, status_code=201)
def submit_error_report(body: ErrorReportIn, session: SessionDep,
                        account: OptionalAccount) -> ErrorReportOut:
    """Report an error in an open dataset (纠错); no account needed."""
    found = feedback.submit_report(session, dataset=body.dataset, description=body.description,
                                   data_item=body.data_item, record=body.record,
                                   contact_email=body.contact_email, account=account)
    return _report_out(session, found)


@router.get("/error-reports", response_model=ErrorReportPage)
def error_reports(session: SessionDep, status: Status = None,
                  dataset: Annotated[str | None, Query(max_length=40)] = None,
                  department: Annotated[str | None, Query(max_length=64)] = None,
                  limit: Limit = 20, offset: Offset = 0) -> ErrorReportPage:
    found, total = feedback.list_reports(session, dataset=dataset, status=status,
                                         department=department, limit=limit, offset=offset)
    return ErrorReportPage(items=[_report_out(session, f) for f in found], total=total,
                           limit=limit, offset=offset)


@router.get("/error-reports/{report_id}", response_model=ErrorReportOut)
def error_report(report_id: int, session: SessionDep) -> ErrorReportOut:
    return _report_out(session, feedback.get_report(session, report_id))


@router.post("/error-reports/{report_id}/answer", response_model=ErrorReportOut)
def answer_error_report(report_id: int, body: AnswerIn, session: SessionDep,
                        principal: CurrentPrincipal) -> ErrorReportOut:
    """Answer (corrected | no_error): the dataset's department's stewards or approvers."""
    found = feedback.answer_report(session, principal, report_id, outcome=body.outcome,
                                   answer=body.answer)
    return _report_out(session, found)
