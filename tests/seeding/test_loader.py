"""The seed catalogs load through the catalog services, and loading is idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from govdata.catalog.models import Resource, Status
from govdata.platform import audit
from govdata.platform.models import Department, User
from govdata.seeding import files
from govdata.seeding.loader import seed_catalog


@pytest.fixture
def seeded(session, settings):
    seeds = files.load_seed_files()
    first = seed_catalog(session, settings, seeds)
    return seeds, first


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_every_seed_entry_loads_and_is_published(session, seeded):
    seeds, report = seeded
    resources = sum(len(seed["resources"]) for seed in seeds)
    departments = sum(len(seed["departments"]) for seed in seeds)
    assert report.created["resources"] == resources >= 150
    assert report.created["departments"] == departments
    statuses = session.scalars(select(Resource.status)).all()
    assert statuses.count(Status.published.value) >= resources
    for seed in seeds:
        per_jurisdiction = [d for d in seed["departments"]]
        assert len(per_jurisdiction) >= 20
    assert audit.verify(session).ok


def test_a_second_run_changes_nothing(session, settings, seeded):
    seeds, _ = seeded
    before = (count(session, Department), count(session, User), count(session, Resource),
              session.execute(text("SELECT count(*) FROM platform_audit_entry")).scalar(),
              sorted(session.execute(select(Resource.code, Resource.version)).all()))
    again = seed_catalog(session, settings, seeds)
    assert again.created == {}
    after = (count(session, Department), count(session, User), count(session, Resource),
             session.execute(text("SELECT count(*) FROM platform_audit_entry")).scalar(),
             sorted(session.execute(select(Resource.code, Resource.version)).all()))
    assert after == before


def searchable(item: dict) -> str:
    titles = " ".join(i["title"] for i in item.get("items") or [])
    return " ".join([item["name"], item["summary"], titles, " ".join(item.get("tags") or [])])


@pytest.mark.parametrize(("query", "expected"), [
    ("空气质量", "空气质量"),
    ("信用", "信用"),
    ("法人", "法人"),
])
def test_seeded_catalog_is_searchable(client, seeded, auth, query, expected):
    response = client.get("/api/v1/catalog/resources", params={"q": query, "limit": 100},
                          headers=auth("cq-auditor"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] >= 3
    missing = [item["name"] for item in body["items"] if expected not in searchable(item)]
    assert not missing
    departments = {item["department"] if isinstance(item["department"], str)
                   else item["department"]["code"] for item in body["items"]}
    assert len({code.split("-")[0] for code in departments}) >= 2


def test_demo_accounts_log_in_outside_production(client, seeded, settings):
    response = client.post("/api/v1/auth/token",
                           data={"username": "cq-auditor", "password": settings.demo_password})
    assert response.status_code == 200
