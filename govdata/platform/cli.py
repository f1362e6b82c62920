"""The ``govdata`` command line: kernel commands. Parts add their own groups in
``govdata.main``. Exit 0 on success, 1 on an explained failure, 2 on bad usage."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from govdata.platform.errors import ConfigurationError, DomainError
from govdata.platform.principal import Principal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from govdata.platform import worker
    from govdata.platform.settings import Settings

# Services, the database and the app are imported by the commands that use them, so that
# ``govdata --help`` answers at once.

CLI_ACTOR = Principal.system("cli")


def get_settings() -> Settings:
    """The settings, read when a command runs (pydantic is not imported for ``--help``)."""
    from govdata.platform import settings

    return settings.get_settings()

_TTL = re.compile(r"^(\d+)([smhd])$")
_TTL_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction for one command, on the configured database."""
    from govdata.platform.db import Database

    settings = get_settings()
    db = Database(settings.database_url, busy_timeout=settings.cli_busy_timeout_seconds)
    try:
        with db.transaction() as session:
            yield session
    finally:
        db.dispose()


def fail(message: str) -> None:
    typer.echo(f"govdata: {message}", err=True)
    raise typer.Exit(1)


def parse_ttl(value: str) -> dt.timedelta:
    match = _TTL.match(value.strip())
    if not match:
        raise typer.BadParameter("use a number and a unit: 3600s, 90m, 12h, 30d")
    lifetime = dt.timedelta(**{_TTL_UNIT[match[2]]: int(match[1])})
    if lifetime <= dt.timedelta(0):
        fail(f"令牌有效期必须大于 0 (--ttl {value}: the lifetime must be positive)")
    return lifetime


app = typer.Typer(help="政务数据共享交换与开放平台 govdata", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
user_app = typer.Typer(help="用户 users", no_args_is_help=True)
token_app = typer.Typer(help="访问令牌 tokens", no_args_is_help=True)
audit_app = typer.Typer(help="审计账本 audit ledger", no_args_is_help=True)
department_app = typer.Typer(help="部门 departments", no_args_is_help=True)
app.add_typer(department_app, name="department")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")


@app.command("migrate")
def migrate_database() -> None:
    """Upgrade the database to the newest migration."""
    from govdata.platform import migrate

    url = get_settings().database_url
    migrate.upgrade(url)
    typer.echo(f"migrated {url.split('@')[-1]} to head")


@department_app.command("add")
def department_add(
    code: str,
    name: Annotated[str, typer.Option(help="full name, e.g. 重庆市生态环境局")],
    uscc: Annotated[str, typer.Option(help="统一社会信用代码")],
    division: Annotated[str, typer.Option(help="行政区划代码")],
    short_name: str | None = None,
    parent: str | None = None,
) -> None:
    """Register a department."""
    from govdata.platform import service

    with unit_of_work() as session:
        service.create_department(session, CLI_ACTOR, code=code, name=name, uscc=uscc,
                                  division_code=division, short_name=short_name,
                                  parent_code=parent)
    typer.echo(f"created department {code}")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Serve the API and the pages (with several workers: Gunicorn, the app preloaded)."""
    from govdata.platform import serving

    get_settings().check_startable()
    serving.serve("govdata.main:create_app", host=host, port=port, workers=workers)


def ledger_jobs(db, settings) -> list:
    """The ledger's sealing job (``audit.jobs``), imported when the worker starts."""
    from govdata.platform import audit

    return audit.jobs(db, settings)


WORKER_JOBS: list[worker.JobFactory] = [ledger_jobs]


def register_worker_jobs(factory: worker.JobFactory) -> None:
    """A part's jobs for ``govdata worker`` (called by ``govdata.main``)."""
    WORKER_JOBS.append(factory)


@app.command("worker")
def run_worker(
    once: Annotated[bool, typer.Option(help="one round of every job, then exit")] = False,
) -> None:
    """Run the background jobs (webhook deliveries, deadline reminders, grant expiry, …)
    beside the web servers, until SIGTERM or Ctrl-C."""
    from govdata.platform import worker
    from govdata.platform.db import Database
    from govdata.platform.observability import configure_logging

    settings = get_settings()
    settings.check_startable()
    configure_logging(settings.log_level)
    db = Database(settings.database_url)
    try:
        jobs = [job for factory in WORKER_JOBS for job in factory(db, settings)]
        if once:
            done = {job.name: worker.run_round(job) for job in jobs}
            typer.echo(", ".join(f"{name}: {count}" for name, count in done.items()))
            return
        stop = threading.Event()
        worker.stop_on_signals(stop)
        typer.echo(f"worker running: {', '.join(job.name for job in jobs)}", err=True)
        worker.run(jobs, stop)
    finally:
        db.dispose()


@user_app.command("add")
def user_add(
    name: str,
    dept: Annotated[str, typer.Option(help="department code")],
    role: Annotated[list[str], typer.Option(
        help="superuser|admin|steward|requester|approver|auditor")],
    password: Annotated[str | None, typer.Option(help="omit for a token-only account")] = None,
    display_name: str | None = None,
) -> None:
    """Create a user in a department."""
    from govdata.platform import service

    with unit_of_work() as session:
        user = service.create_user(session, CLI_ACTOR, username=name, department_code=dept,
                                   roles=role, password=password, display_name=display_name)
        roles = ", ".join(user.roles)
        typer.echo(f"created user {user.username} ({user.department.code}: {roles})")


@user_app.command("deactivate")
def user_deactivate(name: str) -> None:
    """Deactivate an account: its tokens stop working at once."""
    from govdata.platform import service

    with unit_of_work() as session:
        service.set_user_active(session, CLI_ACTOR, name, active=False)
    typer.echo(f"deactivated {name}; its tokens no longer work")


@user_app.command("activate")
def user_activate(name: str) -> None:
    """Reactivate an account (tokens issued before its deactivation stay invalid)."""
    from govdata.platform import service

    with unit_of_work() as session:
        service.set_user_active(session, CLI_ACTOR, name, active=True)
    typer.echo(f"activated {name}")


@user_app.command("roles")
def user_roles(
    name: str,
    set_roles: Annotated[str, typer.Option("--set", help="the roles it holds from now: r1,r2")],
) -> None:
    """Replace a user's roles; its earlier tokens stop working at once."""
    from govdata.platform import service

    roles = [role.strip() for role in set_roles.split(",") if role.strip()]
    with unit_of_work() as session:
        user = service.set_user_roles(session, CLI_ACTOR, name, roles=roles)
        typer.echo(f"{user.username}: {', '.join(user.roles)}")


@token_app.command("issue")
def token_issue(
    user: Annotated[str, typer.Option(help="username")],
    ttl: Annotated[str, typer.Option(help="lifetime: 3600s, 90m, 12h, 30d")] = "30d",
) -> None:
    """Issue a token for a department system; prints the token, its jti on stderr."""
    from govdata.platform import service

    lifetime = parse_ttl(ttl)
    with unit_of_work() as session:
        issued = service.issue_system_token(session, get_settings(), CLI_ACTOR, username=user,
                                            ttl=lifetime)
    typer.echo(issued.token)
    typer.echo(f"jti={issued.jti} expires={issued.expires_at.isoformat()}", err=True)


@token_app.command("revoke")
def token_revoke(jti: str) -> None:
    """Revoke a token by its jti; every later use answers 401."""
    from govdata.platform import service

    with unit_of_work() as session:
        service.revoke_token(session, CLI_ACTOR, jti=jti)
    typer.echo(f"revoked {jti}")


def seal_waiting() -> None:
    from govdata.platform import audit
    from govdata.platform.db import Database

    db = Database(get_settings().database_url)
    try:
        audit.seal_all(db)
    finally:
        db.dispose()


@audit_app.command("verify")
def audit_verify(
    checkpoint_file: Annotated[Path | None, typer.Option("--checkpoint",
                                                          help="a signed checkpoint file")] = None,
) -> None:
    """Seal the entries waiting, then recompute the hash chain (and, given a checkpoint,
    prove the prefix unchanged)."""
    from govdata.platform import audit, checkpoint

    seal_waiting()
    with unit_of_work() as session:
        if checkpoint_file is None:
            result = audit.verify(session)
        else:
            saved = json.loads(checkpoint_file.read_text(encoding="utf-8"))
            result = checkpoint.check(session, get_settings(), saved)
    if not result.ok:
        fail(f"账本校验失败: {result.reason} (first bad entry: {result.first_bad_seq})")
    waiting = f"; {result.unsealed} written since, not yet sealed" if result.unsealed else ""
    typer.echo(f"ledger ok: {result.entries} entries, head {result.head_hash}{waiting}")


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[Path, typer.Option(help="file to write")] = Path("var/checkpoint.json"),
) -> None:
    """Seal the entries waiting, then sign the chain head and size with Ed25519 and write
    it to a file."""
    from govdata.platform import checkpoint

    seal_waiting()
    with unit_of_work() as session:
        signed = checkpoint.create(session, get_settings())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(checkpoint.dumps(signed), encoding="utf-8")
    typer.echo(f"checkpoint of {signed['size']} entries written to {out}")


def run(typer_app: typer.Typer, argv: list[str] | None = None) -> int:
    """Run the CLI, turning domain and configuration errors into one line and exit 1."""
    try:
        typer_app(args=argv, prog_name="govdata")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except (DomainError, ConfigurationError) as exc:
        typer.echo(f"govdata: {explain(exc)}", err=True)
        return 1
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError  # imported only when a command failed

        from govdata.platform.failsafe import database_fault  # the web stack, only now

        if not isinstance(exc, SQLAlchemyError | OSError):
            raise
        fault = database_fault(exc)
        if fault is None:
            raise
        typer.echo(f"govdata: {fault.detail}: {exc.__class__.__name__}", err=True)
        return 1
    return 0


def explain(exc: Exception) -> str:
    """A domain error as one line: its detail, then each field error."""
    errors = getattr(exc, "errors", None) or []
    parts = [f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in errors[:20]]
    more = f" (+{len(errors) - 20} more)" if len(errors) > 20 else ""
    return str(exc) + (" — " + "; ".join(parts) + more if parts else "")


def main(typer_app: typer.Typer) -> None:
    sys.exit(run(typer_app))
