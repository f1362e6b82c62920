"""Shapes that cross HTTP for the catalog.

Vocabulary fields are plain text here (their allowed values are listed in the OpenAPI
schema): the rules in ``govdata.catalog.rules`` judge them, with the same rule codes for the
API, the catalog import and the seed loader.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from govdata.catalog import vocab
from govdata.catalog.models import DataItem, Resource, ResourceVersion
from govdata.platform.deps import MAX_OFFSET


def _enum(values, description: str) -> Any:
    return Field(description=description, json_schema_extra={"enum": [str(v) for v in values]})


def _optional_enum(values, description: str) -> Any:
    """An enum that may be null: ``null`` is one of the values the schema allows."""
    return Field(default=None, description=description,
                 json_schema_extra={"enum": [*(str(v) for v in values), None]})


class DataItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="字段名: 小写字母开头, 字母数字下划线", examples=["aqi"])
    title: str = Field(description="中文名称", examples=["空气质量指数"])
    data_type: str = _enum(vocab.DATA_TYPES, "数据类型: " + "、".join(
        f"{k} {v}" for k, v in vocab.DATA_TYPES.items()))
    length: int | None = None
    required: bool = False
    is_basic: bool = Field(default=False, description="是否基础信息项")
    sensitivity: str = Field(default="none", description="敏感类别 (RULES.md §4)",
                             json_schema_extra={"enum": [str(v) for v in vocab.SENSITIVITIES]})
    share_type: str | None = _optional_enum(vocab.SHARE_TYPES,
                                            "信息项自己的共享类型 (如与资源不同)")
    open_type: str | None = _optional_enum(vocab.OPEN_TYPES,
                                           "信息项自己的开放类型 (如与资源不同)")


class DataItemOut(DataItemIn):
    pass


class _ResourceFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    basic_kind: str | None = _optional_enum(vocab.BASIC_KINDS, "基础信息资源类型")
    theme: str | None = _optional_enum(vocab.THEMES, "主题 (主题信息资源必填)")
    category_path: str | None = Field(default=None, description="类/项/目/细目 名称",
                                      examples=["部门信息资源/生态环境/环境质量/空气"])
    share_condition: str | None = Field(default=None, description="共享条件 (有条件共享必填)")
    legal_basis: str | None = Field(default=None, description="不予共享的法律法规或政策依据")
    open_condition: str | None = Field(default=None, description="开放条件 (有条件开放必填)")
    published_on: dt.date | None = Field(default=None, description="发布日期 (默认发布当日)")
    related_codes: list[str] = Field(default_factory=list, description="关联资源代码")
    tags: list[str] = Field(default_factory=list)


class ResourceIn(_ResourceFields):
    """A new resource; the platform assigns its code."""

    department: str | None = Field(default=None,
                                   description="提供方部门代码 (管理员必填, 数据管理员默认本部门)")
    name: str = Field(description="信息资源名称", examples=["城市空气质量日报"])
    summary: str = Field(description="信息资源摘要")
    classification: str = Field(description="分类代码: 类1位 + 项2位 + 目3位 + 细目(可选)",
                                examples=["301001"])
    resource_class: str = _enum(vocab.RESOURCE_CLASSES, "资源类别: basic 基础 / theme 主题 / "
                                "department 部门")
    format_category: str = _enum(vocab.FORMAT_CATEGORIES, "信息资源格式分类")
    format: str = Field(description="格式, 如 csv、xlsx、json", examples=["csv"])
    share_type: str = _enum(vocab.SHARE_TYPES, "共享类型")
    share_method: str = _enum(vocab.SHARE_METHODS, "共享方式")
    open_type: str = Field(default="none", description="开放类型",
                           json_schema_extra={"enum": [str(v) for v in vocab.OPEN_TYPES]})
    update_cycle: str = _enum(vocab.UPDATE_CYCLES, "更新周期")
    items: list[DataItemIn] = Field(description="信息项")

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude={"department"})


class ResourcePatch(BaseModel):
    """Fields to change; ``items`` replaces the whole list."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    summary: str | None = None
    resource_class: str | None = None
    classification: str | None = None
    basic_kind: str | None = None
    theme: str | None = None
    category_path: str | None = None
    format_category: str | None = None
    format: str | None = None
    share_type: str | None = None
    share_condition: str | None = None
    share_method: str | None = None
    legal_basis: str | None = None
    open_type: str | None = None
    open_condition: str | None = None
    update_cycle: str | None = None
    published_on: dt.date | None = None
    related_codes: list[str] | None = None
    tags: list[str] | None = None
    items: list[DataItemIn] | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class RetireIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500, description="停用原因")


class ResourceSummaryOut(BaseModel):
    code: str
    name: str
    summary: str
    classification: str
    resource_class: str
    basic_kind: str | None
    theme: str | None
    department: str
    department_name: str
    format_category: str
    format: str
    share_type: str
    open_type: str
    update_cycle: str
    status: str
    status_label: str
    version: int
    published_on: dt.date | None
    tags: list[str]
    items: list[DataItemOut]
    updated_at: dt.datetime
    score: int | None = None


class ResourceOut(ResourceSummaryOut):
    category_path: str | None
    department_uscc: str
    share_condition: str | None
    share_method: str
    legal_basis: str | None
    open_condition: str | None
    related_codes: list[str]
    created_at: dt.datetime


class ResourceQuery(BaseModel):
    """The catalog search's query parameters: the keywords of ``search.search_resources``."""

    q: str | None = Field(default=None, max_length=200, description="中文或英文检索词")
    department: str | None = None
    resource_class: str | None = None
    theme: str | None = None
    share_type: str | None = None
    open_type: str | None = None
    update_cycle: str | None = None
    format: str | None = None
    status: str | None = None
    sort: str | None = Field(default=None, description="relevance (有检索词时默认) 或 name")
    limit: int = Field(default=20, ge=1, le=1000, description="每页条数 (page size)")
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="跳过条数 (rows to skip)")


class SearchPage(BaseModel):
    items: list[ResourceSummaryOut]
    total: int
    limit: int
    offset: int
    facets: dict[str, dict[str, int]]


class VersionOut(BaseModel):
    version: int
    change: str
    actor: str
    changed_at: dt.datetime
    snapshot: dict[str, Any]


def summary_out(resource: Resource, score: int | None = None) -> ResourceSummaryOut:
    return ResourceSummaryOut(**_summary_fields(resource), score=score)


def resource_out(resource: Resource) -> ResourceOut:
    return ResourceOut(
        **_summary_fields(resource),
        category_path=resource.category_path,
        department_uscc=resource.department.uscc,
        share_condition=resource.share_condition,
        share_method=resource.share_method,
        legal_basis=resource.legal_basis,
        open_condition=resource.open_condition,
        related_codes=list(resource.related_codes or []),
        created_at=resource.created_at,
    )


def item_out(item: DataItem) -> DataItemOut:
    return DataItemOut(name=item.name, title=item.title, data_type=item.data_type,
                       length=item.length, required=item.required, is_basic=item.is_basic,
                       sensitivity=item.sensitivity, share_type=item.share_type,
                       open_type=item.open_type)


def version_out(version: ResourceVersion) -> VersionOut:
    return VersionOut(version=version.version, change=version.change, actor=version.actor,
                      changed_at=version.changed_at, snapshot=version.snapshot)


def _summary_fields(resource: Resource) -> dict[str, Any]:
    return {
        "code": resource.code, "name": resource.name, "summary": resource.summary,
        "classification": resource.classification, "resource_class": resource.resource_class,
        "basic_kind": resource.basic_kind, "theme": resource.theme,
        "department": resource.department.code, "department_name": resource.department.name,
        "format_category": resource.format_category, "format": resource.format,
        "share_type": resource.share_type, "open_type": resource.open_type,
        "update_cycle": resource.update_cycle, "status": resource.status,
        "status_label": vocab.STATUS_LABEL[resource.status], "version": resource.version,
        "published_on": resource.published_on, "tags": list(resource.tags or []),
        "items": [item_out(item) for item in resource.items], "updated_at": resource.updated_at,
    }
