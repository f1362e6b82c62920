"""Run every benchmark: each ``bench/<name>.py`` module's ``main()``, in name order, then
write ``bench/RESULTS.md`` (each figure, its baseline from the same run, ratio, goal,
machine, date). Exit status 1 when a figure is short of its goal or a benchmark failed.

    python -m bench                  # all of them
    python -m bench catalog_search   # only these
    python -m bench --quick ledger   # reduced sizes (a module's QUICK arguments), to try
                                     # the report; modules without QUICK are left out
    python -m bench --out FILE       # write the report elsewhere
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import inspect
import os
import pkgutil
import sys
import time
from pathlib import Path

from bench import _report


def modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(info.name for info in pkgutil.iter_modules([str(here)])
                  if not info.name.startswith("_"))


def run_one(name: str, *, quick: bool) -> bool:
    """Run one benchmark; False if it has nothing to run in this mode."""
    module = importlib.import_module(f"bench.{name}")
    if not hasattr(module, "main") or getattr(module, "NOT_IN_BENCH", False):
        return False
    if quick and not hasattr(module, "QUICK"):
        print(f"== bench.{name}: no quick mode, left out", flush=True)
        return False
    print(f"== bench.{name}", flush=True)
    _report.current["bench"] = name
    started = time.perf_counter()
    try:
        # Defaults only (or the quick sizes): a module's own options are for running it alone.
        if inspect.signature(module.main).parameters:
            module.main(list(module.QUICK) if quick else [])
        else:
            module.main()
    except Exception as exc:  # noqa: BLE001 - report and go on to the next benchmark
        _report.FAILED[name] = f"{type(exc).__name__}: {exc}"
        print(f"== bench.{name} failed: {type(exc).__name__}: {exc}", flush=True)
        return True
    print(f"== bench.{name} done in {time.perf_counter() - started:.1f} s", flush=True)
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"of: {', '.join(modules())}")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=_report.RESULTS)
    args = parser.parse_args(argv)
    started, load_before = dt.datetime.now(dt.UTC), os.getloadavg()[0]
    ran = [name for name in args.names or modules() if run_one(name, quick=args.quick)]
    text = _report.render(started=started, finished=dt.datetime.now(dt.UTC),
                          load=(load_before, os.getloadavg()[0]), benches=ran,
                          quick=args.quick)
    args.out.write_text(text + "\n", encoding="utf-8")
    short = [f for f in _report.FIGURES if f.met is False]
    for item in short:
        print(f"SHORT OF GOAL: {item.bench}: {item.name} ({item.goal})", flush=True)
    print(f"report written to {args.out}", flush=True)
    return _report.exit_status()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
