"""``govdata --help`` imports no heavy module (issue 7, item 17): pandas, pyarrow,
openpyxl, numpy, the web framework and the database layers are imported by the commands
that use them. Measured as what is imported, never as a time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "pyarrow", "numpy", "openpyxl", "fastapi", "starlette", "sqlalchemy",
         "alembic", "psycopg", "jose", "cryptography")
PROBE = """
import json, runpy, sys
args, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["govdata", *args]
code = None
try:
    runpy.run_module("govdata", run_name="__main__")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "heavy": sorted(m for m in heavy if m in sys.modules)}))
"""


def imported_by(*args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
                            capture_output=True, text=True, timeout=120, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [("--help",), ("data", "--help"), ("catalog", "--help"),
                                  ("user", "--help"), ("exchange", "--help")])
def test_help_imports_nothing_heavy(args):
    outcome = imported_by(*args)
    assert outcome["code"] in (0, None)
    assert outcome["heavy"] == []


def test_the_commands_name_the_datastores_export_formats():
    from govdata.catalog.datastore import cli, export

    assert cli.EXPORT_FORMATS == export.FORMATS
