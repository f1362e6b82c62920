"""Issue 7 item 15 (the client's half): a client that goes away mid-upload is logged as
its doing, status 499 without a traceback, and never counted as a 500."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from govdata.main import create_app
from tests.catalog import fields
from tests.catalog.datastore.conftest import AQ_ITEMS

from .live import serving

ROUTE = "/api/v1/catalog/resources/{code:rcode}/data"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records():
    handler = Records()
    logger = logging.getLogger("govdata")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def counted(status: str) -> float:
    return REGISTRY.get_sample_value("govdata_http_requests_total",
                                     {"method": "POST", "route": ROUTE, "status": status}) or 0


def test_a_client_gone_mid_upload_is_499_without_a_traceback(records, platform):
    app = create_app(platform["settings"])
    uploads = Path(platform["settings"].upload_dir)
    with serving(app) as base:
        with httpx.Client(base_url=base, headers=platform["headers"], timeout=120) as client:
            created = client.post("/api/v1/catalog/resources", json=fields(items=AQ_ITEMS))
            code = created.json()["code"]
        records.clear()
        before_500, before_499 = counted("500"), counted("499")
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as raw:
            raw.sendall(f"POST /api/v1/catalog/resources/{code}/data HTTP/1.1\r\n"
                        f"Host: test\r\nAuthorization: {platform['headers']['Authorization']}"
                        "\r\nContent-Type: text/csv\r\nContent-Length: 10000000\r\n\r\n"
                        .encode() + b"a,b\n" * 1000)
            time.sleep(0.5)  # the upload has begun; then the client is gone
        deadline = time.monotonic() + 20
        while counted("499") == before_499 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert counted("499") == before_499 + 1
        assert counted("500") == before_500
        with httpx.Client(base_url=base, timeout=60) as client:
            assert client.get("/healthz").status_code == 200
    access = [r for r in records if r.name == "govdata.access"
              and getattr(r, "fields", {}).get("route") == ROUTE]
    assert [r.fields["status"] for r in access] == [499]
    assert not [r for r in records if r.levelno >= logging.ERROR or r.exc_info]
    assert not [p for p in uploads.rglob("upload-*") if p.is_file()]
