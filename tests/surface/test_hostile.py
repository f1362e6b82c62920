"""Issue 12 item 3: hostile input over every route that takes input, from one table of
payloads (``HOSTILE``): SQL fragments and control characters in every query parameter,
path traversal and control characters in every path parameter, oversized, deeply nested,
duplicate-key, lone-surrogate and wrongly typed bodies on every route with a body, huge
headers, an XLSX bomb on every upload, and formula injection through every CSV/XLSX export.
Each is refused with a 4xx (problem+json on the API) or answered safely, never a 5xx, never
a formula cell left live. Routes are found from the route table, so a new one is covered;
the objects in their paths come from the matrix's table (``expectations.TABLE``)."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import openpyxl
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from govdata.catalog.datastore.safecsv import FORMULA_STARTS
from govdata.platform.models import AuditEntry
from tests.catalog import item
from tests.catalog.datastore.test_safexlsx import crafted
from tests.openportal.conftest import create_dataset
from tests.openportal.test_no_personal_data import all_routes

from .expectations import ALLOW, TABLE, Expect
from .test_matrix import actor_clients, fill
from .world import Target, World

HOSTILE: dict[str, list[str]] = {
    "sql": ["' OR '1'='1; DROP TABLE platform_audit_entry; --", "aqi desc, (SELECT 1)",
            "%' UNION SELECT username FROM platform_user --"],
    "control": ["\u202e名称\x1b[31m\x7f\x08", "a" * 5000],
    "path": ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "x" * 2000],
    "formula": [f"{start}cmd|' /C calc'!A0" for start in FORMULA_STARTS],
}


def is_page(path: str) -> bool:
    return not path.startswith(("/api", "/datastore", "/dataset/", "/catalog.", "/data.json",
                                "/static", "/docs", "/redoc", "/openapi", "/healthz",
                                "/readyz", "/metrics"))


def refused_well(response, path: str) -> str | None:
    """None when the answer is a safe one: no 5xx, an API refusal as problem+json."""
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:300]}"
    kind = response.headers.get("content-type", "")
    if (400 <= response.status_code < 500 and not is_page(path)
            and not path.startswith(("/api/3", "/api/action"))
            and not kind.startswith("application/problem+json")):
        return f"{response.status_code} not problem+json: {kind} {response.text[:200]}"
    return None


def routes_with(app, kind: str) -> list[tuple[str, APIRoute]]:
    """(method, route) of every route with query parameters (``query``), path parameters
    (``path``) or a body (``body``), sub-dependencies' included."""
    found = []
    for route in all_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue
        params = {"query": [], "path": [], "body": []}
        _collect(route.dependant, params)
        if params[kind]:
            found += [(method, route) for method in sorted(route.methods)]
    return found


def _collect(dependant, params) -> None:
    params["query"] += dependant.query_params
    params["path"] += dependant.path_params
    params["body"] += dependant.body_params
    for sub in dependant.dependencies:
        _collect(sub, params)


def query_names(route: APIRoute) -> list[str]:
    params = {"query": [], "path": [], "body": []}
    _collect(route.dependant, params)
    return sorted({p.alias for p in params["query"]})


def first_allowed(world: World, method: str, path: str) -> tuple[str, Target | None, Expect]:
    """An actor and an object with which the route does its work (not a refusal)."""
    expect = TABLE[(method, path)]
    targets = expect.targets(world) if expect.targets else [None]
    for target in targets:
        for actor in ("superuser", "steward", "requester", "approver", "admin", "auditor",
                      "public", "anonymous"):
            if expect.decide(actor, target) == ALLOW:
                return actor, target, expect
    return "anonymous", targets[0], expect


def test_every_query_parameter_takes_sql_and_control_characters(surface_app, world,
                                                                session):
    problems = []
    with actor_clients(surface_app, world) as clients:
        for method, route in routes_with(surface_app, "query"):
            if method != "GET":
                continue
            actor, target, _ = first_allowed(world, method, route.path)
            url = fill(route.path, target)
            for name in query_names(route):
                for value in HOSTILE["sql"] + HOSTILE["control"][:1]:
                    response = clients[actor].get(url, params={name: value},
                                                  follow_redirects=False)
                    problem = refused_well(response, route.path)
                    if problem:
                        problems.append(f"{actor} GET {url} ?{name}={value[:40]!r}: {problem}")
    assert not problems, "\n".join(problems)
    assert session.scalar(select(func.count()).select_from(AuditEntry)) > 0  # still there


def test_every_path_parameter_takes_traversal_and_control_characters(surface_app, world):
    problems = []
    with actor_clients(surface_app, world) as clients:
        for method, route in routes_with(surface_app, "path"):
            actor, _, expect = first_allowed(world, method, route.path)
            for value in HOSTILE["path"] + HOSTILE["control"][:1]:
                url = fill(route.path, Target("hostile", quote(value, safe="%/.")))
                options = body_for(expect, world, method)
                try:
                    response = clients[actor].request(method, url, follow_redirects=False,
                                                      **options)
                except Exception as error:  # noqa: BLE001 - a crash of the app is the finding
                    problems.append(f"{actor} {method} {url[:80]!r}: {error!r}")
                    continue
                problem = refused_well(response, route.path)
                if problem:
                    problems.append(f"{actor} {method} {url[:80]!r}: {problem}")
    assert not problems, "\n".join(problems)


def body_for(expect: Expect, world: World, method: str) -> dict:
    """The route's own request options, where they do not need an object."""
    if not expect.request or method == "GET":
        return {}
    try:
        return expect.request(world, None)
    except AttributeError:
        return {}


def hostile_bodies(limit: int) -> dict[str, tuple[bytes, str]]:
    """Name → (body, content type)."""
    return {
        "oversized": (b'{"name": "' + b"x" * (limit + 10) + b'"}', "application/json"),
        "deeply nested": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        "nested objects": (b'{"a":' * 5000 + b"1" + b"}" * 5000, "application/json"),
        "duplicate keys": (b'{"name": "a", "name": "b", "roles": [], "roles": ["admin"]}',
                           "application/json"),
        "lone surrogate": (b'{"name": "\\ud800", "purpose": "\\udfff"}', "application/json"),
        "not json": (b"{'name': 1,", "application/json"),
        "xml": (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
                b"<x>&e;</x>", "application/xml"),
        "text": (b"name=a&roles=admin", "text/plain"),
        "form for json": (b"name=a&roles=admin", "application/x-www-form-urlencoded"),
    }


def test_every_body_refuses_hostile_documents(surface_app, world, settings):
    problems = []
    bodies = hostile_bodies(settings.json_body_max_bytes)
    with actor_clients(surface_app, world) as clients:
        for method, route in routes_with(surface_app, "body"):
            actor, target, _ = first_allowed(world, method, route.path)
            url = fill(route.path, target)
            for name, (body, kind) in bodies.items():
                response = clients[actor].request(method, url, content=body,
                                                  headers={"content-type": kind},
                                                  follow_redirects=False)
                problem = refused_well(response, route.path)
                if problem:
                    problems.append(f"{actor} {method} {url} {name}: {problem}")
                elif response.status_code < 300 and name != "form for json":
                    problems.append(f"{actor} {method} {url} {name}: accepted "
                                    f"{response.status_code} {response.text[:200]}")
    assert not problems, "\n".join(problems)


def test_huge_headers_are_no_error(surface_app, world):
    problems = []
    with actor_clients(surface_app, world) as clients:
        for path in ("/api/v1/auth/me", "/api/v1/open/datasets", "/console/", "/"):
            for headers in ({"X-Filler": "x" * 65_536}, {"Accept-Language": "zh," * 20_000},
                            {"Authorization": "Bearer " + "a" * 65_536},
                            {"Cookie": "govdata_console=" + "b" * 65_536}):
                response = clients["anonymous"].get(path, headers=headers,
                                                    follow_redirects=False)
                problem = refused_well(response, path)
                if problem:
                    problems.append(f"GET {path} {list(headers)}: {problem}")
    assert not problems, "\n".join(problems)


def xlsx_bomb() -> bytes:
    """A workbook of 10 KB whose one row inflates 500-fold to 300,000 cells (past the
    reader's bound on a row's elements)."""
    return crafted(b"<sheetData><row r=\"1\">" + b"<c><v>1</v></c>" * 300_000
                   + b"</row></sheetData>")


UPLOADS = [("POST", "/api/v1/catalog/resources/{code:rcode}/data"),
           ("POST", "/api/v1/catalog/import"),
           ("POST", "/console/resources/{code:rcode}/data"),
           ("POST", "/console/catalog-transfer/import")]


def test_every_upload_refuses_an_xlsx_bomb(surface_app, world):
    upload_routes = {(m, r.path) for m, r in routes_with(surface_app, "body")
                     if "file" in {p.alias for p in r.dependant.body_params}}
    assert upload_routes <= set(UPLOADS), upload_routes - set(UPLOADS)
    bomb = xlsx_bomb()
    assert len(bomb) < 20_000
    with actor_clients(surface_app, world) as clients:
        for method, path in UPLOADS:
            actor, target, _ = first_allowed(world, method, path)
            url = fill(path, target)
            response = clients["steward"].request(
                method, url + ("?format=xlsx" if "/data" in path else ""),
                files={"file": ("bomb.xlsx", bomb, "application/vnd.openxmlformats-"
                                "officedocument.spreadsheetml.sheet")}, follow_redirects=False)
            assert 400 <= response.status_code < 500, (actor, url, response.status_code,
                                                        response.text[:300])
            assert refused_well(response, path) is None


# --- formula injection through every export ---------------------------------------------

FORMULA_ITEMS = [item("label", "=HYPERLINK(\"http://x\")", length=100),
                 item("note", "备注", length=100)]


@pytest.fixture
def formulas(session, world, tmp_path):
    """A published open dataset of the peer department whose text cells and item title look
    like formulas, granted to our requester (so that every export path reaches it)."""
    from govdata.platform.principal import Principal

    peer = world.departments["peer"]
    steward = Principal(username="formula-steward", department=peer,
                        roles=frozenset({"steward"}))
    rows = [[value, "普通"] for value in HOSTILE["formula"]]
    return create_dataset(session, steward, peer, tmp_path, items=FORMULA_ITEMS, rows=rows,
                          open_type="unconditional", share_type="unconditional",
                          name="=1+1 公式资源")


def live_formulas(response) -> list[str]:
    """Cells of a CSV/TSV or XLSX answer that a spreadsheet would run."""
    kind = response.headers.get("content-type", "")
    if "spreadsheetml" in kind:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        return [str(cell.value) for row in sheet.iter_rows() for cell in row
                if cell.data_type == "f"]
    text = response.content.decode("utf-8-sig")
    delimiter = "\t" if "tab-separated" in kind else ","
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter)
            for cell in row if cell.startswith(FORMULA_STARTS) and not _number(cell)]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def exports(world: World, resource, grant: int) -> list[tuple[str, str, dict]]:
    name = resource.code.replace("/", "-")
    from govdata.openportal.identifiers import datastore_resource_id

    found = []
    found += [("superuser", f"/api/v1/catalog/resources/{resource.code}/data/export",
               {"format": "tsv"})]
    for fmt in ("csv", "xlsx"):
        found += [("superuser", f"/api/v1/catalog/resources/{resource.code}/data/export",
                   {"format": fmt}),
                  ("anonymous", f"/api/v1/open/datasets/{name}/download", {"format": fmt}),
                  ("superuser", "/api/v1/catalog/export", {"format": fmt})]
    found += [("anonymous", f"/datastore/dump/{datastore_resource_id(resource.id)}", {}),
              ("anonymous", f"/datastore/dump/{datastore_resource_id(resource.id)}",
               {"format": "tsv"}),
              ("requester", f"/api/v1/exchange/data/{resource.code}", {"format": "csv"}),
              ("requester", f"/console/grants/{grant}/download", {}),
              ("requester", f"/console/grants/{grant}/download", {"format": "xlsx"}),
              ("steward", "/console/catalog-transfer/export", {"format": "csv"}),
              ("steward", "/console/catalog-transfer/export", {"format": "xlsx"}),
              ("auditor", "/console/audit/export", {}),
              ("auditor", "/api/v1/exchange/evaluation", {"format": "csv"})]
    return found


def test_every_export_neutralises_formulas(surface_app, world, formulas):
    with actor_clients(surface_app, world) as clients:
        asked = clients["requester"].post("/api/v1/exchange/requests", json={
            "resource": formulas.code, "purpose": "=cmd 公式用途", "basis": "+依据",
            "until": "2099-01-01"})
        assert asked.status_code == 201, asked.text
        grant = asked.json()["grant"]
        problems, served = [], 0
        for actor, url, params in exports(world, formulas, grant):
            response = clients[actor].get(url, params=params, follow_redirects=False)
            if response.status_code != 200:
                problems.append(f"{actor} {url} {params}: {response.status_code} "
                                f"{response.text[:200]}")
                continue
            served += 1
            live = live_formulas(response)
            if live:
                problems.append(f"{actor} {url} {params}: live formulas {live[:5]}")
    assert not problems, "\n".join(problems)
    assert served == len(exports(world, formulas, grant))


def test_the_ledger_still_verifies_after_the_hostile_suite(surface_app, world):
    with actor_clients(surface_app, world) as clients:
        for value in HOSTILE["sql"]:
            clients["auditor"].get("/api/v1/audit/events", params={"actor": value})
        verified = clients["auditor"].get("/api/v1/audit/verify")
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text



def test_an_upload_posted_with_the_csrf_header_is_closed(surface_app, world, monkeypatch):
    """The form a page parses itself (the CSRF token came in X-CSRF-Token, not the form)
    is closed with its temporary files when the request ends."""
    from starlette.datastructures import UploadFile

    closed = []
    close = UploadFile.close

    async def recording_close(self):
        closed.append(self.filename)
        await close(self)

    monkeypatch.setattr(UploadFile, "close", recording_close)
    resource = world.resource("own", "draft", "open")
    with actor_clients(surface_app, world) as clients:
        response = clients["steward"].post(
            f"/console/resources/{resource.code}/data", follow_redirects=False,
            files={"file": ("data.csv", b"station,district,aqi\n", "text/csv")},
            headers={"Accept": "text/html"})
    assert response.status_code < 500, response.text
    assert "data.csv" in closed
