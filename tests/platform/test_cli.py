"""The command line, as an operator uses it, on a fresh database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.main import create_app
from govdata.platform import audit
from govdata.platform.db import Database
from govdata.platform.models import AuditEntry
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
    with Session(db.engine) as session:
        waiting = audit.verify(session).unsealed
        entries = session.scalar(select(func.count()).select_from(AuditEntry))
    assert entries >= 5  # a department, two users, a token issued and revoked
    assert waiting == (entries if db.dialect == "postgresql" else 0)  # SQLite seals at once
    assert f"audit.seal: {waiting}" in govdata("worker", "--once").stdout
    with Session(db.engine) as session:
        assert audit.verify(session).unsealed == 0
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


def test_accounts_and_tokens_from_the_shell(govdata):
    """Issue 7, items 1 and 3: deactivate, activate and set roles from the shell; a token
    of no lifetime and the revocation of an unknown jti fail with a clear message."""
    govdata("migrate")
    govdata("department", "add", "cq-dsj", "--name", "重庆市大数据应用发展管理局",
            "--uscc", synthetic_uscc("500000"), "--division", "500000")
    govdata("user", "add", "clerk", "--dept", "cq-dsj", "--role", "steward")
    zero = govdata("token", "issue", "--user", "clerk", "--ttl", "0s", ok=False)
    assert zero.returncode == 1 and "有效期" in zero.stderr and zero.stdout == ""
    unknown = govdata("token", "revoke", "0" * 32, ok=False)
    assert unknown.returncode == 1 and "不存在" in unknown.stderr
    token = govdata("token", "issue", "--user", "clerk", "--ttl", "1h").stdout.strip()

    db = Database(govdata.url)
    app = create_app(Settings(database_url=govdata.url), database=db)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
        govdata("user", "roles", "clerk", "--set", "requester,steward")
        outdated = client.get("/api/v1/auth/me", headers=headers)
        assert outdated.status_code == 401 and outdated.json()["code"] == "token_outdated"
        token = govdata("token", "issue", "--user", "clerk").stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/auth/me", headers=headers).json()["roles"] == [
            "requester", "steward"]
        govdata("user", "deactivate", "clerk")
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
        govdata("user", "activate", "clerk")
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    db.dispose()
    actions = [e["action"] for e in audit_entries(govdata.url) if e.get("resource") == "user:clerk"]
    assert {"user.roles", "user.deactivate", "user.activate"} <= set(actions)


def audit_entries(url: str) -> list[dict]:
    from sqlalchemy import text

    db = Database(url)
    with db.engine.connect() as connection:
        bodies = connection.execute(text("SELECT body FROM platform_audit_entry")).scalars()
        entries = [body if isinstance(body, dict) else json.loads(body) for body in bodies]
    db.dispose()
    return entries


def bypass_ledger_guards(url: str, statement: str, params: dict) -> None:
    """What a database superuser can do: change the ledger past its triggers."""
    from sqlalchemy import text

    db = Database(url)
    with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS platform_audit_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS platform_audit_no_delete"))
        connection.execute(text(statement), params)
    db.dispose()


@pytest.fixture
def cli_here(fresh_database_url, tmp_path, monkeypatch, capsys):
    """The CLI's entry point run in this process (exit status, stdout, stderr), for tests
    that would otherwise spend their time starting interpreters."""
    from govdata.main import command_line
    from govdata.platform.cli import run as run_cli
    from govdata.platform.settings import get_settings

    monkeypatch.setenv("GOVDATA_DATABASE_URL", fresh_database_url)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        capsys.readouterr()
        status = run_cli(command_line(), list(args))
        out, err = capsys.readouterr()
        if ok:
            assert status == 0, err
        return subprocess.CompletedProcess(args, status, out, err)

    run.url = fresh_database_url
    run.cwd = tmp_path
    yield run
    get_settings.cache_clear()


def setup_ledger(govdata) -> None:
    """A migrated database with a few ledger entries, made in-process (the CLI's own
    start-up is what is slow)."""
    from govdata.platform import migrate, service
    from govdata.platform.principal import Principal

    migrate.upgrade(govdata.url)
    db = Database(govdata.url)
    actor = Principal.system("cli")
    with db.transaction() as session:
        service.create_department(session, actor, code="cq-dsj", name="重庆市大数据应用发展管理局",
                                  uscc=synthetic_uscc("500000"), division_code="500000")
        for n in range(4):
            service.create_user(session, actor, username=f"clerk-{n}", department_code="cq-dsj",
                                roles=["requester"])
    audit.seal_all(db)  # PostgreSQL: entries are sealed by the sequencer, not at write time
    db.dispose()


def test_verify_with_checkpoint_names_the_first_removed_entry(cli_here):
    govdata = cli_here
    setup_ledger(govdata)
    saved = govdata.cwd / "cp.json"
    govdata("audit", "checkpoint", "--out", str(saved))
    size = json.loads(saved.read_text())["size"]
    assert size >= 5
    bypass_ledger_guards(govdata.url, "DELETE FROM platform_audit_entry WHERE seq >= :first",
                         {"first": size - 1})

    plain = govdata("audit", "verify")  # the rest of the chain is consistent: only the
    assert f"ledger ok: {size - 2} entries" in plain.stdout  # checkpoint sees the cut

    result = govdata("audit", "verify", "--checkpoint", str(saved), ok=False)
    assert result.returncode == 1 and result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith("govdata: 账本校验失败")
    assert f"{size - 2} < {size}" in line and f"first bad entry: {size - 1}" in line


def test_verify_names_the_first_altered_entry(cli_here):
    govdata = cli_here
    setup_ledger(govdata)
    bypass_ledger_guards(govdata.url, "UPDATE platform_audit_entry SET entry_hash = :h "
                         "WHERE seq IN (3, 4)", {"h": "0" * 64})
    result = govdata("audit", "verify", ok=False)
    assert result.returncode == 1 and result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "条目 3 的哈希不符" in line and line.endswith("(first bad entry: 3)")
