"""Assembly: the kernel plus the parts, as one ASGI app and one command line."""

from __future__ import annotations

from fastapi import FastAPI

from govdata.platform import cli as platform_cli
from govdata.platform.app import create_app as create_platform_app
from govdata.platform.db import Database
from govdata.platform.settings import Settings


def routers() -> list:
    return []


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    return create_platform_app(settings, routers=routers(), database=database)


def command_line():
    return platform_cli.app


def cli() -> None:
    platform_cli.main(command_line())
