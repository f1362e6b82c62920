"""The seed loader: departments, demo accounts and published resources from ``seeds/*.yaml``,
through the same service functions as the API, so every rule is checked on the way in.

Idempotent: what already exists (a department by code, a user by name, a resource by its
department and name) is left as it is, so a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import rules
from govdata.catalog import service as catalog_service
from govdata.catalog.models import Resource, Status
from govdata.platform import service as platform_service
from govdata.platform.models import Department, User
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings

SEED_ACTOR = Principal.system("seed")
ITEM_KEYS = {"type": "data_type", "basic": "is_basic"}
Tick = Callable[[str], None]


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        target = self.created if created else self.existing
        target[kind] = target.get(kind, 0) + 1

    def summary(self) -> str:
        kinds = sorted(set(self.created) | set(self.existing))
        return ", ".join(f"{kind}: {self.created.get(kind, 0)} new, "
                         f"{self.existing.get(kind, 0)} existing" for kind in kinds)


def in_parent_order(departments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Departments with every parent before its children."""
    ordered, placed = [], set()
    pending = list(departments)
    while pending:
        ready = [d for d in pending if not d.get("parent") or d["parent"] in placed]
        if not ready:
            raise ValueError(f"unresolvable parents: {[d['code'] for d in pending]}")
        for department in ready:
            ordered.append(department)
            placed.add(department["code"])
            pending.remove(department)
    return ordered


def seed_departments(session: Session, seed: dict[str, Any], report: SeedReport) -> None:
    for entry in in_parent_order(seed.get("departments") or []):
        exists = session.scalar(select(Department.id).where(Department.code == entry["code"]))
        if not exists:
            platform_service.create_department(
                session, SEED_ACTOR, code=entry["code"], name=entry["name"],
                short_name=entry.get("short_name"), uscc=entry["uscc"],
                division_code=entry["division_code"], parent_code=entry.get("parent"))
        report.count("departments", not exists)


def seed_demo_accounts(session: Session, settings: Settings, seed: dict[str, Any],
                       report: SeedReport) -> None:
    for account in seed.get("demo_accounts") or []:
        exists = session.scalar(select(User.id).where(User.username == account["username"]))
        if not exists:
            platform_service.create_user(
                session, SEED_ACTOR, username=account["username"],
                department_code=account["department"], roles=list(account["roles"]),
                password=settings.demo_password, display_name=account.get("display_name"),
                is_demo=True)
        report.count("demo accounts", not exists)


def resource_fields(entry: dict[str, Any]) -> dict[str, Any]:
    """A seed entry as the catalog service's fields."""
    fields = {key: entry[key] for key in rules.RESOURCE_FIELDS if key in entry}
    fields["items"] = [{ITEM_KEYS.get(key, key): value for key, value in item.items()}
                       for item in entry.get("items") or []]
    return fields


def find_resource(session: Session, department: str, name: str) -> Resource | None:
    return session.scalar(select(Resource).join(Resource.department)
                          .where(Department.code == department, Resource.name == name))


def seed_resources(session: Session, settings: Settings, seed: dict[str, Any],
                   report: SeedReport, tick: Tick) -> None:
    for entry in seed.get("resources") or []:
        resource = find_resource(session, entry["department"], entry["name"])
        if resource is None:
            resource = catalog_service.create_resource(
                session, SEED_ACTOR, fields=resource_fields(entry),
                department=entry["department"], settings=settings)
        report.count("resources", resource.version == 1 and resource.status == Status.draft)
        if resource.status == Status.draft:
            catalog_service.publish_resource(session, SEED_ACTOR, code=resource.code,
                                             settings=settings)
        tick(entry["name"])


def seed_catalog(session: Session, settings: Settings, seeds: Iterable[dict[str, Any]],
                 *, tick: Tick = lambda _: None) -> SeedReport:
    """Departments, demo accounts and published resources of every seed file, in the
    session's transaction."""
    report = SeedReport()
    seeds = list(seeds)
    for seed in seeds:
        seed_departments(session, seed, report)
    for seed in seeds:
        seed_demo_accounts(session, settings, seed, report)
        seed_resources(session, settings, seed, report, tick)
    return report
