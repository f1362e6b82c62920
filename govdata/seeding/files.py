"""Reading the seed catalogs (``seeds/*.yaml``). Pure data access: no database, no validation
beyond YAML itself — tests/seeding checks the content, the seed loader applies it through the
catalog services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from govdata.platform.settings import get_settings

SEED_DIR = Path(__file__).resolve().parents[2] / "seeds"


def seed_dir() -> Path:
    """The repository's ``seeds/`` directory, or ``GOVDATA_SEED_DIR`` if set."""
    configured = get_settings().seed_dir
    return Path(configured) if configured else SEED_DIR


def seed_paths(directory: Path | None = None) -> list[Path]:
    return sorted((directory or seed_dir()).glob("*.yaml"))


def load_seed_file(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a seed file must be a mapping, got {type(data).__name__}")
    return data


def load_seed_files(directory: Path | None = None) -> list[dict[str, Any]]:
    """Every ``*.yaml`` in the seed directory, in file-name order."""
    return [load_seed_file(path) for path in seed_paths(directory)]


def jurisdiction_context(seed: dict[str, Any]) -> dict[str, Any]:
    """What the sample generators get as ``jurisdiction``: the file's jurisdiction plus its
    divisions."""
    return {**seed["jurisdiction"], "divisions": list(seed.get("divisions") or [])}
