"""Sample data for the seeded resources: each generator's rows written to a CSV file and
loaded through the datastore service, one transaction per dataset."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog.datastore import service as datastore_service
from govdata.catalog.models import DataVersion, Resource
from govdata.platform.db import Database
from govdata.platform.models import Department
from govdata.seeding import files, samples
from govdata.seeding.loader import SEED_ACTOR

SEED_NUMBER = 20161025  # fixed RNG seed: the same rows on every machine


@dataclass(frozen=True)
class PlannedSample:
    department: str
    resource_name: str
    generator: str
    rows: int
    jurisdiction: dict[str, Any]


def planned_samples(seeds: Iterable[dict[str, Any]], scale: str) -> list[PlannedSample]:
    planned = []
    for seed in seeds:
        context = files.jurisdiction_context(seed)
        for entry in seed.get("resources") or []:
            if entry.get("sample"):
                planned.append(PlannedSample(entry["department"], entry["name"],
                                             entry["sample"],
                                             samples.sample_size(entry["sample"], scale),
                                             context))
    return planned


def write_csv(plan: PlannedSample, path: Path) -> None:
    generator = samples.GENERATORS[plan.generator]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(generator.columns)
        for row in generator.rows(jurisdiction=plan.jurisdiction, count=plan.rows,
                                  seed=SEED_NUMBER):
            writer.writerow(csv_value(row[column]) for column in generator.columns)


def csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def current_rows(session: Session, resource: Resource) -> int | None:
    return session.scalar(select(DataVersion.row_count).where(
        DataVersion.resource_id == resource.id, DataVersion.is_current.is_(True)))


def seed_samples(db: Database, planned: list[PlannedSample], *,
                 tick: Callable[[str], None] = lambda _: None) -> int:
    """Load every planned dataset that has no data of that size yet; the number loaded."""
    loaded = 0
    with tempfile.TemporaryDirectory(prefix="govdata-seed-") as tmp:
        for plan in planned:
            with db.sessionmaker() as session, session.begin():
                resource = session.scalar(
                    select(Resource).join(Resource.department)
                    .where(Department.code == plan.department, Resource.name == plan.resource_name))
                if resource is not None and current_rows(session, resource) != plan.rows:
                    path = Path(tmp) / f"{plan.generator}.csv"
                    write_csv(plan, path)
                    datastore_service.load_data(session, SEED_ACTOR, resource.code, path,
                                                format="csv", filename=path.name)
                    path.unlink()
                    loaded += 1
            tick(plan.resource_name)
    return loaded
