"""``govdata catalog …``: the catalog export and import, through the same services."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from govdata.platform.cli import CLI_ACTOR, unit_of_work
from govdata.platform.errors import RuleViolation
from govdata.platform.principal import Principal

# The catalog's services are imported by the commands, so that ``govdata --help`` is fast.

app = typer.Typer(help="信息资源目录 catalog", no_args_is_help=True)
MAX_ERRORS_SHOWN = 50


def _principal(session, username: str | None) -> Principal:
    from govdata.platform import service as platform_service

    if username is None:
        return CLI_ACTOR
    return platform_service.principal_of(platform_service.get_user(session, username))


@app.command("export")
def export(
    format: Annotated[str, typer.Option("--format", help="csv | xlsx | json")] = "csv",
    out: Annotated[Path | None, typer.Option(help="file to write (default: stdout)")] = None,
    department: Annotated[str | None, typer.Option(help="only this department")] = None,
) -> None:
    """Export the catalog in the guide's columns (CSV is UTF-8 with a BOM)."""
    from govdata.catalog import transfer

    if format not in transfer.FORMATS:
        raise typer.BadParameter("use csv, xlsx or json", param_hint="--format")
    with unit_of_work() as session:
        chunks = transfer.export_catalog(session, CLI_ACTOR, format=format,
                                         department=department)
        if out is None:
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
    typer.echo(f"catalog exported to {out}", err=True)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_user: Annotated[str | None, typer.Option("--as", help="act as this user "
                                                "(default: the platform itself)")] = None,
) -> None:
    """Import a catalog file (CSV, XLSX or JSON); any bad row and nothing is imported."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from govdata.catalog import transfer

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        try:
            with unit_of_work() as session:
                report = transfer.import_catalog(
                    session, _principal(session, as_user), data=file.read_bytes(),
                    filename=file.name, progress=progress)
        except RuleViolation as exc:
            bar.stop()
            for error in (exc.errors or [])[:MAX_ERRORS_SHOWN]:
                typer.echo(f"  {'/'.join(str(p) for p in error['loc'])}: {error['msg']}",
                           err=True)
            more = len(exc.errors or []) - MAX_ERRORS_SHOWN
            if more > 0:
                typer.echo(f"  … and {more} more", err=True)
            raise
    counts = report.counts()
    typer.echo("imported {rows} rows: {created} created, {updated} updated, {unchanged} "
               "unchanged, {published} published, {retired} retired".format(**counts))


@app.command("reindex")
def reindex() -> None:
    """Rebuild the catalog's search index from the resources (after a restore, an upgrade
    that changed the tokeniser, or a department renamed)."""
    from govdata.catalog import textindex

    with unit_of_work() as session:
        count = textindex.reindex_all(session)
    typer.echo(f"reindexed {count} resources")
