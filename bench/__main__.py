"""Run every benchmark: each ``bench/<name>.py`` module's ``main()``, in name order.

    python -m bench                  # all of them
    python -m bench catalog_search   # only these
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time
from pathlib import Path


def modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(info.name for info in pkgutil.iter_modules([str(here)])
                  if not info.name.startswith("_"))


def main(names: list[str]) -> int:
    failed = 0
    for name in names or modules():
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "main"):
            continue
        print(f"== bench.{name}", flush=True)
        started = time.perf_counter()
        try:
            # Defaults only: a module's own options are for running it alone.
            module.main([]) if inspect.signature(module.main).parameters else module.main()
        except Exception as exc:  # noqa: BLE001 - report and go on to the next benchmark
            failed += 1
            print(f"== bench.{name} failed: {type(exc).__name__}: {exc}", flush=True)
            continue
        print(f"== bench.{name} done in {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
