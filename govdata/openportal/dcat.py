"""The open catalog as DCAT-AP 3 (CONTRACTS.md §3), built with rdflib: the catalog
(paged, as ckanext-dcat pages it with a hydra:PagedCollection) and each dataset, serialised
as Turtle or JSON-LD. Checked against the official SHACL shapes by the tests.

Every node a DCAT-AP range asks a class of is typed with it (licences as
dct:LicenseDocument, frequencies as dct:Frequency, …): the shapes test ``sh:class`` on the
data alone. EU vocabularies are used where DCAT-AP expects them (frequency, file type,
language, access right); themes are a concept scheme of the platform's own, the 2017
catalog guide's twelve 主题.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from govdata.openportal.service import OpenDataset
from govdata.openportal.vocab import CYCLE_EU_FREQUENCY, GROUP_THEMES
from govdata.platform.settings import Settings

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
MEDIA = {"csv": "text/csv", "json": "application/json",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FILE_TYPE = {"csv": "CSV", "json": "JSON", "xlsx": "XLSX"}
ACCESS = {"unconditional": "PUBLIC", "conditional": "RESTRICTED"}
PAGE_SIZE = 100
CONTEXT = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "vcard": str(VCARD),
           "skos": str(SKOS), "xsd": str(XSD), "hydra": str(HYDRA)}
FORMATS = {"ttl": ("turtle", "text/turtle; charset=utf-8"),
           "jsonld": ("json-ld", "application/ld+json")}
ZH = "zh"


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in CONTEXT.items():
        graph.bind(prefix, namespace)
    return graph


def _text(value: str) -> Literal:
    return Literal(value, lang=ZH)


def _typed(graph: Graph, node: URIRef, kind: URIRef) -> URIRef:
    graph.add((node, RDF.type, kind))
    return node


def _moment(value: dt.datetime) -> Literal:
    return Literal(value.astimezone(dt.UTC).replace(microsecond=0), datatype=XSD.dateTime)


def add_agent(graph: Graph, node: URIRef, name: str) -> URIRef:
    graph.add((node, RDF.type, FOAF.Agent))
    graph.add((node, FOAF.name, _text(name)))
    return node


def add_themes(graph: Graph, base: str) -> URIRef:
    """The themes (主题) as a SKOS concept scheme."""
    for group in GROUP_THEMES:
        add_theme(graph, base, group)
    return URIRef(f"{base}/themes")


def add_theme(graph: Graph, base: str, group: str) -> URIRef:
    scheme = _typed(graph, URIRef(f"{base}/themes"), SKOS.ConceptScheme)
    graph.add((scheme, DCTERMS.title, _text("政务信息资源主题分类")))
    concept = _typed(graph, URIRef(f"{base}/themes/{group}"), SKOS.Concept)
    graph.add((concept, SKOS.prefLabel, _text(GROUP_THEMES[group])))
    graph.add((concept, SKOS.inScheme, scheme))
    return concept


def add_dataset(graph: Graph, dataset: OpenDataset, base: str) -> URIRef:
    r = dataset.resource
    node = _typed(graph, URIRef(f"{base}/dataset/{dataset.name}"), DCAT.Dataset)
    graph.add((node, DCTERMS.identifier, Literal(r.code)))
    graph.add((node, DCTERMS.title, _text(r.name)))
    graph.add((node, DCTERMS.description, _text(r.summary)))
    for tag in r.tags or []:
        graph.add((node, DCAT.keyword, _text(tag)))
    publisher = add_agent(graph, URIRef(f"{base}/organization/{r.department.code}"),
                          r.department.name)
    graph.add((node, DCTERMS.publisher, publisher))
    contact = BNode()
    graph.add((contact, RDF.type, VCARD.Kind))
    graph.add((contact, RDF.type, VCARD.Organization))
    graph.add((contact, VCARD.fn, _text(r.department.name)))
    graph.add((node, DCAT.contactPoint, contact))
    page = _typed(graph, URIRef(f"{base}/dataset/{dataset.name}"), FOAF.Document)
    graph.add((node, DCAT.landingPage, page))
    if dataset.group:
        graph.add((node, DCAT.theme, add_theme(graph, base, dataset.group)))
    frequency = CYCLE_EU_FREQUENCY.get(r.update_cycle)
    if frequency:
        graph.add((node, DCTERMS.accrualPeriodicity,
                   _typed(graph, URIRef(f"{EU}frequency/{frequency}"), DCTERMS.Frequency)))
    graph.add((node, DCTERMS.accessRights,
               _typed(graph, URIRef(f"{EU}access-right/{ACCESS[r.open_type]}"),
                      DCTERMS.RightsStatement)))
    graph.add((node, DCTERMS.language,
               _typed(graph, URIRef(f"{EU}language/ZHO"), DCTERMS.LinguisticSystem)))
    _coverage(graph, node, dataset)
    if r.published_on:
        graph.add((node, DCTERMS.issued, Literal(r.published_on, datatype=XSD.date)))
    graph.add((node, DCTERMS.modified, _moment(dataset.modified_at)))
    for distribution in _distributions(graph, dataset, base):
        graph.add((node, DCAT.distribution, distribution))
    return node


def _coverage(graph: Graph, node: URIRef, dataset: OpenDataset) -> None:
    start, end = dataset.temporal
    if start or end:
        period = BNode()
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if start:
            graph.add((period, DCAT.startDate, Literal(start, datatype=XSD.date)))
        if end:
            graph.add((period, DCAT.endDate, Literal(end, datatype=XSD.date)))
        graph.add((node, DCTERMS.temporal, period))
    place = BNode()
    graph.add((place, RDF.type, DCTERMS.Location))
    graph.add((place, SKOS.prefLabel, _text(dataset.spatial)))
    graph.add((node, DCTERMS.spatial, place))


def _distributions(graph: Graph, dataset: OpenDataset, base: str) -> Iterable[URIRef]:
    """The data in each download format (an unconditional dataset: a download URL; a
    conditional one: the dataset's page, where access is applied for), and the links."""
    if dataset.data is not None:
        licence = _typed(graph, URIRef(dataset.licence.url), DCTERMS.LicenseDocument)
        for fmt in ("csv", "json", "xlsx"):
            node = _typed(graph, URIRef(f"{base}/dataset/{dataset.name}/distribution/{fmt}"),
                          DCAT.Distribution)
            download = URIRef(f"{base}/api/v1/open/datasets/{dataset.name}/download"
                              f"?format={fmt}")
            if dataset.data_access == "open":
                graph.add((node, DCAT.accessURL, download))
                graph.add((node, DCAT.downloadURL, download))
            else:
                graph.add((node, DCAT.accessURL, URIRef(f"{base}/dataset/{dataset.name}")))
            graph.add((node, DCTERMS.title, _text(f"{dataset.resource.name} ({fmt.upper()})")))
            graph.add((node, DCTERMS.format, _typed(
                graph, URIRef(f"{EU}file-type/{FILE_TYPE[fmt]}"), DCTERMS.MediaTypeOrExtent)))
            graph.add((node, DCAT.mediaType, _typed(graph, URIRef(IANA + MEDIA[fmt]),
                                                    DCTERMS.MediaType)))
            graph.add((node, DCTERMS.license, licence))
            graph.add((node, DCTERMS.modified, _moment(dataset.data.loaded_at)))
            yield node
    for link in dataset.links:
        node = _typed(graph, URIRef(f"{base}/dataset/{dataset.name}/distribution/{link.id}"),
                      DCAT.Distribution)
        graph.add((node, DCAT.accessURL, URIRef(link.url)))
        graph.add((node, DCTERMS.title, _text(link.name)))
        yield node


def add_catalog(graph: Graph, settings: Settings, base: str, datasets: Iterable[OpenDataset]
                ) -> URIRef:
    catalog = _typed(graph, URIRef(f"{base}/catalog"), DCAT.Catalog)
    graph.add((catalog, DCTERMS.title, _text(settings.portal_title)))
    graph.add((catalog, DCTERMS.description, _text(settings.portal_description)))
    graph.add((catalog, DCTERMS.publisher,
               add_agent(graph, URIRef(f"{base}/#publisher"), settings.portal_publisher)))
    graph.add((catalog, FOAF.homepage, _typed(graph, URIRef(f"{base}/"), FOAF.Document)))
    graph.add((catalog, DCTERMS.language,
               _typed(graph, URIRef(f"{EU}language/ZHO"), DCTERMS.LinguisticSystem)))
    graph.add((catalog, DCAT.themeTaxonomy, add_themes(graph, base)))
    for dataset in datasets:
        graph.add((catalog, DCAT.dataset, add_dataset(graph, dataset, base)))
    return catalog


def add_paging(graph: Graph, url: str, *, page: int, total: int) -> None:
    """hydra:PagedCollection, as ckanext-dcat pages its catalog endpoint."""
    last = max(1, math.ceil(total / PAGE_SIZE))
    node = _typed(graph, URIRef(f"{url}?page={page}"), HYDRA.PagedCollection)
    graph.add((node, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    graph.add((node, HYDRA.itemsPerPage, Literal(PAGE_SIZE, datatype=XSD.integer)))
    graph.add((node, HYDRA.firstPage, Literal(f"{url}?page=1")))
    graph.add((node, HYDRA.lastPage, Literal(f"{url}?page={last}")))
    if page > 1:
        graph.add((node, HYDRA.previousPage, Literal(f"{url}?page={page - 1}")))
    if page < last:
        graph.add((node, HYDRA.nextPage, Literal(f"{url}?page={page + 1}")))


def serialise(graph: Graph, fmt: str) -> bytes:
    name, _ = FORMATS[fmt]
    if fmt == "jsonld":
        return graph.serialize(format=name, context=CONTEXT, auto_compact=True,
                               ensure_ascii=False).encode("utf-8")
    return graph.serialize(format=name).encode("utf-8")
