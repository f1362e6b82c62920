"""Shapes of the open-data JSON API (``/api/v1/open/...``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from govdata.catalog.datastore import masks as masking
from govdata.catalog.models import DataItem
from govdata.catalog.vocab import DATA_TYPES, OPEN_LABEL, SENSITIVITY_LABEL
from govdata.openportal.identifiers import datastore_resource_id
from govdata.openportal.service import OpenDataset
from govdata.openportal.vocab import Licence

DOWNLOAD_FORMATS = ("csv", "json", "xlsx")


class DepartmentRef(BaseModel):
    code: str
    name: str


class LicenceOut(BaseModel):
    id: str
    title: str
    url: str


class UsageOut(BaseModel):
    views: int
    record_queries: int
    downloads: int


class ItemOut(BaseModel):
    """A data item as the public sees it: ``masked`` items show desensitised values."""

    name: str
    title: str
    data_type: str
    data_type_label: str
    length: int | None
    sensitivity: str
    sensitivity_label: str
    masked: bool


class LinkOut(BaseModel):
    name: str
    url: str
    format: str | None
    description: str | None


class TemporalOut(BaseModel):
    start: dt.date | None
    end: dt.date | None


class DatasetSummaryOut(BaseModel):
    name: str = Field(description="资源代码中的 / 换为 - (CKAN name)", examples=["211001-000001"])
    code: str
    title: str
    summary: str
    department: DepartmentRef
    theme: str | None
    group: str | None = Field(description="CKAN group name of the theme")
    tags: list[str]
    format: str
    open_type: str
    open_type_label: str
    open_condition: str | None
    data_access: str = Field(description="open: 任何人可获取数据; application: 需申请")
    update_cycle: str
    overdue: bool = Field(description="是否超过更新周期未更新数据")
    licence: LicenceOut
    published_on: dt.date | None
    modified_at: dt.datetime
    data_updated_at: dt.datetime | None
    rows: int | None
    score: int | None = None


class DatasetOut(DatasetSummaryOut):
    resource_class: str
    classification: str
    category_path: str | None
    format_category: str
    spatial: str
    temporal: TemporalOut
    related_codes: list[str]
    items: list[ItemOut]
    data_version: int | None
    usage: UsageOut
    links: list[LinkOut]
    downloads: dict[str, str]
    api: dict[str, str]


class DatasetPageOut(BaseModel):
    items: list[DatasetSummaryOut]
    total: int
    limit: int
    offset: int
    facets: dict[str, dict[str, int]]


class DepartmentDatasetsOut(DatasetPageOut):
    department: DepartmentRef


class OpenMetadataIn(BaseModel):
    """The open attributes a steward sets; only the keys given change."""

    model_config = {"extra": "forbid"}

    licence: str | None = Field(default=None, description="许可协议 (license_list)")
    temporal_start: dt.date | None = None
    temporal_end: dt.date | None = None
    spatial: str | None = Field(default=None, max_length=200, description="空间范围")


def licence_out(licence: Licence) -> LicenceOut:
    return LicenceOut(id=licence.id, title=licence.title, url=licence.url)


def item_out(item: DataItem) -> ItemOut:
    return ItemOut(name=item.name, title=item.title, data_type=item.data_type,
                   data_type_label=DATA_TYPES.get(item.data_type, item.data_type),
                   length=item.length, sensitivity=item.sensitivity or "none",
                   sensitivity_label=SENSITIVITY_LABEL.get(item.sensitivity or "none", ""),
                   masked=masking.is_masked(item.sensitivity))


def _summary(dataset: OpenDataset) -> dict[str, Any]:
    r = dataset.resource
    return {
        "name": dataset.name, "code": r.code, "title": r.name, "summary": r.summary,
        "department": DepartmentRef(code=r.department.code, name=r.department.name),
        "theme": r.theme, "group": dataset.group, "tags": list(r.tags or []),
        "format": r.format, "open_type": r.open_type,
        "open_type_label": OPEN_LABEL.get(r.open_type, r.open_type),
        "open_condition": r.open_condition, "data_access": dataset.data_access,
        "update_cycle": r.update_cycle, "overdue": dataset.overdue,
        "licence": licence_out(dataset.licence), "published_on": r.published_on,
        "modified_at": dataset.modified_at, "data_updated_at": dataset.data_updated_at,
        "rows": dataset.data.row_count if dataset.data else None, "score": dataset.score,
    }


def summary_out(dataset: OpenDataset) -> DatasetSummaryOut:
    return DatasetSummaryOut(**_summary(dataset))


def dataset_out(dataset: OpenDataset, base_url: str) -> DatasetOut:
    r = dataset.resource
    start, end = dataset.temporal
    here = f"{base_url}/api/v1/open/datasets/{dataset.name}"
    return DatasetOut(
        **_summary(dataset),
        resource_class=r.resource_class, classification=r.classification,
        category_path=r.category_path, format_category=r.format_category,
        spatial=dataset.spatial, temporal=TemporalOut(start=start, end=end),
        related_codes=list(r.related_codes or []),
        items=[item_out(item) for item in dataset.items],
        data_version=dataset.data.version if dataset.data else None,
        usage=UsageOut(**dataset.usage),
        links=[LinkOut(name=link.name, url=link.url, format=link.format,
                       description=link.description) for link in dataset.links],
        downloads={fmt: f"{here}/download?format={fmt}" for fmt in DOWNLOAD_FORMATS}
        if dataset.data else {},
        api={"records": f"{here}/records",
             "datastore_search": f"{base_url}/api/3/action/datastore_search?resource_id="
                                 f"{datastore_resource_id(r.id)}",
             "dcat": f"{base_url}/dataset/{dataset.name}.jsonld"},
    )
