"""Where uploads wait while they are read: one directory per process under
``GOVDATA_UPLOAD_DIR``, ``<upload_dir>/<pid>``.

A process killed mid-upload (``kill -9``, the OOM killer) cannot remove its temporary
files, and uploads may hold personal data. So the app removes at start-up whatever no live
process owns (``sweep_orphans``), and every process sweeps again when it makes its own
directory (a worker Gunicorn starts after the app was preloaded).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def process_dir(upload_dir: str | Path) -> Path:
    """This process's own directory for uploads (created, and the dead swept, on first
    use)."""
    directory = Path(upload_dir) / str(os.getpid())
    if not directory.is_dir():
        sweep_orphans(upload_dir)
        directory.mkdir(parents=True, exist_ok=True)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def sweep_orphans(upload_dir: str | Path) -> list[Path]:
    """Remove what no live process owns: the directories of dead processes, and files
    left at the top by versions that wrote there. Returns what was removed."""
    root = Path(upload_dir)
    if not root.is_dir():
        return []
    removed = []
    for entry in root.iterdir():
        if entry.is_dir() and entry.name.isdigit() and not _alive(int(entry.name)):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_file() and entry.name.startswith("upload-"):
            entry.unlink(missing_ok=True)
        else:
            continue
        removed.append(entry)
    return removed
