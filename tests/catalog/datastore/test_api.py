"""The datastore over HTTP: upload, problems, limits, permissions, pages and exports."""

from __future__ import annotations

import csv
import io
import json
import threading
from contextlib import closing
from pathlib import Path

import anyio
import openpyxl
import pytest
from sqlalchemy import select

from govdata.catalog.datastore import loadproc, plan_export, stream_export
from govdata.catalog.datastore import upload as upload_module
from govdata.catalog.datastore.api import ExportStream, stream_bind
from govdata.platform.models import AuditEntry
from tests.conftest import postgres_only

from .conftest import AQ_HEADER, AQ_ROWS, csv_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def api(app, client, connection, settings, tmp_path):
    """The test client; streamed exports read on the test's connection (its data is not
    committed), uploads land in a temporary directory."""
    app.dependency_overrides[stream_bind] = lambda: connection
    settings.upload_dir = str(tmp_path / "uploads")
    return client


@pytest.fixture
def headers(auth, steward_name):
    return auth(steward_name)


def uploaded_files(settings) -> list[Path]:
    return [p for p in Path(settings.upload_dir).rglob("*") if p.is_file()]


def url(resource, suffix: str = "") -> str:
    return f"/api/v1/catalog/resources/{resource.code}/data{suffix}"


def upload(api, resource, headers, text: str, name: str = "data.csv", **params):
    files = {"file": (name, text.encode(), "text/csv")}
    return api.post(url(resource), files=files, headers=headers, params=params)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status
    return body


def test_upload_then_read(api, aq, headers, settings):
    response = upload(api, aq, headers, csv_text(AQ_HEADER, AQ_ROWS), name="空气.csv")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["version"], body["row_count"], body["is_current"]) == (1, 5, True)
    assert body["source_name"] == "空气.csv" and body["resource"] == aq.code
    assert [c["name"] for c in body["columns"]] == AQ_HEADER
    assert uploaded_files(settings) == []  # the temporary file is gone
    page = api.get(url(aq), headers=headers, params={
        "filters": json.dumps({"district": "渝中区"}), "sort": "aqi desc",
        "fields": "_id,district,aqi", "limit": 1})
    assert page.status_code == 200, page.text
    data = page.json()
    assert data["items"] == [{"_id": 3, "district": "渝中区", "aqi": 75}]
    assert (data["total"], data["limit"], data["offset"], data["version"]) == (2, 1, 0, 1)
    assert [f["id"] for f in data["fields"]] == ["_id", "district", "aqi"]
    searched = api.get(url(aq), headers=headers, params={"q": "欧阳"}).json()
    assert [r["_id"] for r in searched["items"]] == [2]
    masked = api.get(url(aq), headers=headers, params={"masked": "true"}).json()
    assert masked["items"][1]["name"] == "欧阳**"


def test_raw_body_uploads(api, aq, headers):
    response = api.post(url(aq), headers={**headers, "Content-Type": "text/csv"},
                        content=csv_text(AQ_HEADER, AQ_ROWS).encode(),
                        params={"filename": "raw.csv"})
    assert response.status_code == 201, response.text
    assert response.json()["source_name"] == "raw.csv"
    objects = [dict(zip(AQ_HEADER, row, strict=True)) for row in AQ_ROWS[:2]]
    response = api.post(url(aq), headers={**headers, "Content-Type": "application/json"},
                        content=json.dumps(objects).encode())
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 2 and response.json()["row_count"] == 2


def test_the_fork_server_starts_while_the_file_arrives(api, aq, headers, database_url,
                                                       monkeypatch):
    """On PostgreSQL its start (a few tenths of a second) overlaps the upload's reception
    instead of delaying the first load of a worker."""
    postgres_only(database_url)
    calls: list[str] = []
    monkeypatch.setattr(loadproc, "start_server", lambda: calls.append("start_server"))
    receive = upload_module.receive

    async def receiving(*args, **kwargs):
        calls.append("receive")
        return await receive(*args, **kwargs)

    monkeypatch.setattr(upload_module, "receive", receiving)
    response = api.post(url(aq), headers={**headers, "Content-Type": "text/csv"},
                        content=csv_text(AQ_HEADER, AQ_ROWS).encode())
    assert response.status_code == 201, response.text
    assert calls == ["start_server", "receive"]


def test_xlsx_upload(api, aq, headers):
    book = openpyxl.Workbook()
    book.active.append(AQ_HEADER)
    book.active.append([1, "渝中区", None, "2024-05-01"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = api.post(url(aq), headers=headers,
                        files={"file": ("data.xlsx", buffer.getvalue(), XLSX)})
    assert response.status_code == 201, response.text


def test_bad_rows_answer_422_and_change_nothing(api, aq, headers):
    assert upload(api, aq, headers, csv_text(AQ_HEADER, AQ_ROWS)).status_code == 201
    rows = [list(row) for row in AQ_ROWS]
    rows[1][3] = "2024-02-30"
    rows[3][4] = "lots"
    body = assert_problem(upload(api, aq, headers, csv_text(AQ_HEADER, rows)), 422,
                          "data_rows_invalid")
    assert [(e["row"], e["column"], e["value"]) for e in body["errors"]] == [
        (2, "day", "2024-02-30"), (4, "aqi", "lots")]
    assert all(e["reason"] and e["loc"][0] == "row" for e in body["errors"])
    page = api.get(url(aq), headers=headers).json()
    assert page["version"] == 1 and page["total"] == 5
    versions = api.get(url(aq, "/versions"), headers=headers).json()
    assert [(v["version"], v["is_current"]) for v in versions] == [(1, True)]


def test_upload_size_limit(api, aq, headers, settings):
    settings.upload_max_bytes = 200
    text = csv_text(AQ_HEADER, AQ_ROWS * 4)
    assert_problem(upload(api, aq, headers, text), 413, "upload_too_large")
    declared = api.post(url(aq), headers={**headers, "Content-Type": "text/csv",
                                          "Content-Length": str(10 << 20)},
                        content=text.encode())
    assert_problem(declared, 413, "upload_too_large")
    raw = api.post(url(aq), headers={**headers, "Content-Type": "text/csv"},
                   content=text.encode())
    assert_problem(raw, 413, "upload_too_large")
    assert uploaded_files(settings) == []
    assert upload(api, aq, headers, csv_text(AQ_HEADER, AQ_ROWS[:1])).status_code == 201


def test_upload_without_a_file(api, aq, headers):
    response = api.post(url(aq), headers=headers, data={"format": "csv"})
    assert response.status_code in (400, 422)
    empty = api.post(url(aq), headers={**headers, "Content-Type": "text/csv"}, content=b"")
    assert_problem(empty, 422, "upload_missing")


def test_permissions(api, make_resource, make_user, make_department, auth, headers, aq):
    published = make_resource(publish=True)
    other_steward = auth(make_user("steward", department=make_department()))
    requester = auth(make_user("requester", department=published.department.code))
    admin = auth(make_user("admin"))
    text = csv_text(AQ_HEADER, AQ_ROWS)
    assert_problem(upload(api, published, other_steward, text), 403, "not_resource_steward")
    assert_problem(upload(api, published, requester, text), 403, "not_resource_steward")
    assert_problem(upload(api, aq, other_steward, text), 404, "resource_not_found")  # a draft
    assert api.post(url(published), files={"file": ("d.csv", b"x")}).status_code == 401
    assert upload(api, published, headers, text).status_code == 201
    assert_problem(api.get(url(published), headers=other_steward), 403, "not_resource_steward")
    assert_problem(api.get(url(published, "/export"), headers=requester), 403,
                   "not_resource_steward")
    assert api.get(url(published), headers=admin).status_code == 200
    missing = "/api/v1/catalog/resources/301001/999999/data"
    assert_problem(api.get(missing, headers=headers), 404, "resource_not_found")
    assert_problem(api.post(missing, headers=headers, files={"file": ("d.csv", b"x")}), 404,
                   "resource_not_found")
    assert_problem(api.get(url(aq), headers=headers), 404, "data_not_loaded")


def test_bad_query_parameters(api, aq, headers):
    upload(api, aq, headers, csv_text(AQ_HEADER, AQ_ROWS))
    for params in ({"filters": "{not json"}, {"filters": "[1]"}, {"fields": "nope"},
                   {"sort": "nope desc"}):
        assert_problem(api.get(url(aq), headers=headers, params=params), 422,
                       "datastore_query_invalid")


def test_streamed_exports(api, aq, headers, session):
    upload(api, aq, headers, csv_text(AQ_HEADER, AQ_ROWS))
    response = api.get(url(aq, "/export"), headers=headers, params={"bom": "true"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith("\ufeff_id,id,district".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 6 and rows[2][9] == "欧阳娜娜"
    masked = api.get(url(aq, "/export"), headers=headers,
                     params={"format": "json", "masked": "true",
                             "filters": json.dumps({"district": "江北区"})})
    assert masked.json() == [{"_id": 2, "id": 2, "district": "江北区", "station": "唐家沱",
                              "day": "2024-05-01", "aqi": 38, "pm25": 21.5, "pm10": 40,
                              "level": "优", "name": "欧阳**", "phone": "139****1111"}]
    book = api.get(url(aq, "/export"), headers=headers, params={"format": "xlsx"})
    assert book.headers["content-type"] == XLSX
    assert openpyxl.load_workbook(io.BytesIO(book.content)).active.max_row == 6
    assert_problem(api.get(url(aq, "/export"), headers=headers, params={"format": "pdf"}),
                   422, "datastore_query_invalid")
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "data.export",
                                                       AuditEntry.resource == aq.code)).all()
    assert len(entries) == 3
    assert json.loads(entries[1].body)["masked"] is True


HOSTILE_PARAMETERS = [
    {"fields": ""}, {"fields": " "}, {"fields": ","},
    {"filters": json.dumps({"_id": 10**30})}, {"filters": json.dumps({"aqi": 10**30})},
    {"filters": json.dumps({"district": "渝中\u0000区"})}, {"q": "渝中\u0000区"},
    {"filters": '{"district": "\\ud800"}'}, {"q": '{"district": "\\ud800"}'},
    {"filters": json.dumps({"district": ["a", "\u0000"]})}, {"fields": "district\u0000"},
    {"sort": "aqi\u0000"}, {"filters": "[" * 5_000 + "]" * 5_000},
    {"q": '{"district": ' + "[" * 5_000 + "]" * 5_000 + "}"},
]


@pytest.mark.parametrize("suffix", ["", "/export"])
def test_hostile_query_parameters_are_refused_before_any_byte(api, aq, headers, session,
                                                              suffix):
    """Each answered 500, or 200 with an empty body (and the export on the ledger)."""
    upload(api, aq, headers, csv_text(AQ_HEADER, AQ_ROWS))
    hostile = [*HOSTILE_PARAMETERS]
    if suffix:
        hostile += [{"limit": "99999999999999999999999"}, {"limit": str(2**63)},
                    {"offset": str(2**63)}]
    for params in hostile:
        response = api.get(url(aq, suffix), headers=headers, params=params)
        assert response.status_code == 422, (params, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    exports = session.scalars(select(AuditEntry).where(AuditEntry.action == "data.export"))
    assert exports.all() == []


def test_nested_json_upload_is_refused(api, aq, headers):
    for deep in ("[" * 100_000 + "]" * 100_000, "[{\"district\": " + "[" * 100_000,
                 "{\"district\": " + "[" * 100_000 + "]" * 100_000 + "}\n"):
        response = api.post(url(aq), headers={**headers, "Content-Type": "application/json"},
                            content=deep.encode())
        assert_problem(response, 422, "data_file_unreadable")


def test_a_failing_export_query_fails_before_the_download(api, aq, headers, session,
                                                          database_url, monkeypatch):
    """What the checks miss and the database refuses fails in the request (problem+json,
    nothing on the ledger), not after a 200 as an empty download."""
    postgres_only(database_url)  # SQLite compares a number column with any text
    from govdata.catalog.datastore import query

    upload(api, aq, headers, csv_text(AQ_HEADER, AQ_ROWS))
    monkeypatch.setattr(query, "filter_value", lambda spec, raw: raw)  # a check missing
    response = api.get(url(aq, "/export"), headers=headers,
                       params={"filters": json.dumps({"aqi": "lots"})})
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "data.export")
                           ).all() == []


def test_xlsx_bombs_and_entities_are_refused(api, aq, headers, tmp_path):
    """A cell inflating to megabytes, an entity expansion bomb, an external entity: each a
    422 before any of it is held in memory (the issue's bomb took the server to 1.6 GB)."""
    from .test_safexlsx import DECLARATION, crafted

    secret = tmp_path / "secret.txt"
    secret.write_text("机密内容")
    header = "".join(f'<c t="inlineStr"><is><t>{name}</t></is></c>' for name in AQ_HEADER)

    def sheet(cell: str, prolog: str = DECLARATION) -> bytes:
        return crafted(f'<row r="1">{header}</row><row r="2"><c t="inlineStr"><is><t>{cell}'
                       '</t></is></c></row>', prolog=prolog)

    laughs = ('<!DOCTYPE worksheet [<!ENTITY a "' + "a" * 100 + '">'
              + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                        for i in range(8)) + "]>")
    for data in (sheet("1" * (3 << 20)), sheet("&i;", DECLARATION + laughs),
                 sheet("&x;", DECLARATION + f'<!DOCTYPE w [<!ENTITY x SYSTEM "{secret}">]>')):
        response = api.post(url(aq), headers=headers,
                             files={"file": ("bomb.xlsx", data, XLSX)})
        assert_problem(response, 422, "data_file_unreadable")
        assert "机密内容" not in response.text


def slowly(chunks, left: threading.Event):
    """The first chunk at once, the next one only once the client has left (its reading
    runs in a thread, so the disconnect arrives while a chunk is being read)."""
    with closing(chunks):
        yield next(chunks)
        left.wait(10)
        yield from chunks


@pytest.mark.parametrize("client", ["stops reading", "leaves while a chunk is read"])
def test_a_download_the_client_leaves_is_closed_at_once(session, connection, aq, load, client):
    """The client goes away after one chunk: the export's stream is closed when the
    response ends (its connection usable again), not left to the garbage collector."""
    load(aq, [[str(n), "渝中区", "站" * 40, "2024-05-01", "1", "", "", "", "", ""]
              for n in range(1, 3001)])
    chunks = stream_export(connection, plan_export(session, aq), chunk_size=32 << 10)
    sent: list[bytes] = []
    first_chunk = anyio.Event()
    left = threading.Event()

    async def receive():
        await first_chunk.wait()
        left.set()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body":
            sent.append(message["body"])
            first_chunk.set()
            if client == "stops reading":
                await anyio.sleep_forever()

    async def download() -> bool:
        body = chunks if client == "stops reading" else slowly(chunks, left)
        scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
        await ExportStream(body, media_type="text/csv")(scope, receive, send)
        return chunks.gi_frame is None

    assert anyio.run(download) and len(sent) == 1
    assert connection.exec_driver_sql("SELECT 1").scalar() == 1
