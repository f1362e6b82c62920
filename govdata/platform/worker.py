"""``govdata worker``: the jobs that run beside the web servers, each on its own interval
in a thread of its own.

The kernel's own job is the ledger's sequencer (``audit.jobs``); parts hand in theirs
(``govdata.main``). A job is a
function that does one round of work in its own transactions and returns how much it did;
an error in one round is logged and the job runs again at its next turn. SIGTERM or SIGINT
stops the loop between rounds.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from govdata.platform.db import Database
from govdata.platform.settings import Settings

log = logging.getLogger("govdata.worker")


@dataclass(frozen=True)
class Job:
    name: str
    every: float  # seconds between rounds
    run: Callable[[], int]


JobFactory = Callable[[Database, Settings], Iterable[Job]]


def run_round(job: Job) -> int:
    """One round of a job; an error is logged, never raised."""
    try:
        done = job.run()
    except Exception:  # noqa: BLE001 - one failed round must not stop the worker
        log.exception("job failed", extra={"fields": {"job": job.name}})
        return 0
    if done:
        log.info("job done", extra={"fields": {"job": job.name, "done": done}})
    return done


def run(jobs: Sequence[Job], stop: threading.Event) -> None:
    """Run every job on its interval, each in a thread of its own (a slow round of one,
    say a webhook that times out, never delays another), until ``stop`` is set."""
    threads = [threading.Thread(target=_repeat, args=(job, stop), name=job.name, daemon=True)
               for job in jobs]
    for thread in threads:
        thread.start()
    while not stop.wait(1.0):
        pass
    for thread in threads:
        thread.join()


def _repeat(job: Job, stop: threading.Event) -> None:
    while not stop.is_set():
        run_round(job)
        stop.wait(job.every)


def stop_on_signals(stop: threading.Event) -> None:
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
