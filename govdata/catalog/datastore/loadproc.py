"""A load's reading and checking in a process of its own, its output through a pipe.

Reading a million-row file with pyarrow, checking it and writing it out as COPY CSV takes
a few hundred megabytes, which the allocators keep once the load is over: a web worker grew
with its first large upload and never gave it back. So the load's heavy half runs in a
child process that ends with the load (its memory with it), while the worker keeps the
light half: the transaction, the COPY on its own connection, the version switch. A load
stays inside its caller's transaction (a CKAN action's savepoint, a request's session).

Children are forked by a fork server (``multiprocessing``'s ``forkserver``) that has
imported the load's modules once, started with the first load of the process: a child is
ready in tens of milliseconds, and is forked from a process that holds no thread, socket or
database connection of the worker's.

The child sends framed messages, each one ``send_bytes`` call: ``b"D"`` and a piece of
COPY data (at most ``PIECE`` bytes, read by the parent into one reusable buffer), or
``b"M"`` and a pickled tuple (progress, the outcome, an error). A child that ends without
its outcome (killed, out of memory) is ``LoadProcessDied``; a parent that gives up (an
error, an exception from the progress callback) kills its child.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.abc
import multiprocessing
import multiprocessing.forkserver
import pickle
import queue
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from govdata.platform.errors import DomainError

PIECE = 1 << 20
PIPE_SIZE = 1 << 20  # a piece in flight while the parent writes the previous one
QUEUED = 3  # batches (a few MB of CSV each) the child may be ahead of the pipe
DATA, MESSAGE = b"D", b"M"
PRELOAD = ["govdata.catalog.datastore.batches"]
PROCESS_NAME = "datastore-load"
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


class LoadProcessDied(DomainError):
    """The process reading the file ended without finishing (killed, out of memory)."""

    status = 500
    title = "服务器内部错误"
    default_code = "data_load_failed"


class LoadProcessFailed(RuntimeError):
    """An unexpected error in the loading process (a bug): its traceback, for the log."""


def _context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_server() -> None:
    """Have the fork server start now if it is not running, without waiting for it. Called
    as an upload begins, its start (a new interpreter importing ``PRELOAD``: 0.3 to 0.5 s)
    overlaps the reception of the file instead of delaying the first load of a worker."""
    _context()
    multiprocessing.forkserver.ensure_running()


class Sender:
    """The child's end: COPY data in pieces, and messages, sent in order by a thread of
    its own from a short queue, so that the child reads and checks its next batch while
    the parent (and the database behind it) take this one."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUED)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="datastore-send", daemon=True)
        self.thread.start()

    def data(self, buffer: Any) -> None:
        self._put((DATA, buffer))

    def message(self, *message: Any) -> None:
        self._put((MESSAGE, pickle.dumps(message, pickle.HIGHEST_PROTOCOL)))

    def close(self) -> None:
        """Send what is queued, then stop."""
        self._put(None)
        self.thread.join()

    def _put(self, item: object) -> None:
        while self.thread.is_alive():
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        raise BrokenPipeError("the parent stopped reading") from self.error

    def _run(self) -> None:
        try:
            while (item := self.queue.get()) is not None:
                kind, payload = item
                if kind == MESSAGE:
                    self.connection.send_bytes(MESSAGE + payload)
                    continue
                view = memoryview(payload)
                for start in range(0, len(view), PIECE - 1):
                    self.connection.send_bytes(DATA + view[start:start + PIECE - 1])
        except BaseException as exc:  # noqa: BLE001 - the parent is gone: the child stops
            self.error = exc


class _WithoutPandas(importlib.abc.MetaPathFinder):
    """Keeps pandas out of the loading process. pyarrow imports it the first time it
    converts a Python value (``pc.equal(lengths, 0)``, ``pa.array(ids)``), only to ask
    whether the value is a pandas object: about 0.2 s before the first batch reached the
    database, and some 30 MB, in every child. Nothing a load does uses pandas; refused its
    import, pyarrow takes it for not installed."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError("pandas is kept out of the loading process", name=name)


def _child(connection: Connection, target: Callable[..., None], args: tuple,
           passed: tuple[type[Exception], ...]) -> None:
    """Run ``target(sender, *args)``. An exception goes to the parent: one of ``passed``
    as itself, any other (a bug) as its traceback."""
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _WithoutPandas())
    sender = Sender(connection)
    try:
        try:
            target(sender, *args)
        except passed as exc:
            sender.message("error", exc)
        except Exception:  # noqa: BLE001 - the parent raises it, with this traceback
            sender.message("failed", traceback.format_exc())
        sender.close()
    finally:
        connection.close()


class LoadProcess:
    """A child running ``target(sender, *args)``; iterate over it for what it sends:
    ``memoryview`` pieces of data, valid until the next one, and message tuples. An
    exception of the child's of a ``passed`` class is raised here as it was raised there
    (``ReadError``, a ``RuleViolation`` with its rows), any other as ``LoadProcessFailed``."""

    def __init__(self, target: Callable[..., None], *args: Any,
                 passed: tuple[type[Exception], ...] = (DomainError,)) -> None:
        context = _context()
        self.receiver, sender = context.Pipe(duplex=False)
        with contextlib.suppress(OSError):  # a smaller pipe only means less overlap
            fcntl.fcntl(sender.fileno(), F_SETPIPE_SZ, PIPE_SIZE)
        self.process = context.Process(target=_child, args=(sender, target, args, passed),
                                       name=PROCESS_NAME, daemon=True)
        self.buffer = bytearray(PIECE)
        try:
            self.process.start()
        finally:
            sender.close()

    def __iter__(self) -> Iterator[memoryview | tuple]:
        view = memoryview(self.buffer)
        while True:
            try:
                size = self.receiver.recv_bytes_into(self.buffer)
            except EOFError:
                raise self._died() from None
            except multiprocessing.BufferTooShort as long:  # a large message (a report)
                message = pickle.loads(memoryview(long.args[0])[1:])
            else:
                if view[:1] == DATA:
                    yield view[1:size]
                    continue
                message = pickle.loads(view[1:size])
            if message[0] == "error":
                raise message[1]
            if message[0] == "failed":
                raise LoadProcessFailed(message[1])
            yield message

    def _died(self) -> LoadProcessDied:
        self.process.join(5)
        code = self.process.exitcode
        how = (f"signal {-code}" if code is not None and code < 0 else f"exit code {code}")
        return LoadProcessDied(f"读取数据的进程意外终止 ({how}), 未做任何更改; 可能是内存不足, "
                               f"请稍后重试或联系管理员 (the process loading the file ended "
                               f"unexpectedly, {how}; nothing was changed)")

    def close(self) -> None:
        """End the child (at once if it is still working) and wait for it."""
        self.receiver.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.process.close()

    def __enter__(self) -> LoadProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
