"""``govdata worker``: the jobs that run beside the web servers, each on its own interval.

Parts hand in their jobs (``govdata.main``); the kernel knows none of them. A job is a
function that does one round of work in its own transactions and returns how much it did;
an error in one round is logged and the job runs again at its next turn. SIGTERM or SIGINT
stops the loop between rounds.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
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
    """Run every job on its interval until ``stop`` is set."""
    due = {job.name: 0.0 for job in jobs}
    while not stop.is_set():
        for job in jobs:
            if time.monotonic() >= due[job.name]:
                run_round(job)
                due[job.name] = time.monotonic() + job.every
        stop.wait(max(0.0, min(due.values()) - time.monotonic()))


def stop_on_signals(stop: threading.Event) -> None:
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
