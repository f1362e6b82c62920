"""The one table of what every route answers to whom: ``TABLE[(method, path)]``.

Each entry names the objects its path (or body) is tried with (``targets``, from the world)
and decides, for each actor and target, the designed outcome: ``ALLOW`` or the refusal
(401, 403, 404, or ``LOGIN``: a page's redirect to its sign-in page). RULES.md §1, §3, §6
and the docstrings of ``catalog/access.py``, ``exchange/parties.py`` and
``platform/jurisdiction.py`` are the design:

- our actors all belong to our own department (``own``, division 500000); ``peer`` is another
  department under the same division (our admin governs it), ``far`` one of another
  jurisdiction; ``superuser`` governs all, ``auditor`` reads all and changes nothing;
- published resources are seen by every staff member, drafts by their department, the
  admins of its jurisdiction, auditors and superusers (to anyone else they do not exist: 404);
- catalog writes are for the department's stewards, the admins of its jurisdiction and
  superusers (403 for those who see the resource);
- the public side shows published resources whose open type is not ``none``; their data
  only when unconditional (conditional: 403); anything else is 404.

A route missing here fails ``test_every_route_is_in_the_table``: add the new route with its
design when you add the route.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from govdata.platform import clock
from tests.catalog import fields
from tests.conftest import synthetic_uscc

from .world import ITEMS, KINDS, ROWS, STATUSES, UNDERTAKING, Target, World, datastore_id

ALLOW = "allow"
LOGIN = "login"  # a page's redirect to its sign-in page
STAFF = ("steward", "requester", "approver", "auditor", "admin", "superuser")
RELATIONS = ("own", "peer", "far")
Outcome = str | int
Decide = Callable[[str, Target | None], Outcome]


@dataclass(frozen=True)
class Expect:
    decide: Decide
    targets: Callable[[World], list[Target]] | None = None
    request: Callable[[World, Target | None], dict[str, Any]] | None = None
    audience: str = "staff"  # staff | public | console | page | ops: what it may show


# --- who sees and who changes ---------------------------------------------------------------

def governs(actor: str, dept: str) -> bool:
    """``jurisdiction.covers`` for our actors."""
    return actor == "superuser" or (actor == "admin" and dept in ("own", "peer"))


def sees(actor: str, dept: str, status: str) -> bool:
    """``catalog.access.can_see`` for our actors (all of them in ``own``)."""
    return (status != "draft" or actor in ("auditor", "superuser") or dept == "own"
            or governs(actor, dept))


def writes(actor: str, dept: str) -> bool:
    """``catalog.access.may_write_for``."""
    return governs(actor, dept) or (actor == "steward" and dept == "own")


def oversees(actor: str, *depts: str) -> bool:
    """``exchange.parties.oversees``."""
    return actor in ("auditor", "superuser") or any(governs(actor, d) for d in depts)


def is_open(target: Target) -> bool:
    return target.status == "published" and target.share != "none"


# --- outcome builders ---------------------------------------------------------------------

def anyone(actor: str, target: Target | None) -> Outcome:
    return ALLOW


def staff(actor: str, target: Target | None) -> Outcome:
    return 401 if actor in ("anonymous", "public") else ALLOW


def roles(*allowed: str) -> Decide:
    def decide(actor: str, target: Target | None) -> Outcome:
        if actor in ("anonymous", "public"):
            return 401
        return ALLOW if actor in allowed else 403
    return decide


def account(actor: str, target: Target | None) -> Outcome:
    return ALLOW if actor == "public" else 401


def guarded(inner: Decide) -> Decide:
    """Staff only, then ``inner``."""
    def decide(actor: str, target: Target | None) -> Outcome:
        if actor in ("anonymous", "public"):
            return 401
        return inner(actor, target)
    return decide


@guarded
def read_resource(actor: str, t: Target | None) -> Outcome:
    return ALLOW if sees(actor, t.dept, t.status) else 404


@guarded
def write_resource(actor: str, t: Target | None) -> Outcome:
    if not sees(actor, t.dept, t.status):
        return 404
    return ALLOW if writes(actor, t.dept) else 403


def public_dataset(actor: str, t: Target | None) -> Outcome:
    return ALLOW if is_open(t) else 404


def public_data(actor: str, t: Target | None) -> Outcome:
    if not is_open(t):
        return 404
    return ALLOW if t.share == "open" else 403


@guarded
def create_resource(actor: str, t: Target | None) -> Outcome:
    return ALLOW if writes(actor, t.dept) else 403


@guarded
def administer(actor: str, t: Target | None) -> Outcome:
    """Departments and users of a jurisdiction: its admins and superusers."""
    return ALLOW if governs(actor, t.dept) else 403


@guarded
def exchange_party(actor: str, t: Target | None) -> Outcome:
    """A request, grant or dispute: its two departments (any of their staff) and those who
    oversee them. ``side`` provider/consumer: ours; peer: peer↔far; far: far↔far2."""
    if t.side in ("provider", "consumer"):
        return ALLOW
    return ALLOW if oversees(actor, *(("peer", "far") if t.side == "peer" else ("far",))) \
        else 403


@guarded
def decide_request(actor: str, t: Target | None) -> Outcome:
    """Approve, reject, revoke: an approver of the providing department."""
    if t.side == "provider" and actor == "approver":
        return ALLOW
    return 403


@guarded
def consumer_act(actor: str, t: Target | None) -> Outcome:
    """Withdraw a request: the requesting department's requesters."""
    if t.side == "consumer" and actor == "requester":
        return ALLOW
    return 403


@guarded
def answer_dispute(actor: str, t: Target | None) -> Outcome:
    return ALLOW if t.side == "provider" and actor in ("steward", "approver") else 403


@guarded
def department_view(actor: str, t: Target | None) -> Outcome:
    """A department's own records (inbox, evaluation, access log): its members, overseers."""
    return ALLOW if t.dept == "own" or oversees(actor, t.dept) else 403


@guarded
def webhook_owner(actor: str, t: Target | None) -> Outcome:
    return ALLOW if governs(actor, t.dept) or (actor == "steward" and t.dept == "own") \
        else 403


@guarded
def requester_of_grant(actor: str, t: Target | None) -> Outcome:
    if actor != "requester":
        return 403
    return ALLOW if t.side == "consumer" else 403


@guarded
def own_notification(actor: str, t: Target | None) -> Outcome:
    return ALLOW if t.dept == "own" else 404


def own_account_object(actor: str, t: Target | None) -> Outcome:
    if actor != "public":
        return 401
    return ALLOW if t.owner == "public" else 404


@guarded
def provider_staff(actor: str, t: Target | None) -> Outcome:
    """The providing department's approvers and stewards (public applications)."""
    if actor not in ("approver", "steward"):
        return 403
    return ALLOW if t.dept == "own" else 403


@guarded
def provider_approver(actor: str, t: Target | None) -> Outcome:
    if actor not in ("approver", "steward"):
        return 403
    return ALLOW if t.dept == "own" and actor == "approver" else 403


@guarded
def answering_department(actor: str, t: Target | None) -> Outcome:
    return ALLOW if t.dept == "own" and actor in ("steward", "approver") else 403


def console(*allowed: str) -> Decide:
    def decide(actor: str, target: Target | None) -> Outcome:
        if actor in ("anonymous", "public"):
            return LOGIN
        return ALLOW if actor in allowed else 403
    return decide


def console_then(page_roles: tuple[str, ...], inner: Decide) -> Decide:
    """A console page of ``page_roles`` about an object: then as the API decides."""
    gate = console(*page_roles)

    def decide(actor: str, target: Target | None) -> Outcome:
        outcome = gate(actor, target)
        return inner(actor, target) if outcome == ALLOW else outcome
    return decide


def signed_in_page(actor: str, t: Target | None) -> Outcome:
    if actor != "public":
        return LOGIN
    return ALLOW if t is None or t.owner in (None, "public") else 404


# --- targets ------------------------------------------------------------------------------

def resources(world: World) -> list[Target]:
    return [Target("resource", r.code, dept=d, status=s, share=k)
            for (d, s, k), r in world.resources.items() if d in RELATIONS]


def sample_resources(world: World) -> list[Target]:
    """One resource per department and status (the kinds in turn): for routes where the
    share/open type does not change who may act."""
    kinds = list(KINDS)
    return [t for i, t in enumerate(resources(world))
            if t.share == kinds[(RELATIONS.index(t.dept) + STATUSES.index(t.status)) % 3]]


def datasets(world: World) -> list[Target]:
    return [Target("dataset", r.code.replace("/", "-"), dept=d, status=s, share=k)
            for (d, s, k), r in world.resources.items() if d in RELATIONS]


def sample_datasets(world: World) -> list[Target]:
    """Each status and kind once (the department in turn): for the public's routes, where
    the department does not change what anyone sees."""
    kinds = list(KINDS)
    return [t for t in datasets(world)
            if t.dept == RELATIONS[(STATUSES.index(t.status) + kinds.index(t.share)) % 3]]


def datastore_ids(world: World) -> list[Target]:
    return [Target("datastore", datastore_id(r), dept=d, status=s, share=k)
            for (d, s, k), r in world.resources.items() if d in RELATIONS]


def departments(world: World) -> list[Target]:
    return [Target("department", world.departments[r], dept=r) for r in RELATIONS]


def users(world: World) -> list[Target]:
    return [Target("user", world.users["requester"], dept="own"),
            Target("user", world.others["peer"], dept="peer"),
            Target("user", world.others["far"], dept="far")]


def share_requests(world: World) -> list[Target]:
    return [Target("request", str(i), side=side) for side, i in world.requests.items()]


def grants(world: World) -> list[Target]:
    return [Target("grant", str(i), side=side) for side, i in world.grants.items()]


def disputes(world: World) -> list[Target]:
    return [Target("dispute", str(i), side=side) for side, i in world.disputes.items()]


def notifications(world: World) -> list[Target]:
    return [Target("notification", str(i), dept=d) for d, i in world.notifications.items()]


def applications(world: World) -> list[Target]:
    """Ours pending (to our department), ours approved (to the peer), another's (far)."""
    return [Target("application", str(world.applications["pending"]), dept="own",
                   owner="public", status="pending"),
            Target("application", str(world.applications["public"]), dept="peer",
                   owner="public", status="approved"),
            Target("application", str(world.applications["other"]), dept="far",
                   owner="other", status="approved")]


def keys(world: World) -> list[Target]:
    return [Target("key", world.keys[o], owner=o) for o in ("public", "other")]


def data_requests(world: World) -> list[Target]:
    return [Target("data_request", str(i), dept=d) for d, i in world.data_requests.items()]


def error_reports(world: World) -> list[Target]:
    return [Target("error_report", str(i), dept=d) for d, i in world.error_reports.items()]


def granted_resources(world: World) -> list[Target]:
    """A resource granted to us (consumer side) and one granted to nobody of ours."""
    return [Target("resource", world.resource("peer", "published", "open").code,
                   dept="peer", side="consumer"),
            Target("resource", world.resource("far", "published", "open").code,
                   dept="far", side=None)]


def department_query(world: World) -> list[Target]:
    return [Target("department_query", world.departments[r], dept=r) for r in RELATIONS]


def static_files(world: World) -> list[Target]:
    return [Target("static", "openportal/portal.css"), Target("static", "console/console.css")]


def ckan_actions(world: World) -> list[Target]:
    """CKAN actions about each dataset (package_show, datastore_search) and a search."""
    found = [Target("ckan", "package_search", extra={"params": {"q": "矩阵"}})]
    for (d, s, k), r in world.resources.items():
        if d not in RELATIONS:
            continue
        name = r.code.replace("/", "-")
        found.append(Target("ckan", "package_show", dept=d, status=s, share=k,
                            extra={"params": {"id": name}}))
        found.append(Target("ckan", "datastore_search", dept=d, status=s, share=k,
                            extra={"params": {"resource_id": datastore_id(r)}, "data": True}))
    return found


def ckan_sample(world: World) -> list[Target]:
    """The other spellings of the action URL: a search and one action of each kind on a
    draft of another department."""
    return [t for t in ckan_actions(world)
            if t.value == "package_search" or (t.dept, t.status, t.share) in (
                ("peer", "draft", "open"), ("far", "published", "cond"))]


def ckan_decide(actor: str, t: Target | None) -> Outcome:
    """Public reads; a package is also shown (private, or as a draft) to those who may
    change it, as CKAN shows an organisation's private datasets to its editors."""
    if t.value == "package_search":
        return ALLOW
    if t.extra.get("data"):
        return public_data(actor, t)
    return ALLOW if actor in STAFF and writes(actor, t.dept) else public_dataset(actor, t)


# --- request bodies -----------------------------------------------------------------------

def until(days: int = 30) -> str:
    return (clock.today() + dt.timedelta(days=days)).isoformat()


def js(body: Any) -> Callable[[World, Target | None], dict[str, Any]]:
    return lambda world, target: {"json": body}


def csv_upload(world: World, target: Target | None) -> dict[str, Any]:
    text = ",".join(i["name"] for i in ITEMS) + "\n" + "\n".join(",".join(r) for r in ROWS)
    return {"files": {"file": ("data.csv", text.encode(), "text/csv")}}


def new_resource(world: World, target: Target | None) -> dict[str, Any]:
    return {"json": {**fields(name="矩阵新登记资源"), "department": target.value}}


def new_department(world: World, target: Target | None) -> dict[str, Any]:
    division = {"own": "500104", "far": "210102"}[target.dept]
    return {"json": {"code": f"sf-new-{target.dept}", "name": "矩阵新部门",
                     "uscc": synthetic_uscc(division), "division_code": division}}


def new_user(world: World, target: Target | None) -> dict[str, Any]:
    return {"json": {"username": f"sf-new-{target.dept}", "department_code": target.value,
                     "roles": ["requester"]}}


def share_request(world: World, target: Target | None) -> dict[str, Any]:
    return {"json": {"resource": world.resource("peer", "published", "cond").code,
                     "purpose": "矩阵测试用途", "basis": "《矩阵测试办法》第一条",
                     "until": until(90)}}


def dispute(world: World, target: Target | None) -> dict[str, Any]:
    return {"json": {"resource": target.value, "records": [
        {"key": "1", "item": "aqi", "problem": "矩阵测试: 指数有误"}]}}


def catalog_import(world: World, target: Target | None) -> dict[str, Any]:
    record = {**fields(name="矩阵导入资源"), "department": world.departments["own"]}
    return {"files": {"file": ("catalog.json", json.dumps([record], ensure_ascii=False)
                               .encode(), "application/json")}}


def application(world: World, target: Target | None) -> dict[str, Any]:
    return {"json": {"dataset": world.resource("far", "published", "cond").code.replace("/", "-"),
                     "purpose": "研究矩阵测试数据的分布与变化情况",
                     "data_items": ["station", "aqi"],
                     "undertaking": UNDERTAKING,
                     "until": until()}}


def ckan_request(world: World, target: Target | None) -> dict[str, Any]:
    return {"params": target.extra.get("params", {})}


def ckan_post(world: World, target: Target | None) -> dict[str, Any]:
    return {"json": target.extra.get("params", {})}


def sign_in(world: World, target: Target | None) -> dict[str, Any]:
    return {"data": {"username": world.users["requester"], "password": "surface-password-2026"}}


def xlsx_query(world: World, target: Target | None) -> dict[str, Any]:
    return {"params": {"format": "xlsx"}}


def form(**values: Any) -> Callable[[World, Target | None], dict[str, Any]]:
    return lambda world, target: {"data": dict(values)}


def query(**values: Any) -> Callable[[World, Target | None], dict[str, Any]]:
    return lambda world, target: {"params": dict(values)}


def department_param(world: World, target: Target | None) -> dict[str, Any]:
    return {"params": {"department": target.value}}


def webhook_body(world: World, target: Target | None) -> dict[str, Any]:
    return {"json": {"url": "https://dept.example/hooks", "department": target.value}}



# --- the table ----------------------------------------------------------------------------

OPS = Expect(anyone, audience="ops")
PUBLIC = Expect(anyone, audience="public")
STAFF_ONLY = Expect(staff)
API = "/api/v1"
CAT = f"{API}/catalog"
RES = f"{CAT}/resources/{{code:rcode}}"
EX = f"{API}/exchange"
OPEN = f"{API}/open"
DATASET = f"{OPEN}/datasets/{{name}}"

TABLE: dict[tuple[str, str], Expect] = {
    # operations and API docs
    ("GET", "/openapi.json"): OPS, ("HEAD", "/openapi.json"): OPS,
    ("GET", "/docs"): OPS, ("GET", "/docs/oauth2-redirect"): OPS, ("GET", "/redoc"): OPS,
    ("GET", "/healthz"): OPS, ("GET", "/readyz"): OPS, ("GET", "/metrics"): OPS,
    ("GET", "/static/{part}/{path:path}"): Expect(anyone, static_files, audience="ops"),
    ("HEAD", "/static/{part}/{path:path}"): Expect(anyone, static_files, audience="ops"),
    # identity and ledger
    ("POST", f"{API}/auth/token"): Expect(anyone, request=sign_in),
    ("GET", f"{API}/auth/me"): STAFF_ONLY,
    ("GET", f"{API}/departments"): STAFF_ONLY,
    ("POST", f"{API}/departments"): Expect(
        administer, lambda w: [Target("division", "new", dept="own"),
                               Target("division", "new", dept="far")], new_department),
    ("GET", f"{API}/departments/{{code}}"): Expect(staff, departments),
    ("POST", f"{API}/users"): Expect(administer, departments, new_user),
    ("PATCH", f"{API}/users/{{username}}"): Expect(administer, users, js({"active": True})),
    ("GET", f"{API}/audit/events"): Expect(roles("auditor")),
    ("GET", f"{API}/audit/verify"): Expect(roles("auditor")),
    # catalog
    ("GET", f"{CAT}/resources"): STAFF_ONLY,
    ("POST", f"{CAT}/resources"): Expect(create_resource, departments, new_resource),
    ("GET", RES): Expect(read_resource, resources),
    ("PATCH", RES): Expect(write_resource, sample_resources,
                           js({"summary": "矩阵测试修改后的摘要"})),
    ("GET", f"{RES}/history"): Expect(read_resource, sample_resources),
    ("POST", f"{RES}/publish"): Expect(write_resource, sample_resources),
    ("POST", f"{RES}/retire"): Expect(write_resource, sample_resources, js({"reason": "矩阵测试"})),
    ("GET", f"{CAT}/negative-list"): STAFF_ONLY,
    ("GET", f"{CAT}/departments/{{department}}/share-list"): Expect(staff, departments),
    ("GET", f"{CAT}/departments/{{department}}/open-list"): Expect(staff, departments),
    ("GET", f"{CAT}/export"): STAFF_ONLY,
    ("POST", f"{CAT}/import"): Expect(roles("steward", "admin", "superuser"),
                                      request=catalog_import),
    ("GET", f"{CAT}/stats"): STAFF_ONLY,
    # datastore (a department's own data, before masking)
    ("POST", f"{RES}/data"): Expect(write_resource, sample_resources, csv_upload),
    ("GET", f"{RES}/data"): Expect(write_resource, sample_resources),
    ("GET", f"{RES}/data/versions"): Expect(write_resource, sample_resources),
    ("GET", f"{RES}/data/export"): Expect(write_resource, sample_resources, xlsx_query),
    # exchange
    ("GET", f"{EX}/requests"): STAFF_ONLY,
    ("POST", f"{EX}/requests"): Expect(roles("requester"), request=share_request),
    ("GET", f"{EX}/requests/{{request_id}}"): Expect(exchange_party, share_requests),
    ("POST", f"{EX}/requests/{{request_id}}/approve"): Expect(decide_request, share_requests,
                                                               js({})),
    ("POST", f"{EX}/requests/{{request_id}}/reject"): Expect(decide_request, share_requests,
                                                              js({"reason": "矩阵测试拒绝"})),
    ("POST", f"{EX}/requests/{{request_id}}/withdraw"): Expect(consumer_act, share_requests),
    ("GET", f"{EX}/grants"): STAFF_ONLY,
    ("GET", f"{EX}/grants/{{grant_id}}"): Expect(exchange_party, grants),
    ("POST", f"{EX}/grants/{{grant_id}}/revoke"): Expect(decide_request, grants,
                                                          js({"reason": "矩阵测试撤销"})),
    ("GET", f"{EX}/data/{{code:rcode}}"): Expect(requester_of_grant, granted_resources),
    ("GET", f"{EX}/access-log"): Expect(department_view, department_query, department_param),
    ("GET", f"{EX}/disputes"): STAFF_ONLY,
    ("POST", f"{EX}/disputes"): Expect(requester_of_grant, granted_resources, dispute),
    ("GET", f"{EX}/disputes/{{dispute_id}}"): Expect(exchange_party, disputes),
    ("POST", f"{EX}/disputes/{{dispute_id}}/resolve"): Expect(
        answer_dispute, disputes, js({"answer": "矩阵测试: 已核实"})),
    ("GET", f"{EX}/evaluation"): Expect(department_view, department_query, department_param),
    ("GET", f"{EX}/inbox"): Expect(department_view, department_query, department_param),
    ("POST", f"{EX}/inbox/{{notification_id}}/read"): Expect(own_notification, notifications),
    ("PUT", f"{EX}/webhook"): Expect(webhook_owner, department_query, webhook_body),
    ("GET", f"{EX}/webhook"): Expect(webhook_owner, department_query, department_param),
    ("DELETE", f"{EX}/webhook"): Expect(webhook_owner, department_query, department_param),
    ("GET", f"{EX}/webhook/deliveries"): Expect(webhook_owner, department_query,
                                                department_param),
    # open data, no account
    ("GET", f"{OPEN}/datasets"): PUBLIC,
    ("GET", DATASET): Expect(public_dataset, datasets, audience="public"),
    ("PATCH", DATASET): Expect(write_resource, sample_datasets,
                               js({"spatial": "矩阵测试范围"})),
    ("GET", f"{DATASET}/records"): Expect(public_data, datasets, audience="public"),
    ("GET", f"{DATASET}/download"): Expect(public_data, sample_datasets, xlsx_query,
                                           audience="public"),
    ("GET", f"{OPEN}/departments/{{department}}/datasets"): Expect(anyone, departments,
                                                                    audience="public"),
    ("GET", f"{OPEN}/stats"): PUBLIC,
    ("GET", f"{OPEN}/licences"): PUBLIC,
    ("GET", "/catalog.jsonld"): PUBLIC, ("GET", "/catalog.ttl"): PUBLIC,
    ("GET", "/dataset/{name}.jsonld"): Expect(public_dataset, sample_datasets, audience="public"),
    ("GET", "/dataset/{name}.ttl"): Expect(public_dataset, sample_datasets, audience="public"),
    ("GET", "/data.json"): PUBLIC,
    # the CKAN Action API
    ("GET", "/api/3"): PUBLIC, ("POST", "/api/3"): PUBLIC,
    ("GET", "/api"): PUBLIC, ("POST", "/api"): PUBLIC,
    **{(method, path): Expect(
        ckan_decide, ckan_actions if (method, path) == ("GET", "/api/3/action/{name}")
        else ckan_sample, ckan_request if method == "GET" else ckan_post, audience="ckan")
       for path in ("/api/action/{name}", "/api/action/{name}/", "/api/3/action/{name}",
                    "/api/3/action/{name}/") for method in ("GET", "POST")},
    ("GET", "/datastore/dump/{resource_id}"): Expect(public_data, datastore_ids,
                                                     audience="public"),
    # the public's accounts, applications and keys
    ("POST", f"{OPEN}/accounts"): Expect(anyone, request=js({
        "email": "sf-new@example.cn", "password": "surface-password-2026", "name": "矩阵新用户"})),
    ("POST", f"{OPEN}/accounts/token"): Expect(anyone, request=js({
        "email": "sf-other@example.cn", "password": "surface-password-2026"})),
    ("DELETE", f"{OPEN}/accounts/token"): Expect(account),
    ("GET", f"{OPEN}/accounts/me"): Expect(account),
    ("POST", f"{OPEN}/applications"): Expect(account, request=application),
    ("GET", f"{OPEN}/applications"): Expect(account),
    ("GET", f"{OPEN}/applications/{{application_id}}"): Expect(own_account_object,
                                                               applications),
    ("POST", f"{OPEN}/applications/{{application_id}}/keys"): Expect(own_account_object,
                                                                     applications),
    ("GET", f"{OPEN}/keys"): Expect(account),
    ("POST", f"{OPEN}/keys/{{key_id}}/revoke"): Expect(own_account_object, keys),
    ("GET", f"{OPEN}/provider/applications"): Expect(roles("steward", "approver")),
    ("GET", f"{OPEN}/provider/applications/{{application_id}}"): Expect(provider_staff,
                                                                         applications),
    ("POST", f"{OPEN}/provider/applications/{{application_id}}/approve"): Expect(
        provider_approver, applications, js({})),
    ("POST", f"{OPEN}/provider/applications/{{application_id}}/reject"): Expect(
        provider_approver, applications, js({"reason": "矩阵测试拒绝"})),
    ("POST", f"{OPEN}/provider/applications/{{application_id}}/revoke"): Expect(
        provider_approver, applications, js({"reason": "矩阵测试撤销"})),
    ("POST", f"{OPEN}/data-requests"): Expect(anyone, request=js({
        "title": "矩阵测试数据需求", "description": "希望开放矩阵测试所需的数据集合"})),
    ("GET", f"{OPEN}/data-requests"): PUBLIC,
    ("GET", f"{OPEN}/data-requests/{{request_id}}"): Expect(anyone, data_requests,
                                                             audience="public"),
    ("POST", f"{OPEN}/data-requests/{{request_id}}/answer"): Expect(
        answering_department, data_requests,
        js({"outcome": "planned", "answer": "计划下季度开放"})),
    ("POST", f"{OPEN}/error-reports"): Expect(anyone, request=lambda w, t: {"json": {
        "dataset": w.resource("own", "published", "open").code.replace("/", "-"),
        "description": "矩阵测试: 该站点的指数与实际不符"}}),
    ("GET", f"{OPEN}/error-reports"): PUBLIC,
    ("GET", f"{OPEN}/error-reports/{{report_id}}"): Expect(anyone, error_reports,
                                                            audience="public"),
    ("POST", f"{OPEN}/error-reports/{{report_id}}/answer"): Expect(
        answering_department, error_reports, js({"outcome": "corrected",
                                                 "answer": "已核实并更正, 感谢指出"})),
}


# --- the staff console (/console/...) ----------------------------------------------------

STEWARD_PAGES = ("steward", "admin")  # govdata.console.menus
ADMIN_PAGES = ("admin", "superuser")
PUBLIC_SIDE = ("approver", "steward")
DATA_REQUESTS = (*PUBLIC_SIDE, "admin")
DASHBOARD = ("steward", "approver", "auditor", "admin")


def a_request_target(world: World) -> list[Target]:
    """The peer's published conditional resource, which our requesters may ask for."""
    return [Target("resource", world.resource("peer", "published", "cond").code, dept="peer")]


def console_page(*allowed: str) -> Expect:
    return Expect(console(*allowed), audience="console")


def console_object(allowed: tuple[str, ...], inner: Decide, targets, request=None) -> Expect:
    return Expect(console_then(allowed, inner), targets, request, audience="console")


CONSOLE = "/console"
CRES = f"{CONSOLE}/resources/{{code:rcode}}"
TABLE.update({
    ("GET", CONSOLE): Expect(anyone, audience="console"),
    ("GET", f"{CONSOLE}/login"): Expect(anyone, audience="console"),
    ("POST", f"{CONSOLE}/login"): Expect(anyone, request=sign_in, audience="console"),
    ("POST", f"{CONSOLE}/logout"): Expect(lambda actor, target: LOGIN, audience="console"),
    ("GET", f"{CONSOLE}/"): console_page(*STAFF),
    ("GET", f"{CONSOLE}/resources"): console_page(*STEWARD_PAGES),
    ("GET", f"{CONSOLE}/resources/new"): console_page(*STEWARD_PAGES),
    ("POST", f"{CONSOLE}/resources/new"): console_page(*STEWARD_PAGES),
    ("GET", CRES): console_object(STEWARD_PAGES, write_resource, sample_resources),
    ("GET", f"{CRES}/edit"): console_object(STEWARD_PAGES, write_resource, sample_resources),
    ("POST", f"{CRES}/edit"): console_object(STEWARD_PAGES, write_resource, sample_resources),
    ("POST", f"{CRES}/publish"): console_object(STEWARD_PAGES, write_resource, sample_resources),
    ("POST", f"{CRES}/retire"): console_object(STEWARD_PAGES, write_resource, sample_resources,
                                               form(reason="矩阵测试")),
    ("POST", f"{CRES}/data"): console_object(STEWARD_PAGES, write_resource, sample_resources,
                                             csv_upload),
    ("GET", f"{CONSOLE}/catalog-transfer"): console_page(*STEWARD_PAGES),
    ("GET", f"{CONSOLE}/catalog-transfer/export"): console_page(*STEWARD_PAGES),
    ("POST", f"{CONSOLE}/catalog-transfer/import"): Expect(
        console(*STEWARD_PAGES), request=catalog_import, audience="console"),
    ("GET", f"{CONSOLE}/lists"): console_page(*STEWARD_PAGES),
    ("GET", f"{CONSOLE}/catalog"): console_page("requester"),
    ("GET", f"{CONSOLE}/catalog/{{code:rcode}}/request"): console_object(
        ("requester",), anyone, a_request_target),
    ("POST", f"{CONSOLE}/catalog/{{code:rcode}}/request"): console_object(
        ("requester",), anyone, a_request_target,
        form(purpose="矩阵测试用途", basis="《矩阵测试办法》第一条", until=until(90))),
    ("GET", f"{CONSOLE}/my-requests"): console_page("requester"),
    ("GET", f"{CONSOLE}/my-requests/{{request_id}}"): console_object(
        ("requester",), exchange_party, share_requests),
    ("POST", f"{CONSOLE}/my-requests/{{request_id}}/withdraw"): console_object(
        ("requester",), consumer_act, share_requests),
    ("GET", f"{CONSOLE}/grants"): console_page("requester"),
    ("GET", f"{CONSOLE}/grants/{{grant_id}}"): console_object(("requester",), exchange_party,
                                                               grants),
    ("GET", f"{CONSOLE}/grants/{{grant_id}}/download"): console_object(
        ("requester",), consumer_act, grants),
    ("POST", f"{CONSOLE}/grants/{{grant_id}}/dispute"): console_object(
        ("requester",), consumer_act, grants,
        form(key="1", item="aqi", problem="矩阵测试: 指数有误")),
    ("GET", f"{CONSOLE}/inbox"): console_page("approver"),
    ("GET", f"{CONSOLE}/inbox/{{request_id}}"): console_object(("approver",), exchange_party,
                                                                share_requests),
    ("POST", f"{CONSOLE}/inbox/{{request_id}}/approve"): console_object(
        ("approver",), decide_request, share_requests, form(until=until(90), data_items="aqi")),
    ("POST", f"{CONSOLE}/inbox/{{request_id}}/reject"): console_object(
        ("approver",), decide_request, share_requests, form(reason="矩阵测试拒绝")),
    ("GET", f"{CONSOLE}/disputes"): console_page("approver", "steward"),
    ("GET", f"{CONSOLE}/disputes/{{dispute_id}}"): console_object(
        ("approver", "steward"), exchange_party, disputes),
    ("POST", f"{CONSOLE}/disputes/{{dispute_id}}/resolve"): console_object(
        ("approver", "steward"), answer_dispute, disputes, form(answer="矩阵测试: 已核实")),
    ("GET", f"{CONSOLE}/audit"): console_page("auditor"),
    ("GET", f"{CONSOLE}/audit/export"): console_page("auditor"),
    ("POST", f"{CONSOLE}/audit/verify"): console_page("auditor"),
    ("GET", f"{CONSOLE}/audit/checkpoint"): console_page("auditor"),
    ("GET", f"{CONSOLE}/admin/users"): console_page(*ADMIN_PAGES),
    ("POST", f"{CONSOLE}/admin/users"): Expect(
        console(*ADMIN_PAGES), request=lambda w, t: {"data": {
            "username": "sf-console-new", "department_code": w.departments["own"],
            "roles": "requester"}}, audience="console"),
    ("POST", f"{CONSOLE}/admin/tokens/revoke"): Expect(
        console(*ADMIN_PAGES), request=form(jti="no-such-token"), audience="console"),
    ("GET", f"{CONSOLE}/admin/tokens"): console_page(*ADMIN_PAGES),
    ("GET", f"{CONSOLE}/admin/users/{{username}}"): console_object(ADMIN_PAGES, administer,
                                                                   users),
    ("POST", f"{CONSOLE}/admin/users/{{username}}/active"): console_object(
        ADMIN_PAGES, administer, users, form(active="true")),
    ("POST", f"{CONSOLE}/admin/users/{{username}}/roles"): console_object(
        ADMIN_PAGES, administer, users, form(roles="requester")),
    ("GET", f"{CONSOLE}/applications"): console_page(*PUBLIC_SIDE),
    ("GET", f"{CONSOLE}/applications/{{application_id}}"): console_object(
        PUBLIC_SIDE, provider_staff, applications),
    ("POST", f"{CONSOLE}/applications/{{application_id}}/approve"): console_object(
        PUBLIC_SIDE, provider_approver, applications, form(until=until(), data_items="aqi")),
    ("POST", f"{CONSOLE}/applications/{{application_id}}/reject"): console_object(
        PUBLIC_SIDE, provider_approver, applications, form(reason="矩阵测试拒绝")),
    ("POST", f"{CONSOLE}/applications/{{application_id}}/revoke"): console_object(
        PUBLIC_SIDE, provider_approver, applications, form(reason="矩阵测试撤销")),
    ("GET", f"{CONSOLE}/data-requests"): console_page(*DATA_REQUESTS),
    ("GET", f"{CONSOLE}/data-requests/{{request_id}}"): console_object(
        DATA_REQUESTS, anyone, data_requests),
    ("POST", f"{CONSOLE}/data-requests/{{request_id}}/answer"): console_object(
        DATA_REQUESTS, answering_department, data_requests,
        form(outcome="planned", answer="计划下季度开放")),
    ("GET", f"{CONSOLE}/error-reports"): console_page(*PUBLIC_SIDE),
    ("GET", f"{CONSOLE}/error-reports/{{report_id}}"): console_object(
        PUBLIC_SIDE, anyone, error_reports),
    ("POST", f"{CONSOLE}/error-reports/{{report_id}}/answer"): console_object(
        PUBLIC_SIDE, answering_department, error_reports,
        form(outcome="corrected", answer="已核实并更正, 感谢指出")),
    ("GET", f"{CONSOLE}/admin/overdue"): console_page("admin", "auditor"),
    ("GET", f"{CONSOLE}/dashboard"): console_page(*DASHBOARD),
})


# --- the portal's pages ----------------------------------------------------------------

def conditional_dataset(world: World) -> list[Target]:
    return [Target("dataset", world.resource("far", "published", "cond").code.replace("/", "-"),
                   dept="far")]


PAGE = Expect(anyone, audience="page")
TABLE.update({
    ("GET", "/"): PAGE, ("GET", "/datasets"): PAGE, ("GET", "/coverage"): PAGE,
    ("GET", "/developers"): PAGE, ("GET", "/requests"): PAGE, ("GET", "/requests/new"): PAGE,
    ("GET", "/datasets/{name}"): Expect(public_dataset, sample_datasets, audience="page"),
    ("GET", "/departments/{code}"): Expect(anyone, departments, audience="page"),
    ("GET", "/account/sign-up"): PAGE, ("GET", "/account/sign-in"): PAGE,
    ("POST", "/account/sign-up"): Expect(anyone, request=form(
        email="sf-page@example.cn", password="surface-password-2026", name="矩阵页面用户"),
        audience="page"),
    ("POST", "/account/sign-in"): Expect(anyone, request=form(
        email="sf-other@example.cn", password="surface-password-2026"), audience="page"),
    ("POST", "/account/sign-out"): PAGE,
    ("GET", "/account"): Expect(signed_in_page, audience="page"),
    ("GET", "/datasets/{name}/apply"): Expect(signed_in_page, conditional_dataset,
                                              audience="page"),
    ("POST", "/datasets/{name}/apply"): Expect(signed_in_page, conditional_dataset, form(
        purpose="研究矩阵测试数据的分布与变化情况", data_items="aqi",
        undertaking=UNDERTAKING, until=until()),
        audience="page"),
    ("GET", "/account/applications/{application_id}"): Expect(signed_in_page, applications,
                                                              audience="page"),
    ("POST", "/account/applications/{application_id}/keys"): Expect(
        signed_in_page, applications, audience="page"),
    ("POST", "/account/keys/{key_id}/revoke"): Expect(signed_in_page, keys, audience="page"),
    ("POST", "/requests"): Expect(anyone, request=form(
        title="矩阵测试数据需求", description="希望开放矩阵测试所需的数据集合"), audience="page"),
    ("GET", "/requests/{request_id}"): Expect(anyone, data_requests, audience="page"),
    ("GET", "/datasets/{name}/report"): Expect(public_dataset, sample_datasets, audience="page"),
    ("POST", "/datasets/{name}/report"): Expect(public_dataset, sample_datasets, form(
        data_item="aqi", description="矩阵测试: 该站点的指数与实际不符"), audience="page"),
    ("GET", "/reports/{report_id}"): Expect(anyone, error_reports, audience="page"),
})
