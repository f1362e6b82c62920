"""Datastore benchmark on PostgreSQL: ingest and CSV export against PostgreSQL's own COPY.

Generates a CSV like PERFORMANCE.md's (1,000,000 rows: id, district, station, day, aqi,
pm25, pm10, level, name, phone; about 85 MB) and measures, in the same run, each ``--repeat``
times interleaved (medians reported, ratios from them):

- baseline ``\\copy aq FROM 'aq.csv' WITH CSV HEADER`` into a plain table (psql, as in
  PERFORMANCE.md; psycopg if psql is missing) against our ingest through the service
  (read, check every cell, new typed table, switch version, commit). Goal ≥ 0.5.
- baseline ``COPY aq TO STDOUT WITH CSV HEADER`` (psql to /dev/null) against our CSV export
  through the service (``plan_export`` + ``stream_export``), raw and desensitised, and
  through HTTP (``python -m govdata serve`` on a free port, ``curl`` reading the body,
  httpx without curl).
  Goal ≥ 0.5.
- peak RSS of the server process while it exports (VmHWM). Goal: flat, < 300 MB.
- the server's memory idle and after each of ``--uploads`` uploads of the CSV over HTTP
  (resident and unique, from /proc/PID/smaps_rollup; its helper processes apart). Goal:
  flat, resident after the last upload at most 10 MB above its level before the first.
- a few ``query_rows`` calls on the same 1,000,000-row table (median of 20).

    .venv/bin/python -m bench.datastore [--rows 1000000] [--repeat 3] [--uploads 3] [--pg URL]

The database is ``GOVDATA_BENCH_PG_URL`` or a ``govdata_bench`` database on
postgresql+psycopg://postgres@127.0.0.1:5432 (created if missing, its schema reset).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.csv as pcsv
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench import _report
from govdata.catalog import service as catalog_service
from govdata.catalog.datastore import plan_export, query_rows, sensitivities, stream_export
from govdata.catalog.datastore import service as datastore_service
from govdata.platform import migrate
from govdata.platform import service as platform_service
from govdata.platform.db import Database
from govdata.platform.identifiers import uscc_check_character
from govdata.platform.principal import Principal
from govdata.platform.settings import get_settings

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/govdata_bench"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
GOAL_RATIO = 0.5
GOAL_RSS_MB = 300
GOAL_UPLOAD_GROWTH_MB = 10
QUICK = ["--rows", "20000", "--repeat", "1"]
SYSTEM = Principal.system("bench")
DEPARTMENT = "cq-sthjj-bench"
STEWARD = "bench-steward"

ITEMS = [
    {"name": "id", "title": "编号", "data_type": "I", "required": True},
    {"name": "district", "title": "区县", "data_type": "C", "length": 20, "required": True},
    {"name": "station", "title": "监测站点", "data_type": "C", "length": 50},
    {"name": "day", "title": "日期", "data_type": "D", "required": True},
    {"name": "aqi", "title": "空气质量指数", "data_type": "I", "length": 3},
    {"name": "pm25", "title": "细颗粒物浓度", "data_type": "N"},
    {"name": "pm10", "title": "可吸入颗粒物浓度", "data_type": "N"},
    {"name": "level", "title": "空气质量级别", "data_type": "C", "length": 10},
    {"name": "name", "title": "联系人", "data_type": "C", "length": 20, "sensitivity": "name"},
    {"name": "phone", "title": "联系电话", "data_type": "C", "length": 20,
     "sensitivity": "phone"},
]
BASELINE_TABLE = ("CREATE TABLE aq (id bigint, district text, station text, day date, "
                  "aqi integer, pm25 numeric, pm10 numeric, level text, name text, phone text)")

DISTRICTS = ["渝中区", "江北区", "南岸区", "九龙坡区", "沙坪坝区", "大渡口区", "北碚区", "渝北区",
             "巴南区", "万州区", "涪陵区", "黔江区", "长寿区", "江津区", "合川区", "永川区"]
STATIONS = ["解放碑", "唐家沱", "虎溪", "天生", "白市驿", "茶园", "蔡家", "礼嘉", "两路", "南坪",
            "杨家坪", "高家花园", "缙云山", "新山村", "龙井湾", "人和"]
LEVELS = ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
                "袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟"
                "熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
                ) + ["欧阳", "司马", "诸葛", "上官"]
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彩春菊凤"
             "洁梅琳素云莲真环雪荣爱妹香月莺媛瑞凡佳嘉琼勤珍贞莉娣叶璧璐娅琦晶妍茜秋珊"
             "莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融"
             "园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁")


def generate(path: Path, rows: int) -> None:
    """Write the benchmark CSV (vectorised: a million rows in a few seconds)."""
    rng = np.random.default_rng(2026)
    pick = lambda values: np.array(values)[rng.integers(0, len(values), rows)]  # noqa: E731
    aqi = rng.integers(10, 400, rows)
    two = rng.random(rows) < 0.6
    names = np.char.add(np.char.add(pick(SURNAMES), pick(GIVEN)), np.where(two, pick(GIVEN), ""))
    phones = np.char.add(pick(["138", "139", "135", "150", "186", "187", "177", "199"]),
                         np.char.zfill(rng.integers(0, 10**8, rows).astype(str), 8))
    table = pa.table({
        "id": np.arange(1, rows + 1),
        "district": pick(DISTRICTS),
        "station": pick(STATIONS),
        "day": (np.datetime64("2015-01-01") + rng.integers(0, 3650, rows)).astype(str),
        "aqi": aqi,
        "pm25": np.round(rng.uniform(1, 300, rows), 1),
        "pm10": np.round(rng.uniform(1, 500, rows), 1),
        "level": np.array(LEVELS)[np.minimum(aqi // 50, 5)],
        "name": names,
        "phone": phones,
    })
    with open(path, "wb") as sink:
        sink.write(",".join(table.column_names).encode() + b"\n")
        pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=False,
                                                      quoting_style="none"))


# --- setup -----------------------------------------------------------------------------

def postgres_url(explicit: str | None, name: str = "govdata_bench") -> str:
    """``explicit``, ``GOVDATA_BENCH_PG_URL`` or the database ``name`` on the local
    PostgreSQL (created if missing); its schema reset and migrated."""
    url = explicit or os.environ.get("GOVDATA_BENCH_PG_URL")
    if not url:
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        url = DEFAULT_URL.rpartition("/")[0] + "/" + name
    db = Database(url)
    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    db.dispose()
    migrate.upgrade(url)
    return url


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def setup(db: Database) -> str:
    """A department, its steward and the air-quality resource; returns the resource code."""
    body = "11500000" + "BENCH0001"
    with Session(db.engine) as session, session.begin():
        platform_service.create_department(session, SYSTEM, code=DEPARTMENT,
                                           name="重庆市生态环境局(基准)",
                                           uscc=body + uscc_check_character(body),
                                           division_code="500000")
        platform_service.create_user(session, SYSTEM, username=STEWARD, roles=["steward"],
                                     department_code=DEPARTMENT)
        resource = catalog_service.create_resource(session, SYSTEM, department=DEPARTMENT, fields={
            "name": "空气质量日报(基准)", "summary": "各监测站点每日空气质量",
            "classification": "301001", "resource_class": "department",
            "format_category": "电子表格", "format": "csv", "share_type": "unconditional",
            "share_method": "接口", "open_type": "unconditional", "update_cycle": "每日",
            "items": [{"length": None, "required": False, "is_basic": False,
                       "sensitivity": "none", **item} for item in ITEMS]})
        return resource.code


def steward() -> Principal:
    return Principal(username=STEWARD, department=DEPARTMENT, roles=frozenset({"steward"}))


# --- measurements ----------------------------------------------------------------------

def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def psql(url: str, command: str, *, stdout=subprocess.DEVNULL) -> None:
    subprocess.run(["psql", libpq_url(url), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command],
                   check=True, stdout=stdout)


def copy_from_baseline(db: Database, url: str, csv_path: Path) -> float:
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS aq"))
        connection.execute(text(BASELINE_TABLE))
    if shutil.which("psql"):
        return timed(lambda: psql(url, f"\\copy aq FROM '{csv_path}' WITH CSV HEADER"))

    def load() -> None:
        with db.engine.begin() as connection:
            raw = connection.connection.driver_connection
            with raw.cursor().copy("COPY aq FROM STDIN WITH CSV HEADER") as copy, \
                    open(csv_path, "rb") as source:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)

    return timed(load)


def copy_to_baseline(db: Database, url: str) -> float:
    if shutil.which("psql"):
        return timed(lambda: psql(url, "COPY aq TO STDOUT WITH CSV HEADER"))

    def read() -> None:
        with db.engine.connect() as connection:
            raw = connection.connection.driver_connection
            with raw.cursor().copy("COPY aq TO STDOUT WITH CSV HEADER") as copy:
                for _ in copy:
                    pass

    return timed(read)


def ingest(db: Database, code: str, csv_path: Path) -> float:
    def load() -> None:
        with Session(db.engine) as session, session.begin():
            datastore_service.load_data(session, steward(), code, csv_path,
                                        filename=csv_path.name)

    return timed(load)


def service_export(db: Database, code: str, *, masked: bool) -> tuple[float, int]:
    size = 0

    def run() -> None:
        nonlocal size
        with Session(db.engine) as session, session.begin():
            resource = catalog_service.get_resource(session, steward(), code)
            plan = plan_export(session, resource,
                               masks=sensitivities(resource) if masked else None)
        for chunk in stream_export(db.engine, plan):
            size += len(chunk)

    return timed(run), size


class Server:
    """``python -m govdata serve`` on a free local port, with its memory watched."""

    def __init__(self, url: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, "GOVDATA_DATABASE_URL": url, "GOVDATA_LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "govdata", "serve", "--host", "127.0.0.1", "--port",
             str(self.port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        self._wait_until_listening(timeout=30)

    def _wait_until_listening(self, *, timeout: float) -> None:
        """Read the server's log until uvicorn says it listens (killed after ``timeout``),
        then keep draining it so a full pipe never blocks the server."""
        watchdog = threading.Timer(timeout, self.process.kill)
        watchdog.start()
        seen: list[str] = []
        try:
            for line in self.process.stderr:
                seen.append(line)
                if "Uvicorn running on" in line:
                    break
            else:
                raise RuntimeError("server did not start:\n" + "".join(seen[-20:]))
        finally:
            watchdog.cancel()
        threading.Thread(target=self.process.stderr.read, daemon=True).start()

    def smaps(self) -> dict[str, float]:
        """The server process's resident and unique (private) memory, MB, and those of its
        helper processes (children: a load's fork server) added up."""
        pid = self.process.pid
        helpers = [child.pid for child in psutil.Process(pid).children(recursive=True)]
        return {"rss": _rollup(pid, "Rss"), "uss": _rollup(pid, "Private"),
                "helpers_rss": sum(_rollup(helper, "Rss") for helper in helpers),
                "helpers_uss": sum(_rollup(helper, "Private") for helper in helpers)}

    def memory_mb(self, field: str) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _rollup(pid: int, prefix: str) -> float:
    """The fields of /proc/PID/smaps_rollup that start with ``prefix``, added up, MB."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0.0
    return sum(int(line.split()[1]) for line in lines if line.startswith(prefix)) / 1024


def http_upload(server: Server, code: str, token: str, csv_path: Path) -> float:
    """Seconds for one upload of ``csv_path`` as the raw body of the data route."""
    import httpx

    started = time.perf_counter()
    with open(csv_path, "rb") as body:
        response = httpx.post(
            f"http://127.0.0.1:{server.port}/api/v1/catalog/resources/{code}/data",
            content=body, timeout=None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    response.raise_for_status()
    return time.perf_counter() - started


def upload_memory(server: Server, code: str, token: str, csv_path: Path, uploads: int
                  ) -> tuple[list[dict[str, float]], list[float]]:
    """The server's memory before the first upload and after each, and their seconds."""
    memory, seconds = [server.smaps()], []
    for _ in range(uploads):
        seconds.append(http_upload(server, code, token, csv_path))
        memory.append(server.smaps())  # the load's process was joined before the answer
    return memory, seconds


def http_export(server: Server, code: str, token: str, *, masked: bool) -> tuple[float, int]:
    url = (f"http://127.0.0.1:{server.port}/api/v1/catalog/resources/{code}/data/export"
           f"?format=csv{'&masked=true' if masked else ''}")
    started = time.perf_counter()
    if shutil.which("curl"):
        result = subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", "-w",
                                 "%{size_download}", "-H", f"Authorization: Bearer {token}",
                                 url], check=True, capture_output=True, text=True)
        size = int(result.stdout.strip() or 0)
    else:
        import httpx

        size = 0
        with httpx.stream("GET", url, headers={"Authorization": f"Bearer {token}"},
                          timeout=None) as response:
            response.raise_for_status()
            for chunk in response.iter_raw(1 << 20):
                size += len(chunk)
    return time.perf_counter() - started, size


def queries(db: Database, code: str) -> list[tuple[str, float]]:
    cases = {
        "limit=100": {},
        "limit=100, include_total=false": {"include_total": False},
        "filters district (≈62,500 hits)": {"filters": {"district": "渝中区"}},
        "q=解放碑 (≈62,500 hits)": {"q": "解放碑"},
        "sort=aqi desc": {"sort": "aqi desc"},
        "offset=900000": {"offset": 900_000},
    }
    out = []
    with Session(db.engine) as session, session.begin():
        resource = catalog_service.get_resource(session, steward(), code)
        for label, arguments in cases.items():
            times = []
            for _ in range(20):
                started = time.perf_counter()
                query_rows(session, resource, limit=100, **arguments)
                times.append((time.perf_counter() - started) * 1000)
            out.append((label, statistics.median(times)))
    return out


# --- report ----------------------------------------------------------------------------

def line(label: str, seconds: float, rows: int, baseline: float | None = None,
         goal: float | None = None, baseline_name: str | None = None) -> str:
    rate = rows / seconds
    text_ = f"  {label:<44} {seconds:7.2f} s  {rate:>11,.0f} rows/s"
    if baseline is not None:
        ratio = baseline / seconds
        _report.figure(f"{label}, {rows:,} rows", rate, "rows/s", baseline=rows / baseline,
                       baseline_name=baseline_name, ratio=ratio, at_least=goal)
        verdict = "" if goal is None else ("  ok" if ratio >= goal else "  BELOW GOAL")
        text_ += f"   ratio {ratio:4.2f}{verdict}"
    return text_


def report_uploads(memory: list[dict[str, float]], seconds: list[float], rows: int) -> None:
    idle, last = memory[0], memory[-1]
    _report.figure(f"server RSS after {len(seconds)} HTTP uploads of {rows:,} rows", last["rss"],
                   "MB", baseline=idle["rss"], baseline_name="RSS before the first",
                   ratio=last["rss"] / idle["rss"], goal_on="value",
                   at_most=round(idle["rss"] + GOAL_UPLOAD_GROWTH_MB))
    unique = [m["uss"] + m["helpers_uss"] for m in (idle, last)]
    _report.figure(f"server and helpers' unique memory after {len(seconds)} uploads", unique[1],
                   "MB", baseline=unique[0], baseline_name="before the first",
                   ratio=unique[1] / unique[0])
    print(f"  server memory (resident / unique MB; its helpers' resident / unique) before "
          f"and after {len(seconds)} HTTP uploads ({statistics.median(seconds):.1f} s each): "
          + " → ".join(f"{m['rss']:.0f} / {m['uss']:.0f}; {m['helpers_rss']:.0f} / "
                       f"{m['helpers_uss']:.0f}" for m in memory))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.datastore")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--uploads", type=int, default=3)
    parser.add_argument("--pg", help="PostgreSQL URL (default GOVDATA_BENCH_PG_URL or "
                                     "govdata_bench on 127.0.0.1)")
    args = parser.parse_args(argv or [])
    url = postgres_url(args.pg)
    db = Database(url)
    work = Path(tempfile.mkdtemp(prefix="govdata-bench-datastore-"))
    server = None
    try:
        csv_path = work / "aq.csv"
        print(f"generating {args.rows:,} rows …", flush=True)
        generate(csv_path, args.rows)
        megabytes = csv_path.stat().st_size / 1e6
        code = setup(db)
        print(f"{csv_path.stat().st_size / 1e6:.1f} MB CSV; resource {code}; "
              f"PostgreSQL {db.engine.dialect.server_version_info}; {os.cpu_count()} CPUs",
              flush=True)

        warm = work / "warm.csv"  # first use of pyarrow's kernels costs a few tenths
        generate(warm, 1_000)
        ingest(db, code, warm)
        copy_in, ours_in = [], []
        for round_ in range(args.repeat):
            copy_in.append(copy_from_baseline(db, url, csv_path))
            ours_in.append(ingest(db, code, csv_path))
            print(f"  ingest round {round_ + 1}: COPY {copy_in[-1]:.2f} s, "
                  f"ours {ours_in[-1]:.2f} s", flush=True)

        copy_out, ours_out, ours_masked = [], [], []
        size = 0
        for _ in range(args.repeat):
            copy_out.append(copy_to_baseline(db, url))
            seconds, size = service_export(db, code, masked=False)
            ours_out.append(seconds)
            ours_masked.append(service_export(db, code, masked=True)[0])

        server = Server(url)
        with Session(db.engine) as session, session.begin():
            user = platform_service.get_user(session, STEWARD)
            token = platform_service.issue_token(session, get_settings(), user=user).token
        rss_before = server.memory_mb("VmRSS")
        http_out, http_masked = [], []
        http_size = 0
        for _ in range(args.repeat):
            seconds, http_size = http_export(server, code, token, masked=False)
            http_out.append(seconds)
            http_masked.append(http_export(server, code, token, masked=True)[0])
        rss_after = server.memory_mb("VmRSS")
        rss_peak = server.memory_mb("VmHWM")  # the process's peak, startup included
        query_times = queries(db, code)
        server.stop()
        server = Server(url)  # a fresh one: its memory before any load, then after each
        uploads, upload_seconds = upload_memory(server, code, token, csv_path, args.uploads)

        med = statistics.median
        rows = args.rows
        print()
        print(f"datastore on PostgreSQL, {rows:,} rows, {megabytes:.1f} MB CSV, "
              f"medians of {args.repeat}")
        print(line("COPY FROM (psql \\copy, plain table)", med(copy_in), rows))
        print(line("ingest: load_data (check + typed table)", med(ours_in), rows,
                   med(copy_in), GOAL_RATIO, "COPY FROM"))
        print(line("COPY TO STDOUT (psql)", med(copy_out), rows))
        print(line("export CSV via service", med(ours_out), rows, med(copy_out), GOAL_RATIO,
                   "COPY TO"))
        print(line("export CSV via service, masked", med(ours_masked), rows, med(copy_out),
                   GOAL_RATIO, "COPY TO"))
        print(line("export CSV via HTTP (curl)", med(http_out), rows, med(copy_out),
                   GOAL_RATIO, "COPY TO"))
        print(line("export CSV via HTTP, masked", med(http_masked), rows, med(copy_out),
                   GOAL_RATIO, "COPY TO"))
        print(f"  exported {size / 1e6:.1f} MB via service, {http_size / 1e6:.1f} MB via HTTP")
        verdict = "ok" if rss_peak < GOAL_RSS_MB else "ABOVE GOAL"
        _report.figure("server peak RSS (load, exports)", rss_peak, "MB", baseline=rss_before,
                       baseline_name="RSS before", ratio=rss_peak / rss_before,
                       goal_on="value", at_most=GOAL_RSS_MB)
        print(f"  server RSS: {rss_before:.0f} MB before, {rss_after:.0f} MB after, "
              f"peak {rss_peak:.0f} MB (goal < {GOAL_RSS_MB} MB: {verdict})")
        if args.uploads:
            report_uploads(uploads, upload_seconds, rows)
        print("  query_rows on the same table (median of 20):")
        for label, ms in query_times:
            print(f"    {label:<42} {ms:7.1f} ms")
    finally:
        if server is not None:
            server.stop()
        db.dispose()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
