"""`govdata seed` on a fresh database: every open and basic resource gets its sample data,
and a second run leaves the data identical."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from sqlalchemy import select, text

from govdata.catalog.models import DataVersion, Resource
from govdata.platform.db import Database
from govdata.seeding import files


def govdata(url: str, cwd, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVDATA_DATABASE_URL": url}
    result = subprocess.run([sys.executable, "-m", "govdata", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def digest(url: str) -> tuple[str, int]:
    """A fingerprint of everything the seed writes: catalog rows, data versions, every
    row of every current data table, and the ledger's size and head."""
    db = Database(url)
    fingerprint = hashlib.sha256()
    with db.sessionmaker() as session:
        for row in session.execute(select(Resource.code, Resource.name, Resource.version,
                                          Resource.status).order_by(Resource.code)):
            fingerprint.update(repr(tuple(row)).encode())
        versions = session.execute(select(DataVersion.table_name, DataVersion.row_count)
                                   .where(DataVersion.is_current.is_(True))
                                   .order_by(DataVersion.table_name)).all()
        for table, rows in versions:
            fingerprint.update(f"{table}:{rows}".encode())
            quoted = session.get_bind().dialect.identifier_preparer.quote(table)
            for row in session.execute(text(f"SELECT * FROM {quoted} ORDER BY _id")):
                fingerprint.update(repr(tuple(row)).encode())
        ledger = session.execute(text("SELECT count(*) FROM platform_audit_entry")).scalar()
    db.dispose()
    return fingerprint.hexdigest(), ledger


def test_seed_twice_leaves_identical_data(fresh_database_url, tmp_path):
    govdata(fresh_database_url, tmp_path, "migrate")
    first = govdata(fresh_database_url, tmp_path, "seed", "--scale", "small")
    planned = sum(1 for seed in files.load_seed_files() for entry in seed["resources"]
                  if entry.get("sample"))
    assert f"sample datasets: {planned} loaded" in first.stdout
    before = digest(fresh_database_url)
    second = govdata(fresh_database_url, tmp_path, "seed", "--scale", "small")
    assert "0 loaded" in second.stdout
    assert digest(fresh_database_url) == before

    db = Database(fresh_database_url)
    with db.sessionmaker() as session:
        loaded = {row.name for row in session.execute(
            select(Resource.name).join(DataVersion, DataVersion.resource_id == Resource.id)
            .where(DataVersion.is_current.is_(True)))}
    db.dispose()
    expected = {entry["name"] for seed in files.load_seed_files() for entry in seed["resources"]
                if entry.get("open_type") != "none" or entry.get("resource_class") == "basic"}
    assert expected <= loaded, sorted(expected - loaded)
    assert seeded_codes(fresh_database_url) == codes_in_seed_order()
    accounts = govdata(fresh_database_url, tmp_path, "demo-accounts").stdout
    assert "cq-auditor" in accounts and "auditor" in accounts


def codes_in_seed_order() -> dict[tuple[str, str], str]:
    """The code each seed resource gets on a fresh database: per classification, numbered in
    the order of the seed files (README: the same on every machine)."""
    counters: dict[str, int] = {}
    expected = {}
    for seed in files.load_seed_files():
        for entry in seed["resources"]:
            number = counters[entry["classification"]] = counters.get(
                entry["classification"], 0) + 1
            expected[(entry["department"], entry["name"])] = (
                f"{entry['classification']}/{number:06d}")
    return expected


def seeded_codes(url: str) -> dict[tuple[str, str], str]:
    from govdata.platform.models import Department

    db = Database(url)
    with db.sessionmaker() as session:
        rows = session.execute(select(Department.code, Resource.name, Resource.code)
                               .join(Department, Department.id == Resource.department_id)).all()
    db.dispose()
    codes = {(department, name): code for department, name, code in rows}
    assert codes[("cq-hbj", "重庆市城市空气质量日报")] == "211001/000001"
    return codes
