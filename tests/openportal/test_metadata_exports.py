"""DCAT-AP 3 (Turtle and JSON-LD) checked with pyshacl against the official shapes, and
/data.json checked with jsonschema against Project Open Data v1.1."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pyshacl
import pytest
import rdflib
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from .conftest import name_of

# rdflib's own JSON-LD parser still builds a ConjunctiveGraph (deprecated in rdflib 7).
pytestmark = pytest.mark.filterwarnings(
    "ignore:ConjunctiveGraph is deprecated:DeprecationWarning")

# The standards' own files, kept beside the repository (../shared/testdata).
TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
DCAT_AP = TESTDATA / "dcat-ap-3.0.1"
POD = TESTDATA / "pod-v1.1"
POD_ID = "https://project-open-data.cio.gov/v1.1/schema/"


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    return rdflib.Graph().parse(DCAT_AP / "dcat-ap-SHACL.ttl", format="turtle")


@pytest.fixture(scope="module")
def older_shapes() -> rdflib.Graph:
    """The same release in its older layout: shapes plus ranges."""
    graph = rdflib.Graph().parse(DCAT_AP / "shapes.ttl", format="turtle")
    return graph.parse(DCAT_AP / "range.ttl", format="turtle")


def conforms(data: rdflib.Graph, shapes: rdflib.Graph) -> tuple[bool, str]:
    ok, _, report = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    return ok, report


@pytest.fixture
def datasets(make_dataset, people, air, api, auth, steward_name):
    conditional = make_dataset(name="重庆市养老机构名录", open_type="conditional")
    api.patch(f"/api/v1/open/datasets/{name_of(people)}", headers=auth(steward_name),
              json={"temporal_start": "2020-01-01", "temporal_end": "2020-12-31",
                    "spatial": "重庆市"})
    return people, air, conditional


def test_catalog_conforms_to_dcat_ap_3_as_turtle_and_json_ld(api, datasets, shapes,
                                                              older_shapes):
    turtle = api.get("/catalog.ttl")
    assert turtle.status_code == 200 and turtle.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=turtle.text, format="turtle")
    for rules in (shapes, older_shapes):
        ok, report = conforms(graph, rules)
        assert ok, report
    titles = {str(o) for o in graph.objects(None, rdflib.DCTERMS.title)}
    assert {"重庆市低保对象名册", "重庆市空气质量日报", "重庆市养老机构名录"} <= titles
    jsonld = api.get("/catalog.jsonld")
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    graph = rdflib.Graph().parse(data=jsonld.text, format="json-ld")
    ok, report = conforms(graph, shapes)
    assert ok, report


def test_each_dataset_conforms_and_says_what_dcat_ap_asks(api, datasets, shapes):
    people, air, conditional = datasets
    for resource in datasets:
        for fmt, parser in (("ttl", "turtle"), ("jsonld", "json-ld")):
            response = api.get(f"/dataset/{name_of(resource)}.{fmt}")
            assert response.status_code == 200, response.text
            graph = rdflib.Graph().parse(data=response.text, format=parser)
            ok, report = conforms(graph, shapes)
            assert ok, report
    graph = rdflib.Graph().parse(data=api.get(f"/dataset/{name_of(people)}.ttl").text,
                                 format="turtle")
    node = rdflib.URIRef(f"http://testserver/dataset/{name_of(people)}")
    assert str(graph.value(node, rdflib.DCTERMS.identifier)) == people.code
    period = graph.value(node, rdflib.DCTERMS.temporal)
    assert str(graph.value(period, rdflib.DCAT.startDate)) == "2020-01-01"
    downloads = {str(o) for o in graph.objects(None, rdflib.DCAT.downloadURL)}
    assert any(url.endswith("download?format=csv") for url in downloads)
    closed = rdflib.Graph().parse(data=api.get(f"/dataset/{name_of(conditional)}.ttl").text,
                                  format="turtle")
    assert not list(closed.objects(None, rdflib.DCAT.downloadURL))  # apply first
    assert api.get("/dataset/999999-999999.ttl").status_code == 404


def test_the_shapes_do_catch_a_dataset_without_a_title(api, datasets, shapes):
    response = api.get(f"/dataset/{name_of(datasets[1])}.ttl")
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    graph.remove((None, rdflib.DCTERMS.title, None))
    ok, report = conforms(graph, shapes)
    assert not ok and "title" in report


def test_catalog_pages(api, make_dataset, monkeypatch):
    from govdata.openportal import dcat

    monkeypatch.setattr(dcat, "PAGE_SIZE", 2)
    for index in range(3):
        make_dataset(name=f"重庆市分页测试{index}")
    graph = rdflib.Graph().parse(data=api.get("/catalog.ttl", params={"page": 2}).text,
                                 format="turtle")
    datasets = list(graph.objects(None, rdflib.DCAT.dataset))
    assert len(datasets) == 1
    hydra = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
    assert [int(n) for n in graph.objects(None, hydra.totalItems)] == [3]
    assert [str(p) for p in graph.objects(None, hydra.previousPage)] == [
        "http://testserver/catalog.ttl?page=1"]
    assert api.get("/catalog.ttl", params={"page": 0}).status_code == 422


@pytest.fixture(scope="module")
def pod_validator() -> jsonschema.Draft4Validator:
    schemas = {path.name: json.loads(path.read_text()) for path in POD.glob("*.json")}
    registry = Registry().with_resources(
        (POD_ID + name, Resource.from_contents(schema, default_specification=DRAFT4))
        for name, schema in schemas.items())
    return jsonschema.Draft4Validator(schemas["catalog.json"], registry=registry)


def test_data_json_is_valid_project_open_data(api, datasets, pod_validator):
    body = api.get("/data.json").json()
    errors = sorted(pod_validator.iter_errors(body), key=str)
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]
    by_id = {d["identifier"]: d for d in body["dataset"]}
    people, air, conditional = datasets
    assert by_id[people.code]["temporal"] == "2020-01-01/2020-12-31"
    assert by_id[conditional.code]["accessLevel"] == "restricted public"
    assert "downloadURL" in by_id[air.code]["distribution"][0]
    assert by_id[air.code]["accrualPeriodicity"] == "R/P1D"


def test_the_schema_does_catch_a_dataset_without_keywords(api, datasets, pod_validator):
    body = api.get("/data.json").json()
    body["dataset"][0]["keyword"] = []
    assert list(pod_validator.iter_errors(body))
