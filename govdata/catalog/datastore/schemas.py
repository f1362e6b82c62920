"""Shapes of the datastore's HTTP answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from fastapi.responses import Response
from pydantic import BaseModel

from govdata.catalog.datastore.query import QueryResult
from govdata.catalog.models import DataVersion


class ColumnOut(BaseModel):
    name: str
    title: str
    data_type: str
    length: int | None = None
    required: bool = False
    sensitivity: str = "none"


class DataVersionOut(BaseModel):
    resource: str
    version: int
    is_current: bool
    row_count: int
    table: str
    source_name: str | None
    loaded_by: str
    loaded_at: dt.datetime
    columns: list[ColumnOut]


class DataPage(BaseModel):
    """A page of records: ``fields`` as CKAN's datastore_search lists them, ``items`` the
    records (objects keyed by field id), ``total`` the matching rows."""

    fields: list[dict[str, Any]]
    items: list[dict[str, Any]]
    total: int | None
    limit: int
    offset: int
    version: int


def version_out(code: str, version: DataVersion) -> DataVersionOut:
    return DataVersionOut(
        resource=code, version=version.version, is_current=version.is_current,
        row_count=version.row_count, table=version.table_name,
        source_name=version.source_name, loaded_by=version.loaded_by,
        loaded_at=version.loaded_at,
        columns=[ColumnOut(**{key: column.get(key) for key in ColumnOut.model_fields
                              if column.get(key) is not None})
                 for column in version.columns])


def page_out(result: QueryResult) -> DataPage:
    return DataPage(fields=result.fields, items=result.records, total=result.total,
                    limit=result.limit, offset=result.offset, version=result.version)


def page_response(result: QueryResult) -> Response:
    """A ``DataPage`` as JSON, the records passed on as the database wrote them: what
    ``page_out`` gives, without a Python object per value (about 2 ms less per page of 100
    on PostgreSQL)."""
    body = orjson.dumps({"fields": result.fields, "items": orjson.Fragment(result.records_json),
                         "total": result.total, "limit": result.limit,
                         "offset": result.offset, "version": result.version})
    return Response(body, media_type="application/json")
