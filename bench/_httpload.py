"""A small HTTP/1.1 load client for the benchmarks: plain asyncio streams, so the client's
own cost per request stays far below the servers' it measures (an httpx client would spend
about as much CPU per request as the server's first page).

Each of ``clients`` connections sends GET requests one after another (keep-alive when the
server allows it, a new connection when it answers ``Connection: close``, as Gunicorn's sync
workers do) for ``seconds``; the result counts the answers and their latencies.

    python -m bench._httpload URL [--clients 4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Load:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    connections: int = 0

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")


class Answer:
    __slots__ = ("status", "body", "close")

    def __init__(self, status: int, body: bytes, close: bool) -> None:
        self.status, self.body, self.close = status, body, close


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    close = headers.get("connection", "").lower() == "close"
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.read()
        close = True
    return Answer(status, body, close)


def request_bytes(url: str, headers: dict[str, str] | None = None) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return parts.hostname or "127.0.0.1", parts.port or 80, ("\r\n".join(lines) + "\r\n\r\n"
                                                             ).encode()


async def _client(load: Load, host: str, port: int, request: bytes, deadline: float,
                  check) -> None:
    reader = writer = None
    while time.perf_counter() < deadline:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
            load.connections += 1
        started = time.perf_counter()
        try:
            writer.write(request)
            answer = await read_answer(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            load.errors += 1
            writer.close()
            writer = None
            continue
        load.latencies.append(time.perf_counter() - started)
        if answer.status != 200 or (check and not check(answer.body)):
            load.errors += 1
        if answer.close:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _run(url: str, clients: int, seconds: float, headers, check) -> Load:
    host, port, request = request_bytes(url, headers)
    load = Load(clients, seconds)
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_client(load, host, port, request, deadline, check)
                           for _ in range(clients)))
    return load


def run(url: str, *, clients: int, seconds: float, headers: dict[str, str] | None = None,
        check=None) -> Load:
    """``clients`` keep-alive connections asking for ``url`` for ``seconds``."""
    return asyncio.run(_run(url, clients, seconds, headers, check))


def get(url: str, headers: dict[str, str] | None = None) -> Answer:
    """One request on a fresh connection."""
    async def once() -> Answer:
        host, port, request = request_bytes(url, {**(headers or {}), "Connection": "close"})
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(request)
            return await read_answer(reader)
        finally:
            writer.close()

    return asyncio.run(once())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._httpload")
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    args = parser.parse_args(argv)
    headers = dict(h.split(":", 1) for h in args.header)
    load = run(args.url, clients=args.clients, seconds=args.seconds,
               headers={k.strip(): v.strip() for k, v in headers.items()})
    print(f"{load.requests_per_second:.1f} requests/s, p50 {load.median * 1000:.1f} ms, "
          f"p95 {load.percentile(0.95) * 1000:.1f} ms, {load.errors} errors, "
          f"{load.connections} connections")


if __name__ == "__main__":
    main(sys.argv[1:])
