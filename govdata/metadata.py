"""Every part's tables on one MetaData, for Alembic and the schema test."""

from govdata.catalog import models as _catalog_models  # noqa: F401
from govdata.exchange import models as _exchange_models  # noqa: F401
from govdata.openportal import models as _openportal_models  # noqa: F401
from govdata.platform import models as _platform_models  # noqa: F401
from govdata.platform.db import Base

metadata = Base.metadata

# Tables made at run time, not by migrations: one typed table per resource version
# (the datastore) and SQLite's full-text shadow tables.
RUNTIME_TABLE_PREFIXES = ("ds_", "catalog_search_fts")


def is_migrated_table(name: str) -> bool:
    return not name.startswith(RUNTIME_TABLE_PREFIXES)
