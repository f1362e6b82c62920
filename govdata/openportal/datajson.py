"""The open catalog as Project Open Data v1.1 (``/data.json``, CONTRACTS.md §3).

POD requires fields that mean something only to US federal agencies (``bureauCode``,
``programCode``, from OMB Circular A-11) and a contact e-mail; the portal states the codes
of ``GOVDATA_POD_BUREAU_CODE`` / ``GOVDATA_POD_PROGRAM_CODE`` (default ``000:00`` and
``000:000``: none applies) and the contact address of ``GOVDATA_PORTAL_CONTACT_EMAIL``.
A dataset without tags takes its theme or department as keyword (POD needs one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from govdata.openportal.dcat import MEDIA
from govdata.openportal.service import OpenDataset
from govdata.openportal.vocab import CYCLE_ISO
from govdata.platform.settings import Settings

SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
ACCESS_LEVEL = {"unconditional": "public", "conditional": "restricted public"}


def _temporal(dataset: OpenDataset) -> str | None:
    start, end = dataset.temporal
    if start and end:
        return f"{start.isoformat()}/{end.isoformat()}"
    return None


def _distributions(dataset: OpenDataset, base: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if dataset.data is not None:
        for fmt in ("csv", "json", "xlsx"):
            entry: dict[str, Any] = {"@type": "dcat:Distribution",
                                     "title": f"{dataset.resource.name} ({fmt.upper()})",
                                     "format": fmt.upper(), "mediaType": MEDIA[fmt]}
            if dataset.data_access == "open":
                entry["downloadURL"] = (f"{base}/api/v1/open/datasets/{dataset.name}/download"
                                        f"?format={fmt}")
            else:
                entry["accessURL"] = f"{base}/dataset/{dataset.name}"
            out.append(entry)
    for link in dataset.links:
        out.append({"@type": "dcat:Distribution", "title": link.name, "accessURL": link.url,
                    **({"format": link.format} if link.format else {})})
    return out


def dataset_entry(dataset: OpenDataset, base: str, settings: Settings) -> dict[str, Any]:
    r = dataset.resource
    keywords = list(r.tags or []) or [r.theme or r.department.name]
    entry: dict[str, Any] = {
        "@type": "dcat:Dataset", "identifier": r.code, "title": r.name,
        "description": r.summary, "keyword": keywords,
        "modified": dataset.modified_at.isoformat(),
        "publisher": {"@type": "org:Organization", "name": r.department.name},
        "contactPoint": {"@type": "vcard:Contact", "fn": r.department.name,
                         "hasEmail": f"mailto:{settings.portal_contact_email}"},
        "accessLevel": ACCESS_LEVEL[r.open_type],
        "bureauCode": [settings.pod_bureau_code], "programCode": [settings.pod_program_code],
        "license": dataset.licence.url, "spatial": dataset.spatial,
        "landingPage": f"{base}/dataset/{dataset.name}", "language": ["zh-CN"],
        "distribution": _distributions(dataset, base),
    }
    if r.published_on:
        entry["issued"] = r.published_on.isoformat()
    if r.open_type == "conditional" and r.open_condition:
        entry["rights"] = r.open_condition[:255]
    if r.theme:
        entry["theme"] = [r.theme]
    temporal = _temporal(dataset)
    if temporal:
        entry["temporal"] = temporal
    period = CYCLE_ISO.get(r.update_cycle)
    entry["accrualPeriodicity"] = period or "irregular"
    return entry


def catalog(datasets: Iterable[OpenDataset], base: str, settings: Settings) -> dict[str, Any]:
    return {
        "@context": f"{SCHEMA}/catalog.jsonld", "@id": f"{base}/data.json",
        "@type": "dcat:Catalog", "conformsTo": SCHEMA,
        "describedBy": f"{SCHEMA}/catalog.json",
        "dataset": [dataset_entry(dataset, base, settings) for dataset in datasets],
    }
