"""The first ten minutes of a newcomer (issue 7, item 16): the address of ``make run``
can be chosen, and the README says where the ``govdata`` command is."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def make_run_dry(*args: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {**os.environ, "HOST": "some-hostname"}  # zsh sets HOST: it must not be used
    result = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=True)
    return result.stdout


def test_make_run_serves_where_asked():
    assert "serve --host 0.0.0.0 --port 8080" in make_run_dry("HOST=0.0.0.0", "PORT=8080")
    assert "serve --host 127.0.0.1 --port 8000" in make_run_dry()


def test_readme_says_where_the_command_line_is():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/govdata" in readme
    assert "make run HOST=" in readme and "PORT=" in readme
