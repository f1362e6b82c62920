"""Exchange benchmark on PostgreSQL: audited reads of granted data against a ceiling.

The server (``python -m govdata serve --workers N``) and ``govdata worker`` run against a
fresh PostgreSQL database holding a 100,000-row resource, granted (unconditionally) to a
consumer department. 32 clients on keep-alive connections then read
``GET /api/v1/exchange/data/{code}?limit=100`` (the first page) for 30 s; every tenth call of
each client comes from a department without a grant (403, a refused read). Measured, in the
same run:

- the ceiling: a second server of the same code whose route serves the same page through
  the same datastore query with authentication, the grant check and the audit entry all
  switched off (``ceiling_app`` below; never part of the product);
- audited: the real endpoint, every call one ledger entry.

Printed: requests/s, p50/p95/p99 latency, errors, audited/ceiling (goal ≥ 0.5), then the
ledger: new entries == successful + refused reads, the chain verified.

    .venv/bin/python -m bench.exchange [--seconds 30] [--clients 32] [--workers 4]
                                       [--rows 100000] [--pg URL]

The database is ``GOVDATA_BENCH_PG_URL`` or ``govdata_bench_exchange`` on
postgresql+psycopg://postgres@127.0.0.1:5432 (created if missing, its schema reset).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench import _report
from bench.datastore import ITEMS, generate, postgres_url
from govdata.catalog import service as catalog_service
from govdata.catalog.datastore import query_rows
from govdata.catalog.datastore import service as datastore_service
from govdata.catalog.datastore.schemas import DataPage, page_response
from govdata.exchange import requests as exchange_requests
from govdata.platform import audit
from govdata.platform import service as platform_service
from govdata.platform.db import Database
from govdata.platform.deps import SessionDep
from govdata.platform.identifiers import uscc_check_character
from govdata.platform.models import AuditEntry
from govdata.platform.principal import Principal
from govdata.platform.settings import get_settings

GOAL_RATIO = 0.5
SYSTEM = Principal.system("bench")
REFUSED_EVERY = 10
GRANTED = ["id", "district", "station", "day", "aqi", "pm25", "pm10", "level"]


# --- the ceiling: the same page, no authentication, no grant, no audit ------------------

def ceiling_app():
    """The product's app plus one route serving the granted page without authentication,
    grant check or ledger entry: the ceiling an audited read is measured against."""
    from fastapi import APIRouter

    from govdata.main import create_app

    app = create_app()
    router = APIRouter()

    @router.get("/bench/ceiling/{code:rcode}", response_model=DataPage)
    def ceiling(code: str, session: SessionDep, limit: int = 100) -> Response:
        resource = catalog_service.get_resource(session, SYSTEM, code)
        return page_response(query_rows(session, resource, limit=limit, items=GRANTED))

    app.include_router(router)
    return app


# --- setup -----------------------------------------------------------------------------

def _department(session: Session, code: str, name: str, serial: int) -> None:
    body = f"11500000BENCH{serial:04d}"
    platform_service.create_department(session, SYSTEM, code=code, name=name,
                                       uscc=body + uscc_check_character(body),
                                       division_code="500000")


@dataclass
class Setup:
    code: str
    token: str
    outsider_token: str


def setup(db: Database, csv_path: Path) -> Setup:
    """Provider, consumer and outsider departments, the resource with its data, the grant
    and two long-lived tokens."""
    settings = get_settings()
    with Session(db.engine) as session, session.begin():
        _department(session, "bench-hbj", "重庆市生态环境局(基准)", 1)
        _department(session, "bench-mzj", "重庆市民政局(基准)", 2)
        _department(session, "bench-gaj", "重庆市公安局(基准)", 3)
        for username, department, role in (("bench-steward", "bench-hbj", "steward"),
                                           ("bench-reader", "bench-mzj", "requester"),
                                           ("bench-outsider", "bench-gaj", "requester")):
            platform_service.create_user(session, SYSTEM, username=username, roles=[role],
                                         department_code=department)
        resource = catalog_service.create_resource(session, SYSTEM, department="bench-hbj",
                                                   fields={
            "name": "空气质量日报(基准)", "summary": "各监测站点每日空气质量",
            "classification": "301001", "resource_class": "department",
            "format_category": "电子表格", "format": "csv", "share_type": "unconditional",
            "share_method": "接口", "open_type": "none", "update_cycle": "每日",
            "items": [{"length": None, "required": False, "is_basic": False,
                       "sensitivity": "none", **item} for item in ITEMS]})
        catalog_service.publish_resource(session, SYSTEM, code=resource.code)
        datastore_service.load_data(session, SYSTEM, resource.code, csv_path,
                                    filename=csv_path.name)
        reader = Principal(username="bench-reader", department="bench-mzj",
                           roles=frozenset({"requester"}))
        exchange_requests.request_share(
            session, reader, settings, resource=resource.code, data_items=GRANTED,
            purpose="空气质量与民政服务联合分析(基准)", basis="基准测试",
            until=dt.date.today() + dt.timedelta(days=30))
        ttl = dt.timedelta(days=1)
        tokens = [platform_service.issue_token(session, settings, ttl=ttl,
                                               user=platform_service.get_user(session, name))
                  .token for name in ("bench-reader", "bench-outsider")]
        return Setup(resource.code, *tokens)


# --- processes -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A child process whose stderr is drained; ``ready`` is a line it prints when up."""

    def __init__(self, args: list[str], env: dict[str, str], ready: str | None,
                 timeout: float = 60) -> None:
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True,
                                        cwd=Path(__file__).resolve().parents[1])
        seen: list[str] = []
        if ready is not None:
            watchdog = threading.Timer(timeout, self.process.kill)
            watchdog.start()
            try:
                for line in self.process.stderr:
                    seen.append(line)
                    if ready in line:
                        break
                else:
                    raise RuntimeError(f"{args[2:4]} did not start:\n" + "".join(seen[-20:]))
            finally:
                watchdog.cancel()
        threading.Thread(target=self.process.stderr.read, daemon=True).start()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def server(url: str, workers: int, *, ceiling: bool) -> tuple[Process, int]:
    port = free_port()
    env = {**os.environ, "GOVDATA_DATABASE_URL": url, "GOVDATA_LOG_LEVEL": "WARNING"}
    if ceiling:
        args = [sys.executable, "-m", "uvicorn", "bench.exchange:ceiling_app", "--factory",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                "--no-access-log"]
    else:
        args = [sys.executable, "-m", "govdata", "serve", "--host", "127.0.0.1", "--port",
                str(port), "--workers", str(workers)]
    started = Process(args, env, ready=None)
    _wait_serving(port, started)
    return started, port


def _wait_serving(port: int, process: Process, timeout: float = 60) -> None:
    """Until every worker answers: a few hundred /healthz calls in a row succeed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise RuntimeError("server exited while starting")
        try:
            asyncio.run(_healthz(port, 200))
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


async def _healthz(port: int, calls: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(calls):
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
            status, _ = await _response(reader)
            if status != 200:
                raise OSError(f"healthz {status}")
    finally:
        writer.close()


# --- the load: raw HTTP/1.1 keep-alive clients -------------------------------------------

async def _response(reader: asyncio.StreamReader) -> tuple[int, int]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status, length


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    served: int = 0
    refused: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return (self.served + self.refused) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def _client(port: int, requests: list[bytes], expected: list[int], stop: float,
                  load: Load, start: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = start
    try:
        while time.monotonic() < stop:
            index = n % len(requests)
            started = time.perf_counter()
            writer.write(requests[index])
            try:
                status, _ = await _response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                load.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            load.latencies.append(time.perf_counter() - started)
            if status != expected[index]:
                load.errors += 1
            elif status == 200:
                load.served += 1
            else:
                load.refused += 1
            n += 1
    finally:
        writer.close()


def run_load(port: int, path: str, tokens: list[str | None], expected: list[int],
             clients: int, seconds: float) -> Load:
    """``clients`` connections, each cycling through ``tokens`` (``None``: no header)."""
    requests = []
    for token in tokens:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        requests.append(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode())

    async def main() -> Load:
        load = Load()
        stop = time.monotonic() + seconds
        started = time.monotonic()
        await asyncio.gather(*[_client(port, requests, expected, stop, load, start)
                               for start in range(clients)])
        load.seconds = time.monotonic() - started
        return load

    return asyncio.run(main())


# --- the ledger ------------------------------------------------------------------------

def ledger_rows(db: Database) -> int:
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def wait_sealed(db: Database, timeout: float = 60) -> tuple[float, audit.Verification]:
    """Until verification reports no entry waiting to be sealed; the wait and the result."""
    started = time.monotonic()
    while True:
        with Session(db.engine) as session:
            result = audit.verify(session)
        if not getattr(result, "unsealed", 0) or time.monotonic() - started > timeout:
            return time.monotonic() - started, result
        time.sleep(0.1)


# --- report ----------------------------------------------------------------------------

def line(label: str, load: Load) -> str:
    return (f"  {label:<34} {load.rate:8.1f} req/s   p50 {load.percentile(50):6.1f} ms   "
            f"p95 {load.percentile(95):6.1f} ms   p99 {load.percentile(99):6.1f} ms   "
            f"served {load.served:,}  refused {load.refused:,}  errors {load.errors}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.exchange")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", help="PostgreSQL URL (default GOVDATA_BENCH_PG_URL or "
                                     "govdata_bench_exchange on 127.0.0.1)")
    args = parser.parse_args(argv or [])
    url = postgres_url(args.pg, "govdata_bench_exchange")
    db = Database(url)
    work = Path(tempfile.mkdtemp(prefix="govdata-bench-exchange-"))
    running: list[Process] = []
    try:
        csv_path = work / "aq.csv"
        generate(csv_path, args.rows)
        ready = setup(db, csv_path)
        env = {**os.environ, "GOVDATA_DATABASE_URL": url, "GOVDATA_LOG_LEVEL": "WARNING"}
        running.append(Process([sys.executable, "-m", "govdata", "worker"], env,
                               ready="worker running"))
        warm = min(3.0, args.seconds / 5)

        ceiling, port = server(url, args.workers, ceiling=True)
        running.append(ceiling)
        path = f"/bench/ceiling/{ready.code}?limit=100"
        run_load(port, path, [None], [200], args.clients, warm)
        top = run_load(port, path, [None], [200], args.clients, args.seconds)
        ceiling.stop()
        running.remove(ceiling)

        audited_server, port = server(url, args.workers, ceiling=False)
        running.append(audited_server)
        path = f"/api/v1/exchange/data/{ready.code}?limit=100"
        tokens = [ready.token] * (REFUSED_EVERY - 1) + [ready.outsider_token]
        expected = [200] * (REFUSED_EVERY - 1) + [403]
        run_load(port, path, tokens, expected, args.clients, warm)
        before = ledger_rows(db)
        audited = run_load(port, path, tokens, expected, args.clients, args.seconds)
        after = ledger_rows(db)
        waited, verified = wait_sealed(db)

        ratio = audited.rate / top.rate
        print()
        print(f"exchange reads on PostgreSQL {db.engine.dialect.server_version_info}: "
              f"{args.clients} clients, {args.seconds:.0f} s each, {args.workers} server "
              f"workers, {os.cpu_count()} CPUs, first page of 100 rows of {args.rows:,}")
        print(line("ceiling (no auth, no audit)", top))
        print(line("audited (token, grant, ledger)", audited))
        verdict = "ok" if ratio >= GOAL_RATIO else "BELOW GOAL"
        print(f"  audited / ceiling: {ratio:.2f} (goal ≥ {GOAL_RATIO}: {verdict})")
        _report.figure(f"audited exchange reads, {args.clients} clients", audited.rate,
                       "requests/s", baseline=top.rate,
                       baseline_name="ceiling: no auth, no audit", ratio=ratio,
                       at_least=GOAL_RATIO)
        reads = audited.served + audited.refused
        same = "ok" if after - before == reads else "MISMATCH"
        _report.figure("ledger entries per exchange read (served + refused)", after - before,
                       "entries", baseline=reads, baseline_name="reads",
                       ratio=(after - before) / reads if reads else None, at_least=1,
                       at_most=1)
        _report.figure("ledger chain verifies after the run", float(verified.ok), "(1 = yes)",
                       goal_on="value", at_least=1)
        print(f"  ledger: {after - before:,} new entries for {audited.served:,} served + "
              f"{audited.refused:,} refused = {reads:,} reads ({same}); chain "
              f"{'verified' if verified.ok else 'BROKEN: ' + str(verified.reason)}, "
              f"{verified.entries:,} entries, all sealed {waited:.1f} s after the run")
    finally:
        for process in running:
            process.stop()
        db.dispose()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
