"""``govdata data load|export|versions`` on a database of its own (a temporary SQLite
file: the command commits)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from govdata.main import command_line
from govdata.platform import migrate
from govdata.platform import service as platform_service
from govdata.platform.db import Database
from govdata.platform.settings import get_settings
from tests.catalog import create, steward
from tests.conftest import SYSTEM, synthetic_uscc

from .conftest import AQ_HEADER, AQ_ITEMS, AQ_ROWS, csv_text


@pytest.fixture
def cli_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("GOVDATA_DATABASE_URL", url)
    get_settings.cache_clear()
    migrate.upgrade(url)
    database = Database(url)
    with Session(database.engine) as session, session.begin():
        platform_service.create_department(session, SYSTEM, code="cq-sthjj", name="生态环境局",
                                           uscc=synthetic_uscc(), division_code="500000")
        platform_service.create_user(session, SYSTEM, username="zhang", roles=["steward"],
                                     department_code="cq-sthjj")
        platform_service.create_user(session, SYSTEM, username="li", roles=["requester"],
                                     department_code="cq-sthjj")
        code = create(session, steward("cq-sthjj"), department="cq-sthjj",
                      items=AQ_ITEMS).code
    database.dispose()
    yield code
    get_settings.cache_clear()


def run(*args: str):
    return CliRunner().invoke(command_line(), list(args))


def test_load_export_and_versions(cli_database, tmp_path):
    path = tmp_path / "aq.csv"
    path.write_text(csv_text(AQ_HEADER, AQ_ROWS), encoding="utf-8")
    result = run("data", "load", cli_database, str(path), "--as", "zhang")
    assert result.exit_code == 0, result.output
    assert f"loaded 5 rows into {cli_database} version 1" in result.output
    out = tmp_path / "out.csv"
    result = run("data", "export", cli_database, "--out", str(out), "--masked")
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("_id,id,district") and "欧阳**" in lines[2]
    result = run("data", "versions", cli_database)
    assert result.exit_code == 0 and "* v1" in result.output


def test_bad_file_and_wrong_user(cli_database, tmp_path):
    path = tmp_path / "bad.csv"
    rows = [list(AQ_ROWS[0])]
    rows[0][3] = "2024-02-30"
    path.write_text(csv_text(AQ_HEADER, rows), encoding="utf-8")
    result = run("data", "load", cli_database, str(path), "--as", "zhang")
    assert result.exit_code == 1
    assert "第 1 行 day '2024-02-30'" in result.output
    good = tmp_path / "good.csv"
    good.write_text(csv_text(AQ_HEADER, AQ_ROWS), encoding="utf-8")
    result = run("data", "load", cli_database, str(good), "--as", "li")
    assert result.exit_code == 1
