"""``govdata exchange …``: what an administrator runs from the shell, through the same
services as the API (the CLI acts as the platform, overseeing every department)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from govdata.platform.cli import CLI_ACTOR, get_settings, unit_of_work

app = typer.Typer(help="共享交换 exchange", no_args_is_help=True)


@app.command("overdue")
def overdue(
    department: Annotated[str | None, typer.Option(help="only this department (either side)")]
    = None,
) -> None:
    """List the pending requests past their deadline (one line each, tab-separated)."""
    from govdata.exchange import requests

    with unit_of_work() as session:
        rows, total = requests.list_requests(session, CLI_ACTOR, overdue=True,
                                             department=department, limit=1000)
        for request in rows:
            typer.echo("\t".join([str(request.id), request.deadline.isoformat(),
                                  request.provider.code, request.consumer.code,
                                  request.resource.code, request.resource.name]))
    typer.echo(f"{total} overdue request(s)", err=True)


@app.command("evaluation")
def evaluation_report(
    department: Annotated[str, typer.Option(help="department code")],
    year: Annotated[int | None, typer.Option(help="calendar year (default: this year)")] = None,
    format: Annotated[str, typer.Option("--format", help="json | csv")] = "json",
    out: Annotated[Path | None, typer.Option(help="file to write (default: stdout)")] = None,
) -> None:
    """A department's yearly evaluation (绩效评估): JSON, or CSV (UTF-8 with BOM) for Excel."""
    from govdata.exchange import evaluation

    if format not in ("json", "csv"):
        raise typer.BadParameter("use json or csv", param_hint="--format")
    with unit_of_work() as session:
        report = evaluation.evaluate(session, CLI_ACTOR, get_settings(),
                                     department=department, year=year)
    data = (evaluation.as_csv(report) if format == "csv"
            else (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode())
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    typer.echo(f"evaluation of {department} for {report['year']} written to {out}")
