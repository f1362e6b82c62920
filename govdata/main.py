"""Assembly: the kernel plus the parts, as one ASGI app and one command line.

The command line imports no route, service or data library until a command runs, so
``govdata --help`` answers at once; the app imports every part's routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from govdata.catalog import cli as catalog_cli
from govdata.catalog.datastore import cli as datastore_cli
from govdata.exchange import cli as exchange_cli
from govdata.platform import cli as platform_cli
from govdata.seeding import cli as seeding_cli

if TYPE_CHECKING:
    from fastapi import FastAPI

    from govdata.platform.db import Database
    from govdata.platform.settings import Settings
    from govdata.platform.worker import Job


def routers() -> list:
    """Every part's routes, the public machine APIs first: a request is matched against
    the routes in this order (FastAPI matches an included router route by route, some tens
    of microseconds each), and the CKAN and open APIs take most of the traffic. No two
    routers share a path, so the order changes nothing else."""
    from govdata.catalog import api as catalog_api
    from govdata.catalog.datastore import api as datastore_api
    from govdata.console import api as console_api
    from govdata.exchange import api as exchange_api
    from govdata.openportal import api as openportal_api
    from govdata.openportal import pages as openportal_pages
    from govdata.openportal import people_api, people_pages
    from govdata.openportal.ckan import api as ckan_api

    return [ckan_api.router, openportal_api.router, openportal_api.metadata_router,
            people_api.router, catalog_api.router, datastore_api.router, exchange_api.router,
            openportal_pages.router, people_pages.router, console_api.router]


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    from govdata.platform.app import create_app as create_platform_app

    return create_platform_app(settings, routers=routers(), database=database)


def exchange_jobs(db: Database, settings: Settings) -> list[Job]:
    from govdata.exchange import jobs

    return jobs.jobs(db, settings)


def _assemble() -> typer.Typer:
    app = platform_cli.app
    app.add_typer(catalog_cli.app, name="catalog")
    app.add_typer(datastore_cli.app, name="data")
    app.add_typer(exchange_cli.app, name="exchange")
    seeding_cli.register(app)
    platform_cli.register_worker_jobs(exchange_jobs)
    return app


COMMAND_LINE = _assemble()


def command_line() -> typer.Typer:
    return COMMAND_LINE


def cli() -> None:
    platform_cli.main(COMMAND_LINE)
