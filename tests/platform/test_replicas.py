"""Read replicas (``GOVDATA_DATABASE_READ_URLS``): a primary and a streaming standby built
with initdb and pg_basebackup on loopback ports. Public reads (open API, downloads, CKAN
read actions, DCAT, data.json) are served by the standby — they answer with the primary
stopped — while writes go to the primary and show on the standby once replicated."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from govdata.catalog import service as catalog_service
from govdata.catalog.datastore import service as datastore_service
from govdata.main import create_app
from govdata.platform import migrate, service
from govdata.platform.db import Database
from govdata.platform.principal import Principal
from govdata.platform.settings import Settings
from tests.catalog import fields, item
from tests.conftest import postgres_only, synthetic_uscc
from tests.faultkit import Cluster, wait_for

pytestmark = pytest.mark.postgres
SYSTEM = Principal.system("test")
STEWARD = Principal(username="r-steward", department="r-hbj", roles=frozenset({"steward"}))
ITEMS = [item("station", "监测站点", length=20), item("aqi", "空气质量指数", data_type="I",
                                                     length=None)]


@pytest.fixture(scope="module")
def clusters(database_url, tmp_path_factory) -> Iterator[tuple[Cluster, Cluster, str]]:
    postgres_only(database_url)
    primary = Cluster().init().start()
    standby = None
    try:
        url = primary.create_database("govdata")
        migrate.upgrade(url)
        code = open_dataset(url, tmp_path_factory.mktemp("replicas"))
        standby = primary.replica()
        yield primary, standby, code
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()


def open_dataset(url: str, directory: Path) -> str:
    """An open (无条件开放) published resource with two rows, and its steward."""
    db = Database(url)
    with db.transaction() as session:
        service.create_department(session, SYSTEM, code="r-hbj", name="重庆市环境保护局",
                                  uscc=synthetic_uscc(), division_code="500000")
        service.create_user(session, SYSTEM, username="r-steward", department_code="r-hbj",
                            roles=["steward"])
        resource = catalog_service.create_resource(session, STEWARD, fields=fields(
            name="主城区空气质量监测", open_type="unconditional", items=ITEMS))
        catalog_service.publish_resource(session, STEWARD, code=resource.code)
        path = directory / "air.csv"
        path.write_text("station,aqi\n解放碑,52\n观音桥,61\n", encoding="utf-8")
        datastore_service.load_data(session, STEWARD, resource.code, path)
        code = resource.code
    db.dispose()
    return code


def test_public_reads_are_served_by_the_standby(clusters):
    primary, standby, code = clusters
    name = code.replace("/", "-")
    assert standby.psql("SELECT pg_is_in_recovery()", "govdata") == "t"
    settings = Settings(database_url=primary.url("govdata"),
                        database_read_urls=[standby.url("govdata")],
                        usage_flush_seconds=3600, rate_limit_backend="memory")
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_for(lambda: client.get(f"/api/v1/open/datasets/{name}").status_code == 200,
                 what="the dataset on the standby")
        primary.stop("fast")
        try:
            answers = {path: client.get(path) for path in (
                "/api/v1/open/datasets?q=空气质量", f"/api/v1/open/datasets/{name}",
                f"/api/v1/open/datasets/{name}/records?sort=aqi%20desc",
                f"/api/v1/open/datasets/{name}/download?format=csv",
                "/api/3/action/package_search?q=空气质量", f"/api/3/action/package_show?id={name}",
                "/data.json", "/api/v1/open/stats")}
        finally:
            primary.start()
        failed = {path: (r.status_code, r.text[:200]) for path, r in answers.items()
                  if r.status_code != 200}
        assert not failed, failed
        assert answers["/api/v1/open/datasets?q=空气质量"].json()["total"] == 1
        records = answers[f"/api/v1/open/datasets/{name}/records?sort=aqi%20desc"].json()
        assert [r["station"] for r in records["items"]] == ["观音桥", "解放碑"]
        assert "解放碑" in answers[f"/api/v1/open/datasets/{name}/download?format=csv"].text
        search = answers["/api/3/action/package_search?q=空气质量"].json()
        assert search["success"] and search["result"]["count"] == 1
    app.state.db.dispose()


def test_a_write_goes_to_the_primary_and_shows_on_the_standby(clusters):
    primary, standby, _ = clusters
    settings = Settings(database_url=primary.url("govdata"),
                        database_read_urls=[standby.url("govdata")],
                        usage_flush_seconds=3600, rate_limit_backend="memory")
    db = Database(primary.url("govdata"))
    with db.transaction() as session:
        token = service.issue_token(session, settings,
                                    user=service.get_user(session, "r-steward")).token
    db.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        created = client.post("/api/v1/catalog/resources", headers=headers, json=fields(
            name="主城区噪声监测", open_type="unconditional", items=ITEMS))
        assert created.status_code == 201, created.text
        code = created.json()["code"]
        published = client.post(f"/api/v1/catalog/resources/{code}/publish", headers=headers)
        assert published.status_code == 200, published.text
        # the steward reads its own write at once: the catalog reads the primary
        own = client.get(f"/api/v1/catalog/resources/{code}", headers=headers)
        assert own.status_code == 200 and own.json()["status"] == "published"
        upload = client.post(f"/api/v1/catalog/resources/{code}/data", headers=headers,
                             files={"file": ("n.csv", io.BytesIO(
                                 "station,aqi\n杨家坪,70\n".encode()), "text/csv")})
        assert upload.status_code == 201, upload.text
        name = code.replace("/", "-")
        wait_for(lambda: client.get(f"/api/v1/open/datasets/{name}/records")
                 .status_code == 200, what="the write replicated to the standby")
        assert standby.psql(f"SELECT count(*) FROM catalog_resource WHERE code = '{code}'",
                            "govdata") == "1"
        records = client.get(f"/api/v1/open/datasets/{name}/records").json()["items"]
        assert [r["station"] for r in records] == ["杨家坪"]
    app.state.db.dispose()
