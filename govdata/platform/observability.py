"""Request ids, one JSON log line per request, and Prometheus metrics.

A plain ASGI middleware (not BaseHTTPMiddleware) so streamed responses stay streamed.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid

from prometheus_client import Counter, Histogram

REQUESTS = Counter("govdata_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("govdata_http_request_seconds", "HTTP request latency", ["method", "route"])

access_log = logging.getLogger("govdata.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    root = logging.getLogger("govdata")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


class RequestObservability:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if scope["state"].get("client_gone"):
                status["code"] = 499  # nginx's "client closed request": not a server error
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status["code"])).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            access_log.info("request", extra={"fields": {
                "request_id": request_id, "method": scope["method"], "path": scope["path"],
                "route": route, "status": status["code"], "ms": round(elapsed * 1000, 2),
                "client": scope["client"][0] if scope.get("client") else None,
            }})
