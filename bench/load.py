"""Load benchmark: the whole server under a mix of what its users do, on PostgreSQL.

``govdata serve --workers N`` (Gunicorn, Uvicorn workers) and ``govdata worker`` on a fresh
PostgreSQL database seeded with ``govdata seed --scale small``. ``--clients`` keep-alive
connections on loopback (default 64) then cycle, each from its own place, through a fixed
mix of calls for ``--seconds`` (default 60):

- the public: open-dataset searches (Chinese words), the first page of an open dataset's
  records, a whole open dataset downloaded as CSV;
- CKAN clients: ``package_search`` and ``datastore_search``;
- department systems: audited exchange reads of granted data (``/api/v1/exchange/data``),
  one in five from a department without a grant (403, a refused read).

Printed: requests/s, p50/p95/p99 and errors, overall and per kind; each worker's memory
(resident, proportional, unique) before and after, worker by worker; then the ledger: new
``exchange.data.read`` entries == served + refused exchange reads, all sealed and the chain
verified. Those three and "no errors" are checked: ``python -m bench.load`` exits 1 when one
fails (under ``python -m bench`` they are figures with goals in ``bench/RESULTS.md``).

    .venv/bin/python -m bench.load [--seconds 60] [--clients 64] [--workers 4] [--pg URL]

The database is ``GOVDATA_BENCH_PG_URL`` or ``govdata_bench_load`` on the local PostgreSQL
(created if missing, its schema reset).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bench import _httpload, _portal, _report
from bench.ckan_peer import SERVER_ENV
from bench.datastore import postgres_url
from bench.exchange import Process, wait_sealed
from govdata.exchange import requests as exchange_requests
from govdata.platform import service as platform_service
from govdata.platform.db import Database
from govdata.platform.models import AuditEntry
from govdata.platform.principal import Principal
from govdata.platform.settings import get_settings

READER, OUTSIDER = "cq-mzj-requester", "cq-wjw-steward"  # demo accounts of the seed
READ = "exchange.data.read"
SEARCH_WORDS = ["空气", "交通", "学校", "医院", "企业", "天气", "公交", "水质"]


@dataclass(frozen=True)
class Call:
    kind: str
    path: str
    expected: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Kind:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    answered: int = 0  # with the expected status


@dataclass
class Setup:
    exchange_code: str
    open_name: str
    reader_token: str
    outsider_token: str


def setup(db: Database) -> Setup:
    """A grant to 民政局 on an unconditional resource of 环境保护局, tokens for the reader and
    for a department without a grant, and an open dataset with data."""
    settings = get_settings()
    with Session(db.engine) as session, session.begin():
        code = session.execute(text(
            "SELECT r.code FROM catalog_resource r "
            "JOIN catalog_data_version v ON v.resource_id = r.id AND v.is_current "
            "JOIN platform_department d ON d.id = r.department_id "
            "WHERE d.code = 'cq-hbj' AND r.status = 'published' "
            "AND r.share_type = 'unconditional' AND r.open_type = 'unconditional' "
            "ORDER BY v.row_count DESC LIMIT 1")).scalar_one()
        reader = platform_service.get_user(session, READER)
        exchange_requests.request_share(
            session, Principal(username=READER, department=reader.department.code,
                               roles=frozenset(reader.roles)), settings,
            resource=code, purpose="负载基准: 空气质量与民政服务联合分析", basis="基准测试",
            until=dt.date.today() + dt.timedelta(days=30))
        ttl = dt.timedelta(days=1)
        tokens = [platform_service.issue_token(session, settings, ttl=ttl,
                                               user=platform_service.get_user(session, name))
                  .token for name in (READER, OUTSIDER)]
    return Setup(code, code.replace("/", "-"), *tokens)


def mix(base: str, ready: Setup) -> list[Call]:
    """The calls every client cycles through: 40% public, 20% CKAN, 40% exchange."""
    with httpx.Client(timeout=60) as client:
        shown = client.get(f"{base}/api/3/action/package_show", params={"id": ready.open_name})
        resource_id = shown.json()["result"]["resources"][0]["id"]
    reader = {"Authorization": f"Bearer {ready.reader_token}"}
    outsider = {"Authorization": f"Bearer {ready.outsider_token}"}
    name, code = ready.open_name, ready.exchange_code
    exchange = f"/api/v1/exchange/data/{code}?limit=100"
    calls = [Call("public search", f"/api/v1/open/datasets?q={quote(word)}", 200)
             for word in SEARCH_WORDS[:2]]
    calls += [Call("public records", f"/api/v1/open/datasets/{name}/records?limit=100", 200),
              Call("public download", f"/api/v1/open/datasets/{name}/download?format=csv",
                   200),
              Call("ckan package_search", f"/api/3/action/package_search?q={quote('空气')}",
                   200),
              Call("ckan datastore_search",
                   f"/api/3/action/datastore_search?resource_id={resource_id}&limit=100", 200)]
    calls += [Call("exchange read", exchange, 200, reader) for _ in range(3)]
    calls += [Call("exchange refused", exchange, 403, outsider)]
    return calls


async def _client(host: str, port: int, calls: list[tuple[Call, bytes]], start: int,
                  deadline: float, kinds: dict[str, Kind]) -> None:
    reader = writer = None
    n = start
    while time.perf_counter() < deadline:
        call, request = calls[n % len(calls)]
        n += 1
        kind = kinds[call.kind]
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        started = time.perf_counter()
        try:
            writer.write(request)
            answer = await _httpload.read_answer(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            kind.errors += 1
            writer.close()
            writer = None
            continue
        kind.latencies.append(time.perf_counter() - started)
        if answer.status == call.expected:
            kind.answered += 1
        else:
            kind.errors += 1
        if answer.close:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def run_mix(base: str, calls: list[Call], clients: int,
            seconds: float) -> tuple[dict[str, Kind], float]:
    """The clients at work for ``seconds``; each kind's answers, and the time until the
    last answer came."""
    prepared = []
    for call in calls:
        host, port, request = _httpload.request_bytes(base + call.path, call.headers)
        prepared.append((call, request))
    kinds = {call.kind: Kind() for call in calls}

    async def main() -> None:
        await asyncio.gather(*(_client(host, port, prepared, start, started + seconds, kinds)
                               for start in range(clients)))

    started = time.perf_counter()
    asyncio.run(main())
    return kinds, time.perf_counter() - started


def percentile(latencies: list[float], fraction: float) -> float:
    if not latencies:
        return float("nan")
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def line(label: str, latencies: list[float], errors: int, seconds: float) -> str:
    return (f"  {label:<24} {len(latencies) / seconds:8.1f} req/s   "
            f"p50 {percentile(latencies, 0.50):7.1f} ms   p95 {percentile(latencies, 0.95):7.1f}"
            f" ms   p99 {percentile(latencies, 0.99):7.1f} ms   errors {errors}")


def reads_on_ledger(db: Database) -> int:
    with db.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == READ)).scalar_one()


def memory_line(label: str, sizes: dict[str, float]) -> str:
    return (f"  {label:<24} resident {sizes['rss']:6.0f} MB   proportional "
            f"{sizes['pss']:6.0f} MB   unique {sizes['uss']:6.0f} MB")


def memory_lines(idle: dict[int, dict[str, float]], busy: dict[int, dict[str, float]]
                 ) -> list[str]:
    """Each worker before and after, by pid, then the mean; a worker Gunicorn replaced
    during the run (it died or timed out) shows as gone, its successor as new."""
    lines = []
    for pid in sorted(idle.keys() | busy.keys()):
        for label, sizes in (("idle", idle.get(pid)), ("after", busy.get(pid))):
            if sizes:
                lines.append(memory_line(f"worker {pid} {label}", sizes))
            else:
                missing = "new: started during the run" if label == "idle" else "gone"
                lines.append(f"  {f'worker {pid} {label}':<24} ({missing})")
    for label, each in (("mean per worker, idle", idle), ("mean per worker, after", busy)):
        lines.append(memory_line(label, {key: statistics.mean(s[key] for s in each.values())
                                         for key in ("rss", "pss", "uss")}))
    return lines


def check(kinds: dict[str, Kind], entries: int, verified, errors: int) -> list[str]:
    """What must hold after the run, as the failures found (none: all is well)."""
    reads = kinds["exchange read"].answered + kinds["exchange refused"].answered
    failures = []
    if entries != reads:
        failures.append(f"{entries:,} new {READ} entries for {reads:,} exchange reads")
    if not verified.ok:
        failures.append(f"ledger chain broken: {verified.reason}")
    if verified.unsealed:
        failures.append(f"{verified.unsealed:,} entries still unsealed")
    if errors:
        failures.append(f"{errors:,} errors")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pg", help="PostgreSQL URL (default GOVDATA_BENCH_PG_URL or "
                                     "govdata_bench_load on 127.0.0.1)")
    args = parser.parse_args(argv or [])
    url = postgres_url(args.pg, "govdata_bench_load")
    env = {**os.environ, "GOVDATA_DATABASE_URL": url, "GOVDATA_LOG_LEVEL": "WARNING"}
    print("seeding (--scale small) …", flush=True)
    subprocess.run([sys.executable, "-m", "govdata", "seed", "--scale", "small"], check=True,
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = Database(url)
    ready = setup(db)
    worker = Process([sys.executable, "-m", "govdata", "worker"], env, ready="worker running")
    server = _portal.Server(url, workers=args.workers,
                            env={**SERVER_ENV, "GOVDATA_LOG_LEVEL": "WARNING"})
    try:
        calls = mix(server.base, ready)
        idle = {pid: _portal.memory([pid]) for pid in server.workers()}
        before = reads_on_ledger(db)
        kinds, elapsed = run_mix(server.base, calls, args.clients, args.seconds)
        busy = {pid: _portal.memory([pid]) for pid in server.workers()}
        waited, verified = wait_sealed(db)
        after = reads_on_ledger(db)
    finally:
        server.stop()
        worker.stop()
        db.dispose()
    everything = [latency for kind in kinds.values() for latency in kind.latencies]
    errors = sum(kind.errors for kind in kinds.values())
    print(f"\nload on PostgreSQL: {args.clients} clients, {args.seconds:.0f} s (last answer "
          f"after {elapsed:.1f} s), {args.workers} "
          f"server workers, {os.cpu_count()} CPUs; every client cycles through "
          f"{len(calls)} calls")
    print(line("all", everything, errors, elapsed))
    for label, kind in kinds.items():
        print(line(label, kind.latencies, kind.errors, elapsed))
    print("\n".join(memory_lines(idle, busy)))
    served, refused = kinds["exchange read"].answered, kinds["exchange refused"].answered
    entries = after - before
    print(f"  ledger: {entries:,} new {READ} entries for {served:,} served + {refused:,}"
          f" refused = {served + refused:,} reads "
          f"({'ok' if entries == served + refused else 'MISMATCH'}); chain "
          f"{'verified' if verified.ok else 'BROKEN: ' + str(verified.reason)}, "
          f"{verified.entries:,} entries, {verified.unsealed} unsealed "
          f"{waited:.1f} s after the run")
    _report.figure(f"requests/s, {args.clients} clients, {args.workers} workers",
                   len(everything) / elapsed, "requests/s")
    _report.figure("p99 latency, all calls", percentile(everything, 0.99), "ms")
    _report.figure("errors (transport or unexpected status)", errors, "", goal_on="value",
                   at_most=0)
    _report.figure(f"new {READ} entries per exchange read (served + refused)", entries,
                   "entries", baseline=served + refused, baseline_name="reads",
                   ratio=entries / (served + refused) if served + refused else None,
                   at_least=1, at_most=1)
    _report.figure("ledger verified and sealed after the run",
                   float(verified.ok and not verified.unsealed), "(1 = yes)", goal_on="value",
                   at_least=1)
    failures = check(kinds, entries, verified, errors)
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
