"""Ledger benchmark: append N entries through ``audit.record``, seal and verify them.

Prints entries/s for append, seal (the sequencer; PostgreSQL) and verify, and the ratio of
verify speed to hashing the same bytes with plain ``hashlib.sha256`` in the same run (goal:
≥ 0.25). Then acts committing one entry each, from 1 and from 16 writers at once, for
``--seconds`` on PostgreSQL: appends take no lock, so 16 writers commit side by side (the old design
held a database-wide lock until commit and 16 writers committed no faster than one).

    .venv/bin/python -m bench.ledger [--entries 1000000] [--pg-entries 200000] [--postgres URL]
                                     [--seconds 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import threading
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench import _report
from govdata.platform import audit, migrate, worker
from govdata.platform.db import Database
from govdata.platform.principal import Principal
from govdata.platform.settings import get_settings

BATCH = 2_000
GOAL_RATIO = 0.25  # verify speed / plain sha256 of the same bytes
QUICK = ["--entries", "1000", "--no-postgres"]
ACTOR = Principal(username="bench", department="cq-dsj", roles=frozenset({"requester"}),
                  client_ip="127.0.0.1", request_id="bench")


def append(db: Database, entries: int) -> float:
    started = time.perf_counter()
    done = 0
    while done < entries:
        with Session(db.engine) as session, session.begin():
            for _ in range(min(BATCH, entries - done)):
                audit.record(session, ACTOR, action="data.access", resource="201001/000001",
                             data_items=["district", "aqi", "pm25"], row_count=done,
                             purpose="空气质量联合分析")
                done += 1
    return time.perf_counter() - started


def seal(db: Database) -> float:
    started = time.perf_counter()
    audit.seal_all(db)
    return time.perf_counter() - started


def concurrent_commits(db: Database, writers: int, seconds: float) -> float:
    """Commits per second of ``writers`` threads, each act one entry in its own
    transaction; the sequencer seals beside them, run as ``govdata worker`` runs it."""
    stop = time.monotonic() + seconds
    counts = [0] * writers

    def write(n: int) -> None:
        while time.monotonic() < stop:
            with Session(db.engine) as session, session.begin():
                audit.record(session, ACTOR, action="data.access", resource="201001/000001",
                             row_count=n)
            counts[n] += 1

    done = threading.Event()
    sequencer = threading.Thread(target=worker.run, args=(audit.jobs(db, get_settings()), done))
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    sequencer.start()
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = sum(counts) / (time.monotonic() - started)
    done.set()
    sequencer.join()
    return rate


def verify(db: Database) -> tuple[float, audit.Verification]:
    started = time.perf_counter()
    with Session(db.engine) as session:
        result = audit.verify(session)
    return time.perf_counter() - started, result


def hash_baseline(db: Database) -> float:
    """Hash exactly the bytes verification hashes, already in memory."""
    with Session(db.engine) as session:
        bodies = [body for _seq, body, _digest in audit.iter_chain(session)]
    sha256 = hashlib.sha256
    started = time.perf_counter()
    prev = audit.GENESIS_HASH.encode()
    for body in bodies:
        prev = sha256(prev + body).hexdigest().encode()
    return time.perf_counter() - started


def run(label: str, url: str, entries: int, seconds: float) -> None:
    migrate.upgrade(url)
    db = Database(url)
    with db.engine.connect() as connection:
        existing = connection.execute(text("SELECT count(*) FROM platform_audit_entry")).scalar()
    appended = append(db, entries)
    sealed = seal(db)
    verified, result = verify(db)
    assert result.ok and result.entries == existing + entries, result
    baseline = hash_baseline(db)
    rates = ([concurrent_commits(db, writers, seconds) for writers in (1, 16)]
             if db.dialect == "postgresql" else None)  # SQLite: one writer at a time
    audit.seal_all(db)
    with Session(db.engine) as session:
        after = audit.verify(session)
    assert after.ok and after.unsealed == 0, after
    db.dispose()
    total = result.entries
    print(f"[{label}] append {entries:,} entries: {entries / appended:,.0f} entries/s "
          f"({appended:.1f} s)")
    if db.dialect == "postgresql":
        print(f"[{label}] seal {entries:,} entries: {entries / sealed:,.0f} entries/s "
              f"({sealed:.1f} s)")
    print(f"[{label}] verify {total:,} entries: {total / verified:,.0f} entries/s "
          f"({verified:.2f} s)")
    print(f"[{label}] plain sha256 of the same bytes: {total / baseline:,.0f} entries/s "
          f"({baseline:.2f} s)")
    print(f"[{label}] verify / sha256 ratio: {baseline / verified:.2f} (goal ≥ {GOAL_RATIO})")
    if rates:
        print(f"[{label}] one entry per commit, {seconds:.0f} s: 1 writer {rates[0]:,.0f}/s, "
              f"16 writers {rates[1]:,.0f}/s (chain verified after, all sealed)")
    _report.figure(f"{label}: append", entries / appended, "entries/s")
    _report.figure(f"{label}: verify {total:,} entries", total / verified, "entries/s",
                   baseline=total / baseline, baseline_name="plain sha256 of the same bytes",
                   ratio=baseline / verified, at_least=GOAL_RATIO)


def postgres_url(explicit: str | None) -> str | None:
    url = explicit or os.environ.get("GOVDATA_BENCH_PG_URL")
    if url:
        return url
    try:
        import psycopg

        name = f"govdata_bench_ledger_{int(time.time())}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True,
                             connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    except Exception as exc:  # noqa: BLE001 - the PostgreSQL run is optional
        print(f"[postgresql] skipped: {exc}")
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--pg-entries", type=int, default=200_000,
                        help="entries on PostgreSQL (appends there cost a round trip each)")
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (default: a new db)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--seconds", type=float, default=5,
                        help="length of each concurrent-commit run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{tmp}/ledger.db", args.entries, args.seconds)
    if not args.no_postgres and (url := postgres_url(args.postgres)):
        run("postgresql", url, args.pg_entries, args.seconds)


if __name__ == "__main__":
    main()
