"""Browser tests: one seeded server per session (Uvicorn on a free port, on a fresh database of
the test database's kind) driven by Playwright in headless Chromium.

Screenshots go to tests/e2e/artifacts/ (git-ignored). Every page fixture records the requests
the browser made and fails the test if any left the server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import fresh_database
from tests.contract.conftest import server_env, start_server

SEEDS = Path(__file__).parents[2] / "seeds"
SEED_FILE = "chongqing.yaml"  # one jurisdiction: its accounts, departments and sample data
CHROMIUM = os.environ.get("GOVDATA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).parent / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class Server:
    url: str
    database_url: str
    log: list[str] = field(default_factory=list)


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "govdata", *args], env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"govdata {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def server(database_url, tmp_path_factory) -> Iterator[Server]:
    """The seeded platform (``govdata migrate`` + ``govdata seed --scale small`` of the
    Chongqing seed), served."""
    directory = tmp_path_factory.mktemp("e2e")
    (directory / "seeds").mkdir()
    shutil.copy(SEEDS / SEED_FILE, directory / "seeds" / SEED_FILE)
    with fresh_database(database_url, directory) as url:
        env = {**server_env(url, directory / "uploads"),
               "GOVDATA_SEED_DIR": str(directory / "seeds")}
        _run(["migrate"], env)
        _run(["seed", "--scale", "small"], env)
        log: list[str] = []
        process, address = start_server(env, log)
        try:
            yield Server(url=address, database_url=url, log=log)
        finally:
            process.terminate()
            process.wait(timeout=30)
            process.stderr.close()


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Not longer: Playwright's sync API keeps an event loop
    running in this thread while it is open, and later tests call ``asyncio.run()``."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs it)")
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


class Requests(list):
    """Every URL the browser asked for while the page lived."""

    def outside(self, base_url: str) -> list[str]:
        origin = urlsplit(base_url)[:2]
        return [url for url in self if urlsplit(url).scheme not in ("data", "blob", "about")
                and urlsplit(url)[:2] != origin]


def assert_served_locally(requests: Requests, base_url: str) -> None:
    """Fail if the page loaded anything (style, font, script, image) from outside the server."""
    outside = requests.outside(base_url)
    assert not outside, f"loaded from outside the server: {outside}"


def _page(browser, server: Server, viewport: dict[str, int]):
    context = browser.new_context(base_url=server.url, viewport=viewport, locale="zh-CN")
    page = context.new_page()
    requests = Requests()
    page.on("request", lambda request: requests.append(request.url))
    page.requests = requests
    return context, page


@pytest.fixture
def page(browser, server):
    """A desktop-sized page in its own browser context (own cookies)."""
    context, page = _page(browser, server, DESKTOP)
    yield page
    context.close()
    assert_served_locally(page.requests, server.url)


@pytest.fixture
def phone_page(browser, server):
    context, page = _page(browser, server, PHONE)
    yield page
    context.close()
    assert_served_locally(page.requests, server.url)


@pytest.fixture
def new_page(browser, server):
    """Further desktop pages, each in its own context (another person signed in)."""
    opened = []

    def make():
        context, page = _page(browser, server, DESKTOP)
        opened.append((context, page))
        return page

    yield make
    for context, page in opened:
        context.close()
        assert_served_locally(page.requests, server.url)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
