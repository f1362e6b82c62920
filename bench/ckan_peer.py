"""Our datastore against a real CKAN 2.12 with its DataStore, side by side (``make bench-peer``).

Brings up the CKAN peer with the shared scripts (``../shared/peers/ckan``: setup the first
time, start when it is stopped; everything under ``--root`` in /tmp, stopped again at the
end unless ``--keep``), loads the same 1,000,000-row CSV into both (CKAN: ``datastore_create``
with typed fields and ``datastore_upsert`` in batches of 10,000, done once and remembered
under the root; ours: the stewards' upload route), runs both with the same number of
workers on the same machine and measures, in the same run:

- ``datastore_search`` p50/p95 for the cases of PERFORMANCE.md (first page, a filter, ``q``
  in Chinese and in English, a sort; with and without the total), requests interleaved
  between the sites in blocks of 10 after 5 warm-up requests, ``--requests`` per case,
  site and round, ``--rounds`` rounds (p50 = the median of the rounds' medians);
- paging through the whole table at ``limit=32000``;
- the first page at 1/2/4/8 keep-alive clients (requests/s, ``--seconds`` per level);
- CSV and JSON dumps against ``COPY … TO STDOUT`` on each side's own PostgreSQL, and the
  serving processes' peak memory meanwhile; memory per worker before and after;
- loading the CSV, against ``\\copy FROM`` into a plain table.

Ours is measured on every datastore API it has: the CKAN-compatible ``/api/3/action``, the
open API and the stewards' catalog route (those that are there). Ratios are ours divided by
CKAN's (below 1: faster, for times; above 1: more, for requests/s); dumps and loads are
also given against COPY on the same PostgreSQL. All is printed and written to
``bench/out/ckan-peer.json`` (and ``.txt``).

    .venv/bin/python -m bench.ckan_peer [--rows 1000000] [--rounds 5] [--requests 50]
        [--seconds 10] [--workers 2] [--root /tmp/govdata-ckan-peer] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pyarrow as pa
import pyarrow.csv as pcsv
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench import _portal
from bench._portal import Case, Site
from bench.datastore import DISTRICTS, LEVELS, STATIONS, libpq_url, postgres_url
from govdata.catalog import service as catalog_service
from govdata.platform import service as platform_service
from govdata.platform.db import Database
from govdata.platform.identifiers import uscc_check_character
from govdata.platform.principal import Principal
from govdata.platform.settings import get_settings

DEFAULT_ROOT = "/tmp/govdata-ckan-peer"
PEER_URL = "http://127.0.0.1:55000"
PEER_DATASTORE = "postgresql://postgres@127.0.0.1:55432/datastore_default"
DATABASE = "govdata_bench_peer"
SYSTEM = Principal.system("bench")
DEPARTMENT, STEWARD = "cq-sthjj-peer", "peer-steward"
BATCH = 10_000
ADJECTIVES = ["red", "blue", "green", "quiet", "rapid", "ancient", "northern", "silver",
              "hidden", "golden"]
NOUNS = ["river", "school", "bridge", "market", "park", "station", "library", "harbor",
         "garden", "tower"]
# column, our data type, CKAN's type, title
COLUMNS = [("id", "I", "int", "编号"), ("district", "C", "text", "区县"),
           ("station", "C", "text", "监测站点"), ("level", "C", "text", "空气质量级别"),
           ("day", "D", "date", "日期"), ("observed_at", "T", "timestamp", "监测时间"),
           ("aqi", "I", "int", "空气质量指数"), ("pm25", "N", "numeric", "细颗粒物浓度"),
           ("pm10", "N", "numeric", "可吸入颗粒物浓度"), ("note", "C", "text", "备注")]
CASES = _portal.standard_cases(district="渝中区", q_chinese="解放碑", q_english="river",
                               sort="aqi desc")
CLIENTS = (1, 2, 4, 8)
# Production settings, except a rate limit no benchmark reaches (the counting still runs).
SERVER_ENV = {"GOVDATA_RATE_LIMIT_PER_MINUTE": "1000000000",
              "GOVDATA_REDIS_URL": os.environ.get("GOVDATA_BENCH_REDIS_URL",
                                                  "redis://127.0.0.1:6379/7")}


def generate(path: Path, rows: int) -> None:
    """The shared CSV: int, Chinese text ×3, date, timestamp, int, numeric ×2, English."""
    rng = np.random.default_rng(2026)
    pick = lambda values: np.array(values)[rng.integers(0, len(values), rows)]  # noqa: E731
    aqi = rng.integers(10, 400, rows)
    days = np.datetime64("2015-01-01") + rng.integers(0, 3650, rows)
    hours = np.char.zfill(rng.integers(0, 24, rows).astype(str), 2)
    note = np.char.add(np.char.add(np.char.add(pick(ADJECTIVES), " "), pick(NOUNS)),
                       np.char.add(" ", np.arange(1, rows + 1).astype(str)))
    table = pa.table({
        "id": np.arange(1, rows + 1), "district": pick(DISTRICTS), "station": pick(STATIONS),
        "level": np.array(LEVELS)[np.minimum(aqi // 50, 5)], "day": days.astype(str),
        "observed_at": np.char.add(np.char.add(days.astype(str), " "),
                                   np.char.add(hours, ":00:00")),
        "aqi": aqi, "pm25": np.round(rng.uniform(1, 300, rows), 1),
        "pm10": np.round(rng.uniform(1, 500, rows), 1), "note": note})
    with open(path, "wb") as sink:
        sink.write(",".join(table.column_names).encode() + b"\n")
        pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=False,
                                                      quoting_style="none"))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- the CKAN peer ---------------------------------------------------------------------

class Peer:
    """The CKAN 2.12 peer under ``root``, driven by the shared scripts."""

    def __init__(self, root: Path, scripts: Path) -> None:
        self.root, self.scripts = root, scripts
        self.started_here = False

    def _script(self, name: str) -> None:
        subprocess.run(["bash", str(self.scripts / name)], check=True,
                       env={**os.environ, "ROOT": str(self.root)})

    def answering(self) -> bool:
        try:
            return httpx.get(f"{PEER_URL}/api/3/action/status_show", timeout=5).is_success
        except httpx.HTTPError:
            return False

    def up(self) -> None:
        if self.answering():
            return
        if not (self.root / "venv" / "bin" / "ckan").exists():
            print(f"setting up CKAN under {self.root} (minutes the first time) …", flush=True)
            self._script("setup_ckan_peer.sh")
        else:
            self._script("start_ckan_peer.sh")
        self.started_here = True
        if not self.answering():
            raise RuntimeError("the CKAN peer does not answer")

    def down(self) -> None:
        self._script("stop_ckan_peer.sh")

    @property
    def token(self) -> str:
        return (self.root / "api_token.txt").read_text().strip()

    def action(self, client: httpx.Client, action: str, **data: Any) -> Any:
        response = client.post(f"{PEER_URL}/api/3/action/{action}", json=data,
                               headers={"Authorization": self.token}, timeout=600)
        answer = response.json()
        if not answer.get("success"):
            raise RuntimeError(f"CKAN {action}: {answer.get('error')}")
        return answer["result"]

    def workers(self) -> list[int]:
        master = int((self.root / "gunicorn.pid").read_text())
        return [c.pid for c in psutil.Process(master).children()]

    def load(self, csv_path: Path, digest: str) -> tuple[str, float | None]:
        """The resource holding the CSV (loaded once per CSV; returns the seconds the load
        took when it happened in this run)."""
        record = self.root / "govdata-bench.json"
        if record.exists():
            saved = json.loads(record.read_text())
            if saved.get("sha256") == digest:
                return saved["resource_id"], None
        with httpx.Client() as client:
            org = f"govdata-bench-{digest[:8]}"
            self.action(client, "organization_create", name=org, title="govdata bench")
            self.action(client, "package_create", name=f"{org}-aq", owner_org=org,
                        title="air quality (bench)")
            resource = self.action(client, "resource_create", package_id=f"{org}-aq",
                                   name="aq", url="", format="CSV")
            rid = resource["id"]
            started = time.perf_counter()
            self.action(client, "datastore_create", resource_id=rid, force=True,
                        primary_key=["id"],
                        fields=[{"id": name, "type": kind} for name, _, kind, _ in COLUMNS])
            with open(csv_path, encoding="utf-8", newline="") as source:
                reader = csv.DictReader(source)
                batch: list[dict] = []
                loaded = 0
                for row in reader:
                    batch.append(row)
                    if len(batch) == BATCH:
                        self.action(client, "datastore_upsert", resource_id=rid, force=True,
                                    method="insert", records=batch)
                        loaded += len(batch)
                        batch = []
                        print(f"\r  CKAN upsert: {loaded:,} rows", end="", flush=True)
                if batch:
                    self.action(client, "datastore_upsert", resource_id=rid, force=True,
                                method="insert", records=batch)
            seconds = time.perf_counter() - started
            print()
        record.write_text(json.dumps({"sha256": digest, "resource_id": rid,
                                      "load_seconds": seconds}))
        return rid, seconds


# --- ours ------------------------------------------------------------------------------

def setup_ours(url: str) -> str:
    """A department, its steward and an open, published resource for the CSV."""
    db = Database(url)
    body = "11500000" + "PEERBENCH"
    try:
        with Session(db.engine) as session, session.begin():
            platform_service.create_department(
                session, SYSTEM, code=DEPARTMENT, name="重庆市生态环境局(对比)",
                uscc=body + uscc_check_character(body), division_code="500000")
            platform_service.create_user(session, SYSTEM, username=STEWARD, roles=["steward"],
                                         department_code=DEPARTMENT)
            items = [{"name": name, "title": title, "data_type": kind, "length": None,
                      "required": name == "id", "is_basic": False, "sensitivity": "none"}
                     for name, kind, _, title in COLUMNS]
            resource = catalog_service.create_resource(
                session, SYSTEM, department=DEPARTMENT, fields={
                    "name": "空气质量监测(对比)", "summary": "各监测站点空气质量, 与 CKAN 对比",
                    "classification": "301001", "resource_class": "department",
                    "format_category": "电子表格", "format": "csv",
                    "share_type": "unconditional", "share_method": "接口",
                    "open_type": "unconditional", "update_cycle": "每日", "items": items})
            catalog_service.publish_resource(session, SYSTEM, code=resource.code)
            return resource.code
    finally:
        db.dispose()


def steward_token(url: str) -> str:
    db = Database(url)
    try:
        with Session(db.engine) as session, session.begin():
            user = platform_service.get_user(session, STEWARD)
            return platform_service.issue_token(session, get_settings(), user=user).token
    finally:
        db.dispose()


def upload(base: str, code: str, token: str, csv_path: Path) -> float:
    started = time.perf_counter()
    with open(csv_path, "rb") as body:
        response = httpx.post(f"{base}/api/v1/catalog/resources/{code}/data",
                              content=body, timeout=None,
                              headers={"Authorization": f"Bearer {token}",
                                       "Content-Type": "text/csv"})
    response.raise_for_status()
    return time.perf_counter() - started


def copy_from(url: str, csv_path: Path) -> float:
    columns = ", ".join(f"{name} {_pg_type(kind)}" for name, _, kind, _ in COLUMNS)
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS peer_copy"))
        connection.execute(text(f"CREATE TABLE peer_copy ({columns})"))
    db.dispose()
    _portal.quiesce(libpq_url(url))
    started = time.perf_counter()
    subprocess.run(["psql", libpq_url(url), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    f"\\copy peer_copy FROM '{csv_path}' WITH CSV HEADER"], check=True)
    return time.perf_counter() - started


def _pg_type(ckan_type: str) -> str:
    return {"int": "bigint", "timestamp": "timestamptz"}.get(ckan_type, ckan_type)


# --- report ----------------------------------------------------------------------------

class Report:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.lines: list[str] = []

    def say(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.data, ensure_ascii=False, indent=1))
        path.with_suffix(".txt").write_text("\n".join(self.lines) + "\n")


def compare_queries(report: Report, ckan: Site, ours: list[Site], args) -> None:
    report.say(f"datastore_search, limit=100, p50 / p95 in ms (median of {args.rounds} rounds' "
               f"medians of {args.requests}); ratio = ours p50 / CKAN p50, goal ≤ 0.5")
    header = f"  {'case':<34} {'CKAN':>15}"
    for site in ours:
        header += f" | {site.label:>30}"
    report.say(header)
    cases = report.data.setdefault("cases", {})
    for case in CASES:
        if args.cases and not any(case.label.startswith(prefix) for prefix in args.cases):
            continue
        timings = _portal.latency([ckan, *ours], case, rounds=args.rounds,
                                  requests=args.requests)
        _portal.settle(args.our_url)
        base = timings[ckan.label]
        line = f"  {case.label:<34} {base.p50 * 1000:7.1f} /{base.p95 * 1000:6.1f}"
        cases[case.label] = {label: {"p50_ms": t.p50 * 1000, "p95_ms": t.p95 * 1000,
                                     "records": t.records, "total": t.total}
                             for label, t in timings.items()}
        for site in ours:
            mine = timings[site.label]
            if (mine.records, mine.total) != (base.records, base.total):
                line += f" | differs: {mine.records}/{mine.total} vs {base.records}/{base.total}"
                continue
            ratio = mine.p50 / base.p50
            cases[case.label][site.label]["ratio"] = ratio
            verdict = "ok" if ratio <= 0.5 else "--"
            line += f" | {mine.p50 * 1000:7.1f} /{mine.p95 * 1000:6.1f} {ratio:5.2f} {verdict}"
        report.say(line)


def compare_throughput(report: Report, ckan: Site, ours: list[Site], args) -> None:
    report.say(f"first page at 1/2/4/8 keep-alive clients, requests/s (median of {args.rounds} "
               f"rounds of {args.seconds:g} s); ratio = ours / CKAN, goal ≥ 2; and the "
               "workers' CPU per request")
    results = _portal.throughput([ckan, *ours], Case("first page"), clients=CLIENTS,
                                 seconds=args.seconds, rounds=args.rounds)
    report.data["throughput"] = {label: {"rates": t.rates, "cpu_ms": t.cpu_ms}
                                 for label, t in results.items()}
    base = results[ckan.label]
    for n in CLIENTS:
        line = f"  {n} client{'s' if n > 1 else ' '}: CKAN {base.median(n):6.1f}"
        for site in ours:
            ratio = results[site.label].median(n) / base.median(n)
            line += (f" | {site.label} {results[site.label].median(n):6.1f} ({ratio:4.2f} "
                     f"{'ok' if ratio >= 2 else '--'})")
        report.say(line)
    report.say("  worker CPU per first page (median over all runs): " + "; ".join(
        f"{label} {statistics.median(t.cpu_ms):.1f} ms" for label, t in results.items()
        if t.cpu_ms))


def compare_paging(report: Report, ckan: Site, ours: list[Site], rows: int, args) -> None:
    pagers = [site for site in [ckan, *ours] if site.max_limit >= 32_000]
    report.say(f"paging through all {rows:,} rows at limit=32000 (seconds, median of "
               f"{args.rounds})")
    runs: dict[str, list[float]] = {site.label: [] for site in pagers}
    for _ in range(args.rounds):
        for site in pagers:
            seconds, read = _portal.paging(site, rows)
            if read != rows:
                raise RuntimeError(f"{site.label} paged {read} rows of {rows}")
            runs[site.label].append(seconds)
    base = statistics.median(runs[ckan.label])
    report.data["paging"] = runs
    line = f"  CKAN {base:6.2f} s ({rows / base:,.0f} rows/s)"
    for site in pagers[1:]:
        mine = statistics.median(runs[site.label])
        line += f" | {site.label} {mine:6.2f} s ({rows / mine:,.0f} rows/s, {mine / base:4.2f})"
    report.say(line)


def compare_dumps(report: Report, rid: str, dumps: dict[str, str], server, peer: Peer,
                  our_url: str, table: str, rows: int, args) -> None:
    report.say(f"dumps of all {rows:,} rows (seconds, median of {args.rounds}; ratio = "
               "PostgreSQL's own COPY TO STDOUT of the table in the dump's format on the same "
               "server / dump, goal ≥ 0.8 — JSON: row_to_json, and also against the CSV COPY); "
               "peak RSS of the server's processes")
    out = report.data.setdefault("dumps", {})
    for fmt in ("csv", "json"):
        runs: dict[str, list] = {"CKAN": [], "CKAN COPY": [], "ours COPY": []}
        runs.update({label: [] for label in dumps})
        for _ in range(args.rounds):
            runs["CKAN COPY"].append(_portal.copy_to_stdout(PEER_DATASTORE, rid, fmt))
            runs["CKAN"].append(_portal.download(
                f"{PEER_URL}/datastore/dump/{rid}?format={fmt}", pids=peer.workers))
            runs["ours COPY"].append(_portal.copy_to_stdout(libpq_url(our_url), table, fmt))
            for label, template in dumps.items():
                headers = ({"Authorization": f"Bearer {args.token}"} if "catalog" in label
                           else {})
                runs[label].append(_portal.download(template.format(format=fmt),
                                                    headers=headers, pids=server.workers))
        ckan_copy = statistics.median(runs["CKAN COPY"])
        our_copy = statistics.median(runs["ours COPY"])
        ckan = statistics.median(d.seconds for d in runs["CKAN"])
        out[fmt] = {"ckan_copy_s": ckan_copy, "ours_copy_s": our_copy, "ckan_s": ckan,
                    "ckan_peak_rss_mb": max(d.peak_rss_mb for d in runs["CKAN"])}
        line = (f"  {fmt.upper():<4} CKAN {ckan:6.2f} s ({ckan_copy / ckan:4.2f} of COPY, "
                f"peak {out[fmt]['ckan_peak_rss_mb']:.0f} MB)")
        for label in dumps:
            mine = statistics.median(d.seconds for d in runs[label])
            peak = max(d.peak_rss_mb for d in runs[label])
            out[fmt][label] = {"seconds": mine, "of_copy": our_copy / mine, "peak_rss_mb": peak,
                               "vs_ckan": mine / ckan}
            of_csv = ""
            if fmt != "csv":
                out[fmt][label]["of_csv_copy"] = out["csv"]["ours_copy_s"] / mine
                of_csv = f", {out['csv']['ours_copy_s'] / mine:4.2f} of CSV COPY"
            line += (f" | {label} {mine:6.2f} s ({our_copy / mine:4.2f} of COPY "
                     f"{'ok' if our_copy / mine >= 0.8 else '--'}{of_csv}, peak {peak:.0f} MB)")
        report.say(line)


# --- main ------------------------------------------------------------------------------

def run(argv: list[str] | None = None) -> None:
    """Not ``main``: ``python -m bench`` (make bench) leaves the peer out."""
    parser = argparse.ArgumentParser(prog="python -m bench.ckan_peer")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cases", nargs="*", default=None,
                        help="only the query cases whose label starts with one of these")
    parser.add_argument("--load-rounds", type=int, default=3,
                        help="loads of the CSV into ours, each after a \\copy FROM (medians)")
    parser.add_argument("--root", type=Path, default=Path(DEFAULT_ROOT))
    parser.add_argument("--scripts", type=Path,
                        default=_portal.repository().parent / "shared" / "peers" / "ckan")
    parser.add_argument("--keep", action="store_true", help="leave the CKAN peer running")
    parser.add_argument("--only", nargs="*", default=["queries", "paging", "throughput",
                                                      "dumps"])
    parser.add_argument("--out", type=Path,
                        default=_portal.repository() / "bench" / "out" / "ckan-peer.json")
    args = parser.parse_args(argv)
    if not shutil.which("psql"):
        sys.exit("psql is needed (COPY baselines)")
    peer = Peer(args.root, args.scripts)
    peer.up()
    report = Report()
    server = None
    try:
        work = args.root / "govdata-bench"
        work.mkdir(parents=True, exist_ok=True)
        csv_path = work / f"peer-{args.rows}.csv"
        if not csv_path.exists():
            generate(csv_path, args.rows)
        digest = sha256(csv_path)
        print(f"CSV {csv_path.stat().st_size / 1e6:.1f} MB, {args.rows:,} rows", flush=True)
        rid, ckan_load = peer.load(csv_path, digest)

        url = postgres_url(os.environ.get("GOVDATA_BENCH_PEER_PG_URL") or _our_database())
        code = setup_ours(url)
        args.token = steward_token(url)
        server = _portal.Server(url, workers=args.workers, env=SERVER_ENV)
        memory = {"CKAN idle": _portal.memory(peer.workers()),
                  "ours idle": _portal.memory(server.workers())}
        copies, loads = [], []
        for _ in range(max(args.load_rounds, 1)):
            copies.append(copy_from(url, csv_path))
            _portal.quiesce(libpq_url(url))
            loads.append(upload(server.base, code, args.token, csv_path))
        copy_in, our_load = statistics.median(copies), statistics.median(loads)
        memory["ours after upload"] = _portal.memory(server.workers())
        table = _current_table(url, code)
        args.our_url = libpq_url(url)
        ours, dumps = _portal.our_sites(server.base, code, args.token)
        for site in ours:
            site.workers = server.workers
        ckan = Site("CKAN", PEER_URL, "ckan", rid, workers=peer.workers)
        report.data.update({"rows": args.rows, "workers": args.workers, "rounds": args.rounds,
                            "requests": args.requests, "cpus": os.cpu_count(),
                            "ours": [s.label for s in ours]})
        report.say(f"ours ({', '.join(s.label for s in ours)}) against CKAN 2.12 DataStore, "
                   f"{args.rows:,} rows, {args.workers} workers each, {os.cpu_count()} CPUs")
        if ckan_load is None:
            ckan_load = json.loads((args.root / "govdata-bench.json").read_text())["load_seconds"]
        report.say(f"load (median of {len(loads)}): ours {our_load:.1f} s over HTTP "
                   f"({args.rows / our_load:,.0f} rows/s, {copy_in / our_load:.2f} of \\copy "
                   f"FROM {copy_in:.1f} s, goal ≥ 0.5); CKAN {ckan_load:.0f} s "
                   f"({args.rows / ckan_load:,.0f} rows/s, datastore_upsert)")
        report.data["load"] = {"ours_s": our_load, "copy_from_s": copy_in, "ckan_s": ckan_load,
                               "ours_runs_s": loads, "copy_from_runs_s": copies}
        if "queries" in args.only:
            compare_queries(report, ckan, ours, args)
        if "paging" in args.only:
            compare_paging(report, ckan, ours, args.rows, args)
        if "throughput" in args.only:
            compare_throughput(report, ckan, ours, args)
        if "dumps" in args.only:
            compare_dumps(report, rid, dumps, server, peer, url, table, args.rows, args)
        memory["CKAN after"] = _portal.memory(peer.workers())
        memory["ours after"] = _portal.memory(server.workers())
        report.data["memory"] = memory
        report.say("memory per worker, MB (resident / proportional / unique): " + "; ".join(
            f"{label} {m['rss']:.0f} / {m['pss']:.0f} / {m['uss']:.0f}"
            for label, m in memory.items()))
        report.write(args.out)
        print(f"written to {args.out}")
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            peer.down()


def _our_database() -> str:
    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (DATABASE,)).fetchone():
            conn.execute(f"CREATE DATABASE {DATABASE}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"


def _current_table(url: str, code: str) -> str:
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            return connection.execute(text(
                "SELECT v.table_name FROM catalog_data_version v JOIN catalog_resource r "
                "ON r.id = v.resource_id WHERE r.code = :code AND v.is_current"),
                {"code": code}).scalar_one()
    finally:
        db.dispose()


if __name__ == "__main__":
    run(sys.argv[1:])
