"""``govdata exchange …`` and ``govdata worker`` as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import synthetic_uscc


def test_exchange_commands_and_one_worker_round(fresh_database_url, tmp_path):
    env = {**os.environ, "GOVDATA_DATABASE_URL": fresh_database_url}

    def govdata(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "govdata", *args], cwd=tmp_path, env=env,
                                capture_output=True, timeout=120)
        if ok:
            assert result.returncode == 0, result.stderr.decode()
        return result

    govdata("migrate")
    govdata("department", "add", "cq-mzj", "--name", "重庆市民政局",
            "--uscc", synthetic_uscc("500000"), "--division", "500000")
    overdue = govdata("exchange", "overdue")
    assert overdue.stdout == b"" and b"0 overdue" in overdue.stderr
    out = tmp_path / "评估.csv"
    govdata("exchange", "evaluation", "--department", "cq-mzj", "--year", "2026",
            "--format", "csv", "--out", str(out))
    text = out.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and "重庆市民政局".encode() in text
    unknown = govdata("exchange", "evaluation", "--department", "nowhere", ok=False)
    assert unknown.returncode == 1 and b"Traceback" not in unknown.stderr
    once = govdata("worker", "--once").stdout.decode()
    assert "exchange.deliveries: 0" in once and "exchange.grant_expiry: 0" in once
