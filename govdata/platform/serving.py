"""``govdata serve``: the app under Uvicorn, in one process or in several.

With ``--workers N`` (N > 1) Gunicorn's arbiter keeps N worker processes, each running
Uvicorn's server (uvloop, httptools) on the one listening socket:

- the app is imported once, in the arbiter, before the workers are forked: a worker is
  serving as soon as it exists, and the imported code's memory is shared. (Uvicorn's own
  supervisor starts each worker as a fresh interpreter that imports everything again, and
  kills it when it has not answered a ping within five seconds: on a busy two-core machine
  the import takes longer, and workers were killed over and over.)
- new connections go to the worker holding the fewest: each worker takes a waiting
  connection itself, one at a time, and only while it holds no more connections than the
  least busy worker (``Balance``, counts in memory shared by the workers). Left to the
  kernel, whichever worker wakes first takes every waiting connection, and two or four
  keep-alive clients often all end up on one worker while the others idle. If the least
  busy worker has not taken a connection within ``Balance.patience`` seconds, any worker
  takes it.
- a worker that stops answering the arbiter's heartbeat for ``timeout`` seconds is killed
  and replaced, as is one that exits.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import uvicorn
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker as GunicornWorker

log = logging.getLogger("govdata.serving")

ABSENT = 1 << 62  # the count of a slot without a live worker
KEEP_ALIVE_SECONDS = 5


class Balance:
    """How many connections each worker holds, in shared memory (one slot per worker)."""

    def __init__(self, workers: int, *, retry: float = 0.001, patience: float = 0.05) -> None:
        self.counts = multiprocessing.RawArray("q", [ABSENT] * workers)
        self.retry, self.patience = retry, patience

    def __len__(self) -> int:
        return len(self.counts)

    def free_slot(self, taken: set[int]) -> int | None:
        return next((slot for slot in range(len(self)) if slot not in taken), None)

    def publish(self, slot: int | None, connections: int) -> None:
        if slot is not None:
            self.counts[slot] = connections

    def leave(self, slot: int | None) -> None:
        self.publish(slot, ABSENT)

    def should_wait(self, slot: int | None, connections: int) -> bool:
        """Whether another worker holds fewer connections than ``connections``."""
        if slot is None:
            return False
        return any(count < connections for index, count in enumerate(self.counts)
                   if index != slot)


class BalancedServer(uvicorn.Server):
    """Uvicorn's server taking connections from the shared sockets through ``Balance``."""

    def __init__(self, config: uvicorn.Config, *, listeners: list[socket.socket],
                 balance: Balance, slot: int | None,
                 announce: Callable[[str], None] = log.info) -> None:
        super().__init__(config)
        self.listeners, self.balance, self.slot = listeners, balance, slot
        self.announce = announce
        self.accepting = 0  # accepted, not yet handed to a protocol
        self.declined_at: float | None = None
        self.last_declined = 0.0
        self.protocol_factory: Callable[[], asyncio.Protocol] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # lifespan and state only: no asyncio servers
        protocol = _counted(self.config.http_protocol_class, self.publish)
        self.protocol_factory = partial(protocol, config=self.config,
                                        server_state=self.server_state,
                                        app_state=self.lifespan.state)
        self.publish()
        loop = asyncio.get_running_loop()
        for listener in self.listeners:
            listener.setblocking(False)
            loop.add_reader(listener.fileno(), self._readable, listener)
        self.announce(f"worker {os.getpid()} accepting connections")

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        for listener in self.listeners:
            loop.remove_reader(listener.fileno())
        self.balance.leave(self.slot)
        await super().shutdown(sockets=sockets)

    def connections(self) -> int:
        return len(self.server_state.connections) + self.accepting

    def publish(self) -> None:
        self.balance.publish(self.slot, self.connections())

    def _readable(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        if self.should_exit:
            return
        if self._defer():
            loop.remove_reader(listener.fileno())
            loop.call_later(self.balance.retry, self._watch, listener)
            return
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another worker took it
        except OSError as exc:  # out of file descriptors and the like: try again soon
            log.warning("accept failed: %s", exc)
            loop.remove_reader(listener.fileno())
            loop.call_later(0.1, self._watch, listener)
            return
        connection.setblocking(False)
        self.accepting += 1
        self.publish()
        task = loop.create_task(loop.connect_accepted_socket(self.protocol_factory, connection))
        task.add_done_callback(partial(self._handed_over, connection))

    def _defer(self) -> bool:
        """Leave the waiting connection to a less busy worker, for a while."""
        now = time.monotonic()
        if not self.balance.should_wait(self.slot, self.connections()):
            self.declined_at = None
            return False
        if self.declined_at is None or now - self.last_declined > 10 * self.balance.retry:
            self.declined_at = now  # a new connection is waiting
        self.last_declined = now
        if now - self.declined_at >= self.balance.patience:
            self.declined_at = None
            return False
        return True

    def _watch(self, listener: socket.socket) -> None:
        if not self.should_exit and listener.fileno() >= 0:
            asyncio.get_running_loop().add_reader(listener.fileno(), self._readable, listener)

    def _handed_over(self, connection: socket.socket, task: asyncio.Task) -> None:
        self.accepting -= 1
        if task.cancelled() or task.exception() is not None:
            connection.close()
        self.publish()


def _counted(protocol_class: type, publish: Callable[[], None]) -> type:
    """The HTTP protocol class, publishing the worker's connection count as they change."""

    class Counted(protocol_class):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            publish()

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            publish()

    return Counted


class Worker(GunicornWorker):
    """A Gunicorn worker running ``BalancedServer`` on the preloaded app."""

    slot: int | None = None

    def init_signals(self) -> None:
        # Uvicorn installs its own handlers; Gunicorn's would swallow them.
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGUSR1, self.handle_usr1)
        signal.siginterrupt(signal.SIGUSR1, False)

    def run(self) -> None:
        database = getattr(getattr(self.wsgi, "state", None), "db", None)
        if database is not None:  # never share the arbiter's pooled connections
            database.engine.dispose(close=False)
        config = uvicorn.Config(
            app=self.wsgi, lifespan="auto", log_config=None, access_log=False,
            timeout_keep_alive=self.cfg.keepalive, timeout_notify=self.timeout,
            callback_notify=self._notify, limit_max_requests=self.max_requests or None,
            forwarded_allow_ips=self.cfg.forwarded_allow_ips)
        server = BalancedServer(config, listeners=[s.sock for s in self.sockets],
                                balance=self.app.balance, slot=self.slot,
                                announce=self.log.info)
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(self._serve(server))
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)

    async def _serve(self, server: BalancedServer) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGQUIT, server.handle_exit, signal.SIGQUIT, None)
        await server.serve()

    async def _notify(self) -> None:
        self.notify()


class Application(BaseApplication):
    """Gunicorn configured from ``govdata serve``'s options, with the app preloaded."""

    def __init__(self, load: Callable[[], Any], *, bind: str, workers: int,
                 timeout: int = 60) -> None:
        self.load_app, self.balance = load, Balance(workers)
        self.options = {
            "bind": bind, "workers": workers, "worker_class": Worker, "preload_app": True,
            "timeout": timeout, "graceful_timeout": 30, "keepalive": KEEP_ALIVE_SECONDS,
            "accesslog": None, "errorlog": "-", "proc_name": "govdata",
            "control_socket_disable": True,
            "pre_fork": self._pre_fork, "child_exit": self._child_exit,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.load_app()

    def _pre_fork(self, arbiter: Arbiter, worker: Worker) -> None:
        worker.slot = self.balance.free_slot({w.slot for w in arbiter.WORKERS.values()
                                              if w.slot is not None})
        self.balance.publish(worker.slot, 0)

    def _child_exit(self, arbiter: Arbiter, worker: Worker) -> None:
        self.balance.leave(worker.slot)


def serve(app: str, *, host: str, port: int, workers: int) -> None:
    """Serve ``app`` (``"module:factory"``) until interrupted."""
    module, _, name = app.partition(":")
    factory = getattr(__import__(module, fromlist=[name]), name)

    def routed_app() -> Any:
        application = factory()
        build_routes(application)
        return application

    if workers == 1:
        uvicorn.run(routed_app, factory=True, host=host, port=port, access_log=False)
        return
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    Application(routed_app, bind=bind, workers=workers).run()


def build_routes(app: Any) -> None:
    """Have FastAPI work out every included router's routes before serving. It does so on
    the first request that reaches each router (``effective_candidates``, some 0.1-0.2 s
    of CPU for this app's routes): done here, in the arbiter before the workers fork, a
    worker's first request costs what any other does. Nothing on a FastAPI without it."""
    pending = list(app.router.routes)
    while pending:
        route = pending.pop()
        if hasattr(route, "effective_candidates"):
            pending.extend(route.effective_candidates())
            route.effective_low_priority_routes()
