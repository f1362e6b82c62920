"""Peak memory of the server while it refuses a decompression bomb (issue 7, item 8).

Builds an XLSX of a few hundred kilobytes whose one cell holds ``--cell-mb`` megabytes of
text once inflated, starts ``python -m govdata serve`` on a fresh SQLite database, and
uploads the file as a resource's data and as a catalog import, watching the server's
resident memory (psutil, every 5 ms) before and during each request.

    .venv/bin/python -m bench.upload_bomb [--cell-mb 300]

Goal: each answer a 4xx problem, the server's peak no more than ``GOAL_GROWTH_MB`` above
where it started.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx
import psutil
from sqlalchemy.orm import Session

from bench import _report
from bench.datastore import ITEMS, STEWARD, Server, setup
from govdata.platform import migrate
from govdata.platform import service as platform_service
from govdata.platform.db import Database
from govdata.platform.settings import get_settings

GOAL_GROWTH_MB = 100
QUICK = ["--cell-mb", "20"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
        'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        '<sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/'
        'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
}


def bomb(path: Path, *, cell_mb: int, header: list[str]) -> None:
    """An XLSX whose sheet has the header row and one row with a ``cell_mb`` MB cell."""
    cells = "".join(f'<c t="inlineStr"><is><t>{name}</t></is></c>' for name in header)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, content in PARTS.items():
            book.writestr(name, content)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
                        f'<sheetData><row r="1">{cells}</row><row r="2">'
                        '<c t="inlineStr"><is><t>'.encode())
            block = b"A" * (1 << 20)
            for _ in range(cell_mb):
                sheet.write(block)
            sheet.write(b"</t></is></c></row></sheetData></worksheet>")


def watched_post(server: Server, url: str, **request) -> tuple[httpx.Response, float, float]:
    """POST while sampling the server's RSS; the response, RSS before and peak (MB)."""
    process = psutil.Process(server.process.pid)
    before = process.memory_info().rss
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.005)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        response = httpx.post(f"http://127.0.0.1:{server.port}{url}", timeout=600, **request)
    finally:
        done.set()
        watcher.join()
    return response, before / 2**20, peak / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.upload_bomb")
    parser.add_argument("--cell-mb", type=int, default=300)
    args = parser.parse_args(argv or [])
    work = Path(tempfile.mkdtemp(prefix="govdata-bench-bomb-"))
    url = f"sqlite:///{work / 'bomb.db'}"
    migrate.upgrade(url)
    db = Database(url)
    code = setup(db)
    with Session(db.engine) as session, session.begin():
        user = platform_service.get_user(session, STEWARD)
        token = platform_service.issue_token(session, get_settings(), user=user).token
    db.dispose()
    path = work / "bomb.xlsx"
    bomb(path, cell_mb=args.cell_mb, header=[item["name"] for item in ITEMS])
    print(f"{path.stat().st_size / 1e3:.0f} KB XLSX holding one {args.cell_mb} MB cell",
          flush=True)
    os.environ["GOVDATA_UPLOAD_DIR"] = str(work / "uploads")
    server = Server(url)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for label, target in (("data upload", f"/api/v1/catalog/resources/{code}/data"),
                              ("catalog import", "/api/v1/catalog/import")):
            with open(path, "rb") as file:
                response, before, peak = watched_post(
                    server, target, headers=headers, files={"file": ("bomb.xlsx", file, XLSX)})
            answer = response.json().get("code") if response.headers.get(
                "content-type", "").endswith("json") else response.text[:80]
            verdict = "ok" if peak - before <= GOAL_GROWTH_MB and 400 <= response.status_code \
                < 500 else "ABOVE GOAL"
            _report.figure(f"{label}: answer status ({answer})", response.status_code, "",
                           goal_on="value", at_least=400, at_most=499)
            _report.figure(f"{label}: server RSS growth while refusing it", peak - before,
                           "MB", baseline=before, baseline_name="RSS before",
                           ratio=peak / before, goal_on="value", at_most=GOAL_GROWTH_MB)
            print(f"  {label:<15} {response.status_code} {answer}: server RSS {before:.0f} MB "
                  f"before, peak {peak:.0f} MB (+{peak - before:.0f} MB; goal ≤ "
                  f"+{GOAL_GROWTH_MB} MB: {verdict})", flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
