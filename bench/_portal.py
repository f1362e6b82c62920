"""What ``bench.openportal`` and ``bench.ckan_peer`` share: the server under test, the query
cases, and the ways of timing them.

- ``Site``: a portal's datastore API (ours: CKAN-compatible ``/api/3/action``, the open API,
  or the stewards' catalog route; CKAN's own), building the URL of each ``Case``;
- ``latency``: the p50/p95 of each case for several sites, their requests interleaved in
  blocks (A A … B B … A A …) after a warm-up, so that both see the same machine;
- ``throughput``: requests per second of keep-alive clients (``_httpload``);
- ``paging``: the whole table, page after page;
- ``download``: a streamed export, with the serving processes' peak memory meanwhile;
- ``Server``: ``govdata serve`` on a free port with its worker processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psutil

from bench import _httpload

MB = 1 << 20


@dataclass(frozen=True)
class Case:
    """One datastore query: the same parameters on every site."""

    label: str
    filters: dict | None = None
    q: str | None = None
    sort: str | None = None
    include_total: bool = True
    limit: int = 100
    offset: int = 0


def standard_cases(*, district: str, q_chinese: str, q_english: str, sort: str) -> list[Case]:
    """The cases of PERFORMANCE.md, each with and without the total."""
    cases = []
    for total in (True, False):
        suffix = "" if total else ", no total"
        cases += [Case(f"first page{suffix}", include_total=total),
                  Case(f"filter district{suffix}", filters={"district": district},
                       include_total=total),
                  Case(f"q={q_chinese}{suffix}", q=q_chinese, include_total=total),
                  Case(f"q={q_english}{suffix}", q=q_english, include_total=total),
                  Case(f"sort={sort}{suffix}", sort=sort, include_total=total)]
    return cases


@dataclass
class Site:
    """A datastore API: ``kind`` ``ckan`` (``datastore_search``), ``open`` (our
    ``/open/datasets/{name}/records``) or ``catalog`` (stewards' ``…/data``)."""

    label: str
    base: str
    kind: str
    key: str  # resource id (ckan), dataset name (open) or resource code (catalog)
    headers: dict[str, str] = field(default_factory=dict)
    max_limit: int = 32_000
    workers: Callable[[], list[int]] | None = None  # the serving processes, for their CPU

    def url(self, case: Case) -> str:
        params: dict[str, str | int] = {"limit": case.limit}
        if case.offset:
            params["offset"] = case.offset
        if case.filters:
            params["filters"] = json.dumps(case.filters, ensure_ascii=False)
        if case.q:
            params["q"] = case.q
        if case.sort:
            params["sort"] = case.sort
        if not case.include_total:
            params["include_total"] = "false"
        if self.kind == "ckan":
            return (f"{self.base}/api/3/action/datastore_search?resource_id={self.key}&"
                    + urlencode(params))
        if self.kind == "open":
            return f"{self.base}/api/v1/open/datasets/{self.key}/records?" + urlencode(params)
        return f"{self.base}/api/v1/catalog/resources/{self.key}/data?" + urlencode(params)

    def records(self, body: bytes) -> tuple[list, int | None]:
        answer = json.loads(body)
        if self.kind == "ckan":
            result = answer["result"]
            return result["records"], result.get("total")
        return answer["items"], answer.get("total")


def our_sites(base: str, code: str, token: str) -> tuple[list[Site], dict[str, str]]:
    """Each datastore API our server has, and its CSV download URL (format left open)."""
    name = code.replace("/", "-")
    sites, dumps = [], {}
    with httpx.Client(timeout=60) as client:
        shown = client.get(f"{base}/api/3/action/package_show", params={"id": name})
        if shown.status_code == 200:
            rid = shown.json()["result"]["resources"][0]["id"]
            sites.append(Site("ours CKAN API", base, "ckan", rid))
            dumps["ours CKAN dump"] = f"{base}/datastore/dump/{rid}?format={{format}}"
        if client.get(f"{base}/api/v1/open/datasets/{name}/records?limit=1").status_code == 200:
            sites.append(Site("ours open API", base, "open", name, max_limit=1000))
            dumps["ours open download"] = (f"{base}/api/v1/open/datasets/{name}/download?"
                                           "format={format}&bom=false")
    auth = {"Authorization": f"Bearer {token}"}
    sites.append(Site("ours catalog route", base, "catalog", code, auth, max_limit=1000))
    dumps["ours catalog export"] = (f"{base}/api/v1/catalog/resources/{code}/data/export?"
                                    "format={format}")
    return sites, dumps


# --- latency ---------------------------------------------------------------------------

@dataclass
class Timings:
    rounds: list[list[float]] = field(default_factory=list)  # seconds, per round
    records: int = 0
    total: int | None = None

    @property
    def all(self) -> list[float]:
        return [t for r in self.rounds for t in r]

    @property
    def p50(self) -> float:
        """The median of the rounds' medians."""
        return statistics.median(statistics.median(r) for r in self.rounds if r)

    @property
    def p95(self) -> float:
        ordered = sorted(self.all)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def latency(sites: Sequence[Site], case: Case, *, rounds: int, requests: int, warmup: int = 5,
            block: int = 10) -> dict[str, Timings]:
    """Time ``requests`` calls of ``case`` per site and round, interleaved in blocks."""
    out = {site.label: Timings() for site in sites}
    with httpx.Client(timeout=600) as client:
        for site in sites:
            for _ in range(warmup):
                _call(client, site, case, out[site.label])
        for _ in range(rounds):
            for timings in out.values():
                timings.rounds.append([])
            done = 0
            while done < requests:
                size = min(block, requests - done)
                for site in sites:
                    for _ in range(size):
                        out[site.label].rounds[-1].append(_call(client, site, case,
                                                                out[site.label]))
                done += size
    return out


def _call(client: httpx.Client, site: Site, case: Case, timings: Timings) -> float:
    started = time.perf_counter()
    response = client.get(site.url(case), headers=site.headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{site.label} {case.label}: {response.status_code} "
                           f"{response.text[:300]}")
    records, total = site.records(response.content)
    timings.records, timings.total = len(records), total
    return elapsed


# --- throughput ------------------------------------------------------------------------

def cpu_seconds(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


@dataclass
class Throughput:
    rates: dict[int, list[float]]  # requests/s per number of clients, per round
    cpu_ms: list[float] = field(default_factory=list)  # workers' CPU per request, per run

    def median(self, clients: int) -> float:
        return statistics.median(self.rates[clients])


def throughput(sites: Sequence[Site], case: Case, *, clients: Sequence[int], seconds: float,
               rounds: int) -> dict[str, Throughput]:
    """Requests per second for each site at each number of clients, per round, and the CPU
    its worker processes spent per request."""
    out = {site.label: Throughput({n: [] for n in clients}) for site in sites}
    for _ in range(rounds):
        for n in clients:
            for site in sites:
                pids = site.workers() if site.workers else []
                before = cpu_seconds(pids)
                load = _httpload.run(site.url(case), clients=n, seconds=seconds,
                                     headers=site.headers)
                if load.errors:
                    raise RuntimeError(f"{site.label}: {load.errors} errors at {n} clients")
                out[site.label].rates[n].append(load.requests_per_second)
                if pids and load.latencies:
                    out[site.label].cpu_ms.append(
                        (cpu_seconds(pids) - before) / len(load.latencies) * 1000)
    return out


# --- paging ----------------------------------------------------------------------------

def paging(site: Site, rows: int, *, limit: int = 32_000) -> tuple[float, int]:
    """Read the whole table page after page (offset paging, the total with each page).
    Returns the seconds and the rows read."""
    read = 0
    started = time.perf_counter()
    with httpx.Client(timeout=600) as client:
        while read < rows:
            response = client.get(site.url(Case("page", limit=limit, offset=read)),
                                  headers=site.headers)
            response.raise_for_status()
            records, _ = site.records(response.content)
            if not records:
                break
            read += len(records)
    return time.perf_counter() - started, read


# --- downloads and memory --------------------------------------------------------------

class MemoryWatch:
    """The largest resident size of any of ``pids`` while it runs (sampled)."""

    def __init__(self, pids: Callable[[], list[int]], every: float = 0.05) -> None:
        self.pids, self.every = pids, every
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for pid in self.pids():
                with contextlib.suppress(psutil.Error):
                    self.peak = max(self.peak, psutil.Process(pid).memory_info().rss / MB)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Download:
    seconds: float
    size: int
    first_byte: float
    peak_rss_mb: float


def download(url: str, *, headers: dict[str, str] | None = None,
             pids: Callable[[], list[int]] = list) -> Download:
    """Stream ``url`` to nowhere, watching the serving processes' memory."""
    with MemoryWatch(pids) as watch, httpx.Client(timeout=None) as client:
        started = time.perf_counter()
        first = None
        size = 0
        with client.stream("GET", url, headers=headers or {}) as response:
            response.raise_for_status()
            for chunk in response.iter_raw(1 << 20):
                if first is None:
                    first = time.perf_counter() - started
                size += len(chunk)
        seconds = time.perf_counter() - started
    return Download(seconds, size, first or seconds, watch.peak)


def settle(libpq_url: str, *, timeout: float = 300) -> float:
    """Wait until no index is being built on the server (``pg_stat_progress_create_index``):
    a sorted case makes our server build its sort index beside the requests, and that build
    must not share the cores with the next case's timings. Returns the seconds waited."""
    return _wait_for_none(libpq_url, "SELECT count(*) FROM pg_stat_progress_create_index",
                          timeout=timeout)


def quiesce(libpq_url: str, *, timeout: float = 300) -> float:
    """Before a timed load, the same start for each: a checkpoint, so that none falls into
    it by WAL volume (a million-row load writes ~110 MB of WAL, a checkpoint is due about
    every 540 MB: without it one falls into our upload or the ``\\copy`` as the rounds
    go, its sync beside the load), and no autovacuum worker at work on the previous load's
    table. Returns the seconds waited."""
    started = time.perf_counter()
    subprocess.run(["psql", libpq_url, "-X", "-q", "-c", "CHECKPOINT"], check=True)
    _wait_for_none(libpq_url, "SELECT count(*) FROM pg_stat_activity "
                   "WHERE backend_type = 'autovacuum worker'", timeout=timeout)
    return time.perf_counter() - started


def _wait_for_none(libpq_url: str, count: str, *, timeout: float) -> float:
    """Poll the server's own view (``count``, a ``SELECT count(*)``) until it counts none:
    the server says when work ends only there. Returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        counted = subprocess.run(["psql", libpq_url, "-X", "-q", "-At", "-c", count],
                                 check=True, capture_output=True, text=True).stdout.strip()
        if counted == "0":
            break
        time.sleep(0.5)
    return time.perf_counter() - started


def copy_to_stdout(libpq_url: str, table: str, fmt: str = "csv") -> float:
    """Seconds ``psql`` takes for PostgreSQL's own COPY of the whole table in a download's
    format, to /dev/null (PERFORMANCE.md's limits): CSV, ``COPY (SELECT * …) TO STDOUT WITH
    CSV HEADER``; JSON, an object per row, ``COPY (SELECT row_to_json(t) …) TO STDOUT``."""
    if fmt == "json":
        copy = f'COPY (SELECT row_to_json(t) FROM "{table}" AS t) TO STDOUT'
    else:
        copy = f'COPY (SELECT * FROM "{table}") TO STDOUT WITH CSV HEADER'
    started = time.perf_counter()
    subprocess.run(["psql", libpq_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", copy],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def memory(pids: Sequence[int]) -> dict[str, float]:
    """Mean resident, proportional and unique memory of the processes, MB. Resident counts
    every page a process maps, also those it shares (forked workers share what their
    parent imported); proportional divides shared pages among their sharers; unique counts
    only the pages no other process has: what one more worker costs."""
    sizes: dict[str, list[float]] = {"rss": [], "pss": [], "uss": []}
    for pid in pids:
        try:
            info = psutil.Process(pid).memory_full_info()
        except psutil.Error:
            continue
        for key in sizes:
            sizes[key].append(getattr(info, key) / MB)
    return {key: statistics.mean(values) if values else float("nan")
            for key, values in sizes.items()}


# --- our server ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``python -m govdata serve --workers N`` on a free port."""

    READY = ("accepting connections", "Uvicorn running on")

    def __init__(self, database_url: str, *, workers: int, env: dict[str, str] | None = None,
                 timeout: float = 180) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, "GOVDATA_DATABASE_URL": database_url, **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "govdata", "serve", "--port", str(self.port),
             "--workers", str(workers)], env=environment, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        self._wait(workers, timeout)

    def _wait(self, workers: int, timeout: float) -> None:
        """Read the log until every worker accepts connections; then keep draining it."""
        watchdog = threading.Timer(timeout, self.process.kill)
        watchdog.start()
        seen, ready = [], 0
        try:
            for line in self.process.stderr:
                seen.append(line)
                ready += any(mark in line for mark in self.READY)
                if ready >= workers:
                    break
            else:
                raise RuntimeError("server did not start:\n" + "".join(seen[-20:]))
        finally:
            watchdog.cancel()
        threading.Thread(target=self.process.stderr.read, daemon=True).start()

    def workers(self) -> list[int]:
        children = psutil.Process(self.process.pid).children()
        return [c.pid for c in children] or [self.process.pid]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def repository() -> Path:
    return Path(__file__).resolve().parent.parent


def ratio_text(ours: float, theirs: float) -> str:
    return f"{ours / theirs:5.2f}" if theirs else "  n/a"
