"""The open portal's data routes on PostgreSQL, with the 1,000,000-row seed dataset.

``govdata seed --scale large`` (idempotent; the first time takes a couple of minutes) loads
four hourly air-quality datasets of 1,000,000 rows; this takes 重庆's. A server with
``--workers`` worker processes (``govdata serve``, production settings but a rate limit no
benchmark reaches) is measured, in the same run:

- CSV and JSON downloads over HTTP (rows/s) against PostgreSQL's own COPY of the same
  table in that format (psql to /dev/null; ``_portal.copy_to_stdout``), goal ≥ 0.8, with
  the server's peak memory meanwhile;
- ``datastore_search`` p50/p95 (the CKAN-compatible API, and the open API if there) for the
  first page, a filter, ``q`` in Chinese and in English, a sort, with and without the total;
- paging through the whole table at ``limit=32000``;
- the first page at 1/2/4/8 keep-alive clients (requests/s);
- memory per worker before and after uploading the dataset again ``--uploads`` times
  (each upload is a new version; goal: flat).

    .venv/bin/python -m bench.openportal [--rounds 3] [--requests 30] [--seconds 5]
        [--workers 2] [--uploads 2] [--pg URL]

The database is ``GOVDATA_BENCH_OPENPORTAL_PG_URL`` or ``govdata_bench_openportal`` on
postgresql+psycopg://postgres@127.0.0.1:5432 (created if missing, migrated, seeded).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench import _portal, _report
from bench._portal import Case
from bench.ckan_peer import SERVER_ENV, Report, upload
from bench.datastore import libpq_url
from govdata.platform import migrate
from govdata.platform import service as platform_service
from govdata.platform.db import Database
from govdata.platform.models import User
from govdata.platform.principal import Principal
from govdata.platform.settings import get_settings

DATABASE = "govdata_bench_openportal"
ADMIN = "bench-portal-admin"
CASES = _portal.standard_cases(district="渝中区", q_chinese="监测站", q_english="PM10",
                               sort="aqi desc")
GOAL_EXPORT = 0.8


def database_url(explicit: str | None) -> str:
    url = explicit or os.environ.get("GOVDATA_BENCH_OPENPORTAL_PG_URL")
    if not url:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True,
                             connect_timeout=5) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (DATABASE,)).fetchone():
                conn.execute(f"CREATE DATABASE {DATABASE}")
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
    migrate.upgrade(url)
    return url


def seed(url: str) -> None:
    subprocess.run([sys.executable, "-m", "govdata", "seed", "--scale", "large"], check=True,
                   env={**os.environ, "GOVDATA_DATABASE_URL": url}, stdout=subprocess.DEVNULL)


def large_dataset(db: Database) -> tuple[str, str, int]:
    """重庆's hourly air quality: its code, current table and rows."""
    with db.engine.connect() as connection:
        row = connection.execute(text(
            "SELECT r.code, v.table_name, v.row_count FROM catalog_resource r "
            "JOIN catalog_data_version v ON v.resource_id = r.id AND v.is_current "
            "JOIN platform_department d ON d.id = r.department_id "
            "WHERE v.row_count >= 1000000 ORDER BY d.code LIKE 'cq%' DESC, r.code LIMIT 1")
        ).one()
    return row.code, row.table_name, row.row_count


def admin_token(db: Database) -> str:
    """A superuser's token (made once): it may upload to any resource."""
    with Session(db.engine) as session, session.begin():
        system = Principal.system("bench")
        if session.scalar(select(User).where(User.username == ADMIN)) is None:
            department = session.execute(text(
                "SELECT code FROM platform_department ORDER BY code LIMIT 1")).scalar_one()
            platform_service.create_user(session, system, username=ADMIN, roles=["superuser"],
                                         department_code=department)
        user = platform_service.get_user(session, ADMIN)
        return platform_service.issue_token(session, get_settings(), user=user).token


def export_csv(url: str, table: str, path: Path) -> None:
    """The dataset as the CSV to upload again (its columns, without ``_id``)."""
    db = Database(url)
    with db.engine.connect() as connection:
        columns = [c for c in connection.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
            "ORDER BY ordinal_position"), {"t": table}).scalars() if c != "_id"]
    db.dispose()
    listed = ", ".join(f'"{c}"' for c in columns)
    with open(path, "wb") as sink:
        subprocess.run(["psql", libpq_url(url), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                        "SET TimeZone = 'Asia/Shanghai'; "
                        f'COPY (SELECT {listed} FROM "{table}" ORDER BY _id) TO STDOUT '
                        "WITH CSV HEADER"], check=True, stdout=sink)


def measure_downloads(report: Report, server, dumps: dict[str, str], url: str, table: str,
                      rows: int, args) -> None:
    report.say(f"downloads of all {rows:,} rows over HTTP (median of {args.rounds}); ratio = "
               f"COPY TO STDOUT time / download time, goal ≥ {GOAL_EXPORT}")
    out = report.data.setdefault("downloads", {})
    for fmt in ("csv", "json"):
        copies, runs = [], {label: [] for label in dumps}
        for _ in range(args.rounds):
            copies.append(_portal.copy_to_stdout(libpq_url(url), table, fmt))
            for label, template in dumps.items():
                headers = ({"Authorization": f"Bearer {args.token}"} if "catalog" in label
                           else {})
                runs[label].append(_portal.download(template.format(format=fmt),
                                                    headers=headers, pids=server.workers))
        copy = statistics.median(copies)
        out[fmt] = {"copy_s": copy}
        report.say(f"  {fmt.upper()}: COPY TO STDOUT {copy:.2f} s ({rows / copy:,.0f} rows/s)")
        for label, downloads in runs.items():
            seconds = statistics.median(d.seconds for d in downloads)
            peak = max(d.peak_rss_mb for d in downloads)
            ratio = copy / seconds
            out[fmt][label] = {"seconds": seconds, "ratio": ratio, "peak_rss_mb": peak,
                               "first_byte_s": statistics.median(d.first_byte
                                                                 for d in downloads)}
            _report.figure(f"download {fmt.upper()} {rows:,} rows: {label}", rows / seconds,
                           "rows/s", baseline=rows / copy, baseline_name="COPY TO STDOUT",
                           ratio=ratio, at_least=GOAL_EXPORT)
            report.say(f"    {label:<24} {seconds:6.2f} s {rows / seconds:>11,.0f} rows/s  "
                       f"ratio {ratio:4.2f} {'ok' if ratio >= GOAL_EXPORT else 'BELOW GOAL'}"
                       f"  peak RSS {peak:.0f} MB")


def measure_queries(report: Report, sites, args) -> None:
    report.say(f"datastore_search, limit=100: p50 / p95 ms (median of {args.rounds} rounds' "
               f"medians of {args.requests})")
    out = report.data.setdefault("queries", {})
    for case in CASES:
        timings = _portal.latency(sites, case, rounds=args.rounds, requests=args.requests)
        _portal.settle(args.our_url)
        line = f"  {case.label:<30}"
        for site in sites:
            t = timings[site.label]
            out.setdefault(case.label, {})[site.label] = {"p50_ms": t.p50 * 1000,
                                                          "p95_ms": t.p95 * 1000,
                                                          "total": t.total}
            line += f" | {site.label} {t.p50 * 1000:6.1f} / {t.p95 * 1000:6.1f}"
        report.say(line)


def measure_paging(report: Report, sites, rows: int, args) -> None:
    for site in sites:
        if site.max_limit < 32_000:
            continue
        runs = []
        for _ in range(args.rounds):
            seconds, read = _portal.paging(site, rows)
            if read != rows:
                raise RuntimeError(f"{site.label} paged {read} rows of {rows}")
            runs.append(seconds)
        seconds = statistics.median(runs)
        report.data.setdefault("paging", {})[site.label] = runs
        report.say(f"paging through all rows at limit=32000 ({site.label}): {seconds:.2f} s, "
                   f"{rows / seconds:,.0f} rows/s")


def measure_throughput(report: Report, sites, args) -> None:
    results = _portal.throughput(sites, Case("first page"), clients=(1, 2, 4, 8),
                                 seconds=args.seconds, rounds=args.rounds)
    report.data["throughput"] = {label: {"rates": t.rates, "cpu_ms": t.cpu_ms}
                                 for label, t in results.items()}
    report.say(f"first page at 1/2/4/8 keep-alive clients, requests/s (median of {args.rounds} "
               f"rounds of {args.seconds:g} s), and the workers' CPU per request")
    for site in sites:
        t = results[site.label]
        cpu = f", {statistics.median(t.cpu_ms):.1f} ms CPU" if t.cpu_ms else ""
        report.say(f"  {site.label}: " + " / ".join(f"{t.median(n):.0f}" for n in (1, 2, 4, 8))
                   + cpu)


def measure_uploads(report: Report, server, code: str, url: str, table: str, args) -> None:
    memory = [_portal.memory(server.workers())]
    with tempfile.TemporaryDirectory(prefix="govdata-bench-portal-") as work:
        csv_path = Path(work) / "again.csv"
        export_csv(url, table, csv_path)
        seconds = []
        for _ in range(args.uploads):
            seconds.append(upload(server.base, code, args.token, csv_path))
            memory.append(_portal.memory(server.workers()))
    report.data["uploads"] = {"seconds": seconds, "memory": memory}
    report.say(f"memory per worker (resident / proportional / unique MB) before and after "
               f"{args.uploads} uploads of the dataset ({statistics.median(seconds):.1f} s each): "
               + " → ".join(f"{m['rss']:.0f} / {m['pss']:.0f} / {m['uss']:.0f}"
                            for m in memory))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.openportal")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--uploads", type=int, default=2)
    parser.add_argument("--pg", help="PostgreSQL URL")
    parser.add_argument("--out", type=Path,
                        default=_portal.repository() / "bench" / "out" / "openportal.json")
    args = parser.parse_args(argv or [])
    url = database_url(args.pg)
    print("seeding (--scale large; idempotent) …", flush=True)
    seed(url)
    db = Database(url)
    code, table, rows = large_dataset(db)
    args.token = admin_token(db)
    args.our_url = libpq_url(url)
    db.dispose()
    server = _portal.Server(url, workers=args.workers, env=SERVER_ENV)
    report = Report()
    try:
        sites, dumps = _portal.our_sites(server.base, code, args.token)
        for site in sites:
            site.workers = server.workers
        report.data.update({"resource": code, "rows": rows, "workers": args.workers,
                            "memory_idle": _portal.memory(server.workers())})
        report.say(f"open portal on PostgreSQL: {code}, {rows:,} rows, {args.workers} workers, "
                   f"{os.cpu_count()} CPUs; APIs: {', '.join(s.label for s in sites)}")
        public = [s for s in sites if s.kind != "catalog"] or sites
        measure_downloads(report, server, {k: v for k, v in dumps.items()
                                           if "catalog" not in k} or dumps, url, table, rows,
                          args)
        measure_queries(report, public, args)
        measure_paging(report, public, rows, args)
        measure_throughput(report, public, args)
        measure_uploads(report, server, code, url, table, args)
        report.write(args.out)
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
