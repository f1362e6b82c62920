"""``govdata data …``: load a resource's data from a file, export it, list its versions."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from govdata.platform.cli import CLI_ACTOR, fail, get_settings
from govdata.platform.errors import RuleViolation
from govdata.platform.principal import Principal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from govdata.platform.db import Database

# The datastore (pandas, pyarrow, openpyxl) is imported by the commands that use it, so
# that ``govdata --help`` is fast.
EXPORT_FORMATS = ("csv", "tsv", "json", "ndjson", "xlsx")  # export.FORMATS (test-checked)

app = typer.Typer(help="资源数据 datastore: load, export, versions", no_args_is_help=True)
SHOWN_ERRORS = 20


@contextmanager
def database() -> Iterator[Database]:
    from govdata.platform.db import Database

    settings = get_settings()
    db = Database(settings.database_url, busy_timeout=settings.cli_busy_timeout_seconds)
    try:
        yield db
    finally:
        db.dispose()


def acting_as(session: Session, username: str | None) -> Principal:
    """The platform itself, or a user as their token would present them."""
    from govdata.platform import service as platform_service

    if username is None:
        return CLI_ACTOR
    user = platform_service.get_user(session, username)
    if not user.is_active:
        fail(f"用户 {username} 已停用")
    return platform_service.principal_of(user)


AsUser = Annotated[str | None, typer.Option("--as", help="act as this user (default: the "
                                                          "platform itself)")]


@app.command("load")
def load(
    code: str,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_user: AsUser = None,
    format: Annotated[str | None, typer.Option(help="csv | xlsx | json (else by name)")] = None,
) -> None:
    """Load a CSV, XLSX or JSON file as the resource's new data version."""
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from govdata.catalog.datastore import service

    with database() as db, db.sessionmaker() as session, session.begin():
        principal = acting_as(session, as_user)
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                   TextColumn("{task.fields[rows]:,} rows"), TimeElapsedColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task(file.name, total=None, rows=0)

            def progress(done: int, total: int, rows: int) -> None:
                bar.update(task, completed=done, total=total or None, rows=rows)

            try:
                version = service.load_data(session, principal, code, file, format=format,
                                            filename=file.name, progress=progress)
            except RuleViolation as exc:
                _print_problems(exc)
                raise
            bar.update(task, completed=bar.tasks[0].total or 0, rows=version.row_count)
    typer.echo(f"loaded {version.row_count} rows into {code} version {version.version} "
               f"({version.table_name})")


def _print_problems(exc: RuleViolation) -> None:
    errors = exc.errors or []
    for error in errors[:SHOWN_ERRORS]:
        typer.echo(f"  {error.get('msg')}", err=True)
    if len(errors) > SHOWN_ERRORS:
        typer.echo(f"  … {len(errors) - SHOWN_ERRORS} more listed", err=True)


@app.command("export")
def export(
    code: str,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="file (default stdout)")] = None,
    format: Annotated[str, typer.Option(help=" | ".join(EXPORT_FORMATS))] = "csv",
    masked: Annotated[bool, typer.Option(help="desensitise as the public sees it")] = False,
    bom: Annotated[bool, typer.Option(help="UTF-8 BOM (CSV for Excel)")] = False,
    as_user: AsUser = None,
) -> None:
    """Export the resource's current data."""
    from govdata.catalog.datastore import service
    from govdata.catalog.datastore.export import stream_export

    with database() as db:
        with db.sessionmaker() as session, session.begin():
            plan = service.export_data(session, acting_as(session, as_user), code,
                                       masked=masked, format=format, bom=bom)
        target = out.open("wb") if out else sys.stdout.buffer
        try:
            for chunk in stream_export(db.engine, plan):
                target.write(chunk)
        finally:
            if out:
                target.close()
    if out:
        typer.echo(f"exported {code} version {plan.version} to {out}", err=True)


@app.command("versions")
def versions(code: str, as_user: AsUser = None) -> None:
    """List the resource's loaded versions (the current one marked *)."""
    from govdata.catalog.datastore import service

    with database() as db, db.sessionmaker() as session, session.begin():
        for version in service.list_versions(session, acting_as(session, as_user), code):
            mark = "*" if version.is_current else " "
            typer.echo(f"{mark} v{version.version}  {version.row_count:>10} rows  "
                       f"{version.loaded_at:%Y-%m-%d %H:%M}  {version.loaded_by}  "
                       f"{version.source_name or ''}")
