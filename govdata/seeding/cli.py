"""``govdata seed`` and ``govdata demo-accounts``."""

from __future__ import annotations

from typing import Annotated

import typer

from govdata.platform.cli import get_settings, unit_of_work

# The loaders and their dependencies are imported by the commands that use them, so that
# ``govdata --help`` stays fast.


def progress_bar():
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=False)


def seed(
    scale: Annotated[str, typer.Option(help="small (make run) or large (benchmarks)")] = "small",
) -> None:
    """Load the seed catalogs and sample data (idempotent: a second run changes nothing)."""
    from govdata.platform.db import Database
    from govdata.seeding import files, samples
    from govdata.seeding.loader import seed_catalog
    from govdata.seeding.sample_data import planned_samples, seed_samples

    if scale not in samples.SCALES:
        raise typer.BadParameter(f"scale must be one of {sorted(samples.SCALES)}")
    settings = get_settings()
    seeds = files.load_seed_files()
    resources = sum(len(seed.get("resources") or []) for seed in seeds)
    with progress_bar() as bar:
        task = bar.add_task("目录 catalog", total=resources)
        with unit_of_work() as session:
            report = seed_catalog(session, settings, seeds,
                                  tick=lambda _name: bar.advance(task))
        planned = planned_samples(seeds, scale)
        data_task = bar.add_task("数据 sample data", total=len(planned))
        db = Database(settings.database_url)
        try:
            loaded = seed_samples(db, planned, tick=lambda _name: bar.advance(data_task))
        finally:
            db.dispose()
    typer.echo(f"seed ({scale}): {report.summary()}; sample datasets: {loaded} loaded, "
               f"{len(planned) - loaded} already there")


def demo_accounts() -> None:
    """Print the demo accounts (they only log in when GOVDATA_ENV is not production)."""
    from sqlalchemy import select

    from govdata.platform.models import User

    settings = get_settings()
    with unit_of_work() as session:
        users = session.scalars(select(User).where(User.is_demo.is_(True))
                                .order_by(User.username)).all()
        rows = [(u.username, u.department.code, ",".join(u.roles)) for u in users]
    if not rows:
        typer.echo("no demo accounts (run `govdata seed`)")
        return
    if settings.env == "production":
        typer.echo("demo accounts are disabled in production")
        return
    typer.echo(f"demo accounts (password: {settings.demo_password}):")
    for username, department, roles in rows:
        typer.echo(f"  {username:<24} {department:<12} {roles}")


def register(app: typer.Typer) -> None:
    app.command("seed")(seed)
    app.command("demo-accounts")(demo_accounts)
