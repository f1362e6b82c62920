"""The datastore: one typed table per resource version, loaded from CSV/XLSX/JSON, queried
with ``datastore_search`` semantics and exported as streams.

What the exchange and the open portal call (they apply their own access rules and pass
the masks that apply; ``sensitivities(resource)`` gives the catalog's):

- ``query_rows(session, resource, *, fields, filters, q, sort, limit, offset,
  include_total, masks, records_format, items) -> QueryResult`` (``items``: the data items
  the caller may see; the others are absent)
- ``plan_export(session, resource, *, format, fields, filters, q, sort, limit, offset,
  masks, bom, header, records, items) -> ExportPlan`` then ``stream_export(bind, plan)``
  (bytes); ``planned_rows(connection, plan.selection, limit=, offset=)`` counts its rows
- ``current_version(session, resource) -> DataVersion``
- ``masks.mask(sensitivity, value)`` and ``masks.sql_mask(sensitivity, column, dialect)``
"""

from govdata.catalog.datastore.export import (
    ExportPlan,
    plan_export,
    planned_rows,
    stream_export,
)
from govdata.catalog.datastore.query import (
    QueryResult,
    current_version,
    query_rows,
    sensitivities,
)

__all__ = ["ExportPlan", "QueryResult", "current_version", "plan_export", "planned_rows",
           "query_rows", "sensitivities", "stream_export"]
