"""CKAN's datastore on our datastore: ``datastore_search``, ``datastore_info`` and
``/datastore/dump/{resource_id}``, through the open portal's services (public masks,
conditional data refused, usage counted) and so through the datastore's query and export
code."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

import orjson

from govdata.catalog.datastore import ExportPlan, current_version, query_rows
from govdata.catalog.datastore.query import MAX_LIMIT
from govdata.catalog.models import Resource
from govdata.openportal import readcache, service
from govdata.openportal.ckan.context import (
    ActionContext,
    as_bool,
    as_int,
    as_json,
    as_list,
    required_text,
)
from govdata.openportal.ckan.errors import NotFoundError, ValidationError
from govdata.openportal.identifiers import resource_id_of_datastore
from govdata.openportal.masking import public_masks

SEARCH_KEYS = frozenset({"resource_id", "id", "filters", "q", "distinct", "plain", "language",
                         "limit", "offset", "fields", "sort", "include_total",
                         "total_estimation_threshold", "records_format", "full_text"})
RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")
DEFAULT_LIMIT = 100
DUMP_FORMATS = ("csv", "tsv", "json", "xml")
NATIVE = {"text": "text", "numeric": "numeric", "date": "date", "timestamp": "timestamptz",
          "bool": "boolean", "int": "int8", "float8": "float8"}


def open_datastore_resource(ctx: ActionContext, ref: str) -> Resource:
    """The open dataset whose datastore resource id this is."""
    resource_id = resource_id_of_datastore(ref)
    resource = None
    if resource_id is not None:
        resource = readcache.open_resource_by_id(ctx.session, resource_id)
    if resource is None:
        raise NotFoundError(f'Resource "{ref}" was not found.')
    return resource


def _sort(value: Any) -> str | None:
    value = as_json(value, "sort")
    if isinstance(value, list):
        return ", ".join(str(part) for part in value)
    return str(value) if value else None


def _query(data: Mapping[str, Any]) -> dict[str, Any]:
    """``query_rows`` keywords from a datastore_search or dump request."""
    filters = as_json(data.get("filters"), "filters")
    if filters is not None and not isinstance(filters, Mapping):
        raise ValidationError({"filters": ["应为 {字段: 值} (Not a json object)"]})
    q = as_json(data.get("q"), "q")
    fields = as_list(data.get("fields"), "fields") or None
    query = {"filters": filters, "q": q or None, "fields": fields, "sort": _sort(data.get("sort"))}
    if not as_bool(data, "plain", True):
        query["plain"] = False  # q in to_tsquery's syntax
    return query


def _links(ctx: ActionContext, offset: int, limit: int) -> dict[str, str]:
    """CKAN's ``_links``: this request's path and parameters, from the start and at the
    next page."""
    arguments = [(k, v) for k, v in ctx.query if k != "offset"]
    start = ctx.path + (f"?{urlencode(arguments)}" if arguments else "")
    following = urlencode([*arguments, ("offset", str(offset + limit))])
    return {"start": start, "next": f"{ctx.path}?{following}"}


def echo(value: Any) -> Any:
    """An input value as the answer repeats it (integers JSON cannot carry as text)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    if isinstance(value, Mapping):
        return {str(k): echo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [echo(v) for v in value]
    return value


def datastore_search(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - SEARCH_KEYS)
    if unknown:
        raise ValidationError({key: [f"The input field {key} was not expected."]
                               for key in unknown})
    ref = required_text(data, "resource_id", "id")
    resource = open_datastore_resource(ctx, ref)
    query = _query(data)
    limit = min(as_int(data, "limit", DEFAULT_LIMIT) or 0, MAX_LIMIT)
    offset = as_int(data, "offset", 0) or 0
    include_total = as_bool(data, "include_total", True)
    records_format = str(data.get("records_format") or "objects")
    if records_format not in RECORDS_FORMATS:
        raise ValidationError({"records_format": [f"应为 {'|'.join(RECORDS_FORMATS)}"]})
    tabular = records_format in ("csv", "tsv")
    distinct = as_bool(data, "distinct", False)
    if distinct and tabular:
        raise ValidationError({"distinct": ["distinct 仅用于 records_format objects|lists "
                                            "(not with csv/tsv)"]})
    result = service.query_resource(ctx.session, resource, settings=ctx.settings,
                                    access=ctx.access, limit=0 if tabular else limit, offset=offset,
                                    include_total=include_total, distinct=distinct,
                                    records_format="objects" if tabular else records_format,
                                    **query)
    records: Any = orjson.Fragment(result.records_json)  # passed on as the database wrote it
    if tabular:
        records = service.records_text(ctx.session, resource, format=records_format,
                                       settings=ctx.settings, access=ctx.access,
                                       limit=limit, offset=offset, **query)
    out: dict[str, Any] = {key: echo(data[key]) for key in data if key != "id"}
    out.update(resource_id=ref, fields=result.fields, records=records, limit=limit,
               include_total=include_total, records_format=records_format,
               total_estimation_threshold=as_int(data, "total_estimation_threshold", None),
               _links=_links(ctx, offset, limit))
    if include_total:
        out.update(total=result.total, total_was_estimated=False)
    return out


def datastore_info(ctx: ActionContext, data: Mapping[str, Any]) -> dict[str, Any]:
    """The datastore's fields (as the public sees them) and row count. Metadata: also for
    conditional datasets."""
    ref = required_text(data, "id", "resource_id")
    resource = open_datastore_resource(ctx, ref)
    result = query_rows(ctx.session, resource, limit=0, include_total=False,
                        masks=public_masks(resource))
    fields = [{**field, "schema": {"native_type": NATIVE.get(field["type"], field["type"]),
                                   "notnull": False, "index_name": None, "is_index": False,
                                   "uniquekey": False}}
              for field in result.fields if field["id"] != "_id"]
    version = current_version(ctx.session, resource)
    return {"meta": {"id": ref, "count": version.row_count, "table_type": "BASE TABLE",
                     "aliases": [], "version": version.version},
            "fields": fields}


# --- dumps -----------------------------------------------------------------------------

def plan_dump(ctx: ActionContext, ref: str, data: Mapping[str, Any]) -> ExportPlan:
    """Plan ``/datastore/dump/{id}``: CSV and TSV with ``_id`` first, JSON as
    ``{"fields", "records": [[…]]}``, XML as CKAN writes it (from the NDJSON export)."""
    fmt = str(data.get("format") or "csv").lower()
    if fmt not in DUMP_FORMATS:
        raise ValidationError({"format": [f"应为 {'|'.join(DUMP_FORMATS)}"]})
    resource = open_datastore_resource(ctx, ref)
    limit = as_int(data, "limit", None)
    return service.plan_resource_download(
        ctx.session, resource, settings=ctx.settings, access=ctx.access,
        format="ndjson" if fmt == "xml" else fmt, records="lists",
        bom=as_bool(data, "bom", False), limit=limit, offset=as_int(data, "offset", 0) or 0,
        **_query(data))


def xml_rows(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """NDJSON objects as CKAN's XML dump: ``<row _id="1"><name>…</name>…</row>``."""
    yield b'<data xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    pending = b""
    for chunk in chunks:
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        out = [_xml_row(line) for line in lines if line.strip()]
        if out:
            yield "".join(out).encode()
    if pending.strip():
        yield _xml_row(pending).encode()
    yield b"</data>\n"


def _xml_row(line: bytes) -> str:
    record = json.loads(line)
    row_id = record.pop("_id", None)
    parts = [f"<row _id={quoteattr(str(row_id))}>" if row_id is not None else "<row>"]
    for name, value in record.items():
        if value is None:
            parts.append(f'<{name} xsi:nil="true" />')
        else:
            shown = json.dumps(value) if isinstance(value, bool) else str(value)
            parts.append(f"<{name}>{escape(shown)}</{name}>")
    parts.append("</row>\n")
    return "".join(parts)


XML_MEDIA = "text/xml; charset=utf-8"
