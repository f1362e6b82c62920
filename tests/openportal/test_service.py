"""The open-dataset rules through the service functions directly."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from govdata.catalog import service as catalog_service
from govdata.catalog.datastore import query_rows
from govdata.openportal import identifiers, service, usage
from govdata.openportal.masking import public_masks
from govdata.openportal.models import Usage
from govdata.platform.db import unit_of_work_on
from govdata.platform.errors import Forbidden, NotFound

from .conftest import PEOPLE_ITEMS, name_of


def test_names_are_codes_with_a_dash():
    assert service.dataset_name("211001/000001") == "211001-000001"
    assert service.code_of("211001-000001") == "211001/000001"
    assert service.code_of("2110010001-000123") == "2110010001/000123"
    for bad in ("211001/000001", "air-quality", "21-000001", "211001-000001-1", ""):
        assert service.code_of(bad) is None


def test_datastore_resource_ids_map_back_without_a_table():
    resource_id = str(uuid.uuid4())
    datastore_id = identifiers.datastore_resource_id(resource_id)
    assert datastore_id != resource_id and uuid.UUID(datastore_id).version == 4
    assert identifiers.resource_id_of_datastore(datastore_id) == resource_id
    assert identifiers.resource_id_of_datastore("not a uuid") is None


@pytest.mark.parametrize(("cycle", "days_ago", "overdue"), [
    ("每日", 0.5, False), ("每日", 1.5, True), ("每周", 6, False), ("每周", 8, True),
    ("每月", 30, False), ("每月", 32, True), ("每年", 365, False), ("每年", 367, True),
    ("不定期", 5000, False), ("其他", 5000, False),
])
def test_overdue_against_each_update_cycle(settings, cycle, days_ago, overdue):
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    loaded = now - dt.timedelta(days=days_ago)
    assert service.is_overdue(cycle, None, loaded, settings, now) is overdue


def test_overdue_before_any_data_counts_from_publication(settings):
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert service.is_overdue("每月", dt.date(2026, 4, 1), None, settings, now)
    assert not service.is_overdue("每月", dt.date(2026, 5, 15), None, settings, now)
    settings.open_overdue_grace_days = 60
    assert not service.is_overdue("每月", dt.date(2026, 4, 1), None, settings, now)


def test_public_masks_drop_what_the_catalog_does_not_open(session, steward, people):
    masks = public_masks(people)
    assert masks["phone"] == "phone" and masks["district"] == "none"
    assert masks["secret_note"] == "secret" and masks["internal_score"] == "secret"
    assert masks["a_column_the_catalog_forgot"] == "secret"
    # an item removed from the catalog after the load: its column is no longer shown
    items = [i for i in PEOPLE_ITEMS if i["name"] != "district"]
    catalog_service.update_resource(session, steward, code=people.code,
                                    changes={"items": items})
    result = query_rows(session, people, masks=public_masks(people))
    assert "district" not in result.records[0]


def test_data_of_conditional_datasets_is_refused(session, make_dataset):
    conditional = make_dataset(open_type="conditional")
    with pytest.raises(Forbidden) as refused:
        service.query_records(session, name_of(conditional))
    assert refused.value.code == "open_data_conditional"
    with pytest.raises(Forbidden):
        service.plan_download(session, name_of(conditional))
    assert service.get_dataset(session, name_of(conditional)).data_access == "application"


def test_only_published_open_resources_are_datasets(session, steward, make_dataset):
    for resource in (make_dataset(open_type="none"), make_dataset(publish=False)):
        with pytest.raises(NotFound):
            service.get_dataset(session, name_of(resource))


def test_usage_is_written_in_batches_after_the_request(session, settings, air):
    before = usage.COUNTER.pending(air.id)
    assert before == Counter()
    usage.count(session, air.id, "views", every_seconds=3600)
    usage.count(session, air.id, "views", every_seconds=3600)
    assert usage.COUNTER.pending(air.id)["views"] == 2
    assert session.get(Usage, air.id) is None
    assert usage.totals(session, [air.id])[air.id]["views"] == 2  # stored + pending
    with unit_of_work_on(session, nested=True):
        usage.count(session, air.id, "downloads", every_seconds=0)
        assert session.get(Usage, air.id) is None  # not in the request's own transaction
    stored = session.scalar(select(Usage).where(Usage.resource_id == air.id))
    assert (stored.views, stored.downloads) == (2, 1)
    assert usage.COUNTER.pending(air.id) == Counter()
    with pytest.raises(ValueError):
        usage.count(session, air.id, "likes", every_seconds=0)


def test_search_sorts_and_pages(session, make_dataset):
    made = [make_dataset(name=f"重庆市测试数据集{i}") for i in range(3)]
    query = service.DatasetQuery(q="测试数据集", sort="name desc", limit=2)
    page = service.search_datasets(session, query)
    assert page.total == 3
    assert [d.resource.code for d in page.items] == sorted(
        (r.code for r in made), reverse=True)[:2]
    empty = service.search_datasets(session, service.DatasetQuery(q="？？"))
    assert (empty.total, empty.items) == (0, [])
    facets = service.search_datasets(session, service.DatasetQuery(
        q="测试数据集", extra_facets=("tags", "licence"))).facets
    assert facets["licence"] == {"cc-by-4.0": 3}


def test_a_failed_usage_write_loses_only_its_own_counts(session, air):
    usage.COUNTER.add(str(uuid.uuid4()), "views")  # a dataset that does not exist
    with unit_of_work_on(session, nested=True):
        usage.count(session, air.id, "views", every_seconds=0)
    assert session.get(Usage, air.id).views == 1
