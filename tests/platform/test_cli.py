"""The command line, as an operator uses it, on a fresh database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from govdata.main import create_app
from govdata.platform.db import Database
from govdata.platform.settings import Settings
from tests.conftest import synthetic_uscc


@pytest.fixture
def govdata(fresh_database_url, tmp_path):
    env = {**os.environ, "GOVDATA_DATABASE_URL": fresh_database_url}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "govdata", *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    run.url = fresh_database_url
    run.cwd = tmp_path
    return run


def test_operator_walkthrough(govdata):
    govdata("migrate")
    uscc = synthetic_uscc("500000")
    govdata("department", "add", "cq-dsj", "--name", "重庆市大数据应用发展管理局",
            "--uscc", uscc, "--division", "500000")
    govdata("user", "add", "ops-admin", "--dept", "cq-dsj", "--role", "admin",
            "--password", "a strong password")
    govdata("user", "add", "cq-system", "--dept", "cq-dsj", "--role", "requester")
    issued = govdata("token", "issue", "--user", "cq-system", "--ttl", "30d")
    token = issued.stdout.strip()
    jti = issued.stderr.split("jti=")[1].split()[0]

    db = Database(govdata.url)
    app = create_app(Settings(database_url=govdata.url), database=db)
    with TestClient(app) as client:
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["department"] == "cq-dsj"
        govdata("token", "revoke", jti)
        again = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert again.status_code == 401 and again.json()["code"] == "token_revoked"
    db.dispose()

    assert "ledger ok" in govdata("audit", "verify").stdout
    checkpoint = govdata.cwd / "cp.json"
    govdata("audit", "checkpoint", "--out", str(checkpoint))
    saved = json.loads(checkpoint.read_text())
    assert saved["size"] >= 5 and saved["algorithm"] == "Ed25519"
    assert "ledger ok" in govdata("audit", "verify", "--checkpoint", str(checkpoint)).stdout


def test_failures_exit_1_with_one_line(govdata):
    govdata("migrate")
    result = govdata("user", "add", "bob", "--dept", "nowhere", "--role", "steward", ok=False)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "nowhere" in result.stderr
    assert "Traceback" not in result.stderr
    bad_uscc = govdata("department", "add", "x1", "--name", "x", "--uscc", "91350100M000100Y4Z",
                       "--division", "350100", ok=False)
    assert bad_uscc.returncode == 1 and "Traceback" not in bad_uscc.stderr


def test_bad_usage_exits_2(govdata):
    assert govdata("user", "add", ok=False).returncode == 2
    assert govdata("token", "issue", "--user", "x", "--ttl", "forever", ok=False).returncode == 2
    assert govdata("no-such-command", ok=False).returncode == 2
