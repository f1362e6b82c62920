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

from importlib import import_module

# Imported on first use (PEP 562), so that what imports a submodule alone (the command
# line) does not load pandas and pyarrow.
_FROM = {"ExportPlan": "export", "plan_export": "export", "planned_rows": "export",
         "stream_export": "export", "QueryResult": "query", "current_version": "query",
         "query_rows": "query", "sensitivities": "query"}

__all__ = sorted(_FROM)


def __getattr__(name: str):
    if name not in _FROM:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_FROM[name]}"), name)
