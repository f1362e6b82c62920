"""Issue 12 item 1: schemathesis against the app's own /openapi.json, every operation, as
each actor of the matrix (no token, a public account, each staff role): no 5xx, every
response as its operation declares it (status, content type, schema), problem+json on every
error (the document says so: ``govdata.platform.openapi``), the CKAN API's own envelope.

Bounded, derandomised and without deadline in ``make test`` (``FUZZ_EXAMPLES`` examples of
each operation per actor); ``make fuzz`` runs the long one (``GOVDATA_FUZZ_EXAMPLES``).
Each example runs in a savepoint rolled back after it, so every example meets the same
world."""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from govdata.main import create_app
from govdata.platform.settings import Settings
from tests.openportal.test_no_personal_data import all_routes

from .world import ACTORS, World

FUZZ_EXAMPLES = int(os.environ.get("GOVDATA_FUZZ_EXAMPLES", "2"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def openapi_document() -> dict:
    """The app's /openapi.json, from an app on no database (the document is the routes')."""
    directory = tempfile.mkdtemp(prefix="govdata-fuzz-")
    app = create_app(Settings(database_url="sqlite://", upload_dir=directory))
    try:
        return app.openapi()
    finally:
        app.state.db.dispose()
        shutil.rmtree(directory, ignore_errors=True)


schema = schemathesis.openapi.from_dict(openapi_document())


def credentials(world: World, actor: str) -> dict[str, str]:
    token = world.tokens.get(actor)
    return {"Authorization": f"Bearer {token}"} if token else {}


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
          phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation_as_every_actor(case, surface_app, world, session):
    """Each generated request is sent as each actor in turn."""
    client = TestClient(surface_app, raise_server_exceptions=False)
    for actor in ACTORS:
        headers = credentials(world, actor)
        savepoint = session.begin_nested()
        try:
            response = client.request(**request_of(case, headers))
            response.request.read()  # a multipart body was streamed: the checks read it
            case.validate_response(response, checks=CHECKS, headers=headers)
            check_problem(case, response, actor)
        finally:
            if savepoint.is_active:
                savepoint.rollback()


def request_of(case, headers: dict[str, str]) -> dict:
    """The case as TestClient arguments (raw bytes as ``content``, cookies as a header:
    httpx takes no per-request cookies)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    cookies = kwargs.pop("cookies", None)
    if cookies:
        kwargs["headers"] = {**kwargs.get("headers", {}),
                             "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    return kwargs


def check_problem(case, response, actor: str) -> None:
    """Every error is problem+json whose status is the answer's (the CKAN Action API
    answers in CKAN's envelope, checked by its schema)."""
    if response.status_code < 400 or case.path.startswith(("/api/3/action", "/api/action")):
        return
    kind = response.headers.get("content-type", "")
    assert kind.startswith("application/problem+json"), (actor, response.status_code, kind)
    assert response.json()["status"] == response.status_code, (actor, response.text)


def test_the_fuzzed_document_has_every_api_operation(surface_app):
    """Not vacuous: every route of the API proper is an operation schemathesis tries."""
    operations = {(method.upper(), path) for path, item in schema.raw_schema["paths"].items()
                  for method in item}
    routes = {(method, re.sub(r":\w+}", "}", route.path))
              for route in all_routes(surface_app.routes)
              if isinstance(route, APIRoute) and route.include_in_schema
              and route.path.startswith("/api/") for method in route.methods}
    assert len(operations) >= 90
    assert not routes - operations, sorted(routes - operations)
