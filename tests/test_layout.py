"""The repository's shape: one import package, no shadowed standard library, a compose file
the app can actually run with."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from govdata.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_platform_still_resolves_to_the_standard_library():
    code = (
        "import sys, platform, uuid, sysconfig; "
        "stdlib = sysconfig.get_paths()['stdlib']; "
        "assert platform.__file__.startswith(stdlib), platform.__file__; "
        "import govdata.platform; print(platform.python_version(), uuid.uuid4().version)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, env={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "4"
    assert not (ROOT / "platform").exists()


def test_one_import_package_with_the_four_parts():
    for part in ("platform", "catalog", "exchange", "openportal"):
        assert (ROOT / "govdata" / part / "__init__.py").is_file()


class UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value
                if key.tag != "tag:yaml.org,2002:merge"]  # ``<<: *anchor`` merges, legally
        duplicates = {key for key in keys if keys.count(key) > 1}
        assert not duplicates, f"duplicate keys {duplicates} at line {node.start_mark.line + 1}"
        return super().construct_mapping(node, deep)


def test_docker_compose_runs_postgres_and_a_multi_worker_app():
    compose = yaml.load((ROOT / "docker-compose.yml").read_text(), Loader=UniqueKeyLoader)
    services = compose["services"]
    assert set(services) >= {"postgres", "app"}
    app = services["app"]
    assert "postgres" in app["depends_on"]
    command = app["command"]
    assert "govdata migrate" in command
    assert "govdata serve" in command and "--workers" in command
    known = {f"GOVDATA_{name.upper()}" for name in Settings.model_fields}
    env = app["environment"]
    app_vars = {name for name in env if name.startswith("GOVDATA_")}
    assert app_vars <= known, app_vars - known
    assert env["GOVDATA_ENV"] == "production"
    assert env["GOVDATA_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "GOVDATA_JWT_PRIVATE_KEY" in env and "GOVDATA_CHECKPOINT_PRIVATE_KEY" in env
    worker = services["worker"]
    assert "govdata worker" in worker["command"] and "app" in worker["depends_on"]
    assert {name for name in worker["environment"] if name.startswith("GOVDATA_")} <= known
    user = services["postgres"]["environment"]["POSTGRES_USER"]
    assert f"//{user}:" in env["GOVDATA_DATABASE_URL"]
