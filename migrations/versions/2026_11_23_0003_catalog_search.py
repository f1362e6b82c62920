"""catalog search: a locale-free search index over the catalog

catalog_search_fts_doc holds one narrow row per resource (doc_id = 60 bits of the resource
UUID): what search filters, counts and sorts on, the facet values packed into one integer
(govdata.catalog.textindex.pack_facets). govdata.catalog.search.index keeps it in step with
every change; names starting with catalog_search_fts are outside the models-vs-migrations
check. The tokens (govdata.catalog.textindex.tokens) are matched:
- on PostgreSQL by GIN indexes on to_tsvector('simple', …) of the whole search_text, of its
  name section and of its name and items sections (search_text is kept out of line, so the
  rows the facets scan stay small; no GIN pending list, so reads do not wait for VACUUM);
- on SQLite by three FTS5 tables with the 'ascii' tokenizer (every non-ASCII character is a
  token character, so no Unicode table or locale decides what a token is):
  catalog_search_fts (all tokens), catalog_search_fts_name (the name section's),
  catalog_search_fts_head (the name and items sections').

Existing resources are indexed with `govdata catalog reindex`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:00:00
"""
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

DOC_COLUMNS = """
    resource_id VARCHAR(36) NOT NULL
        CONSTRAINT uq_catalog_search_fts_doc_resource_id UNIQUE
        CONSTRAINT fk_catalog_search_fts_doc_resource_id_catalog_resource
        REFERENCES catalog_resource (id) ON DELETE CASCADE,
    code VARCHAR(40) NOT NULL,
    name VARCHAR(200) NOT NULL,
    name_sort VARCHAR(600) NOT NULL,
    status VARCHAR(12) NOT NULL,
    department VARCHAR(64) NOT NULL,
    format VARCHAR(20) NOT NULL,
    facets INTEGER NOT NULL
"""
FTS5_TABLES = ("catalog_search_fts", "catalog_search_fts_name", "catalog_search_fts_head")
GIN = {
    "all": "search_text",
    "name": "split_part(search_text, ' | ', 1)",
    "head": "split_part(search_text, ' # ', 1)",
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(f"CREATE TABLE catalog_search_fts_doc ("
                   f" doc_id BIGINT NOT NULL CONSTRAINT pk_catalog_search_fts_doc PRIMARY KEY,"
                   f" {DOC_COLUMNS}, search_text TEXT NOT NULL)"
                   f" WITH (toast_tuple_target = 128)")
        op.execute("ALTER TABLE catalog_search_fts_doc ALTER COLUMN search_text "
                   "SET STORAGE EXTERNAL")
        for name, expression in GIN.items():
            op.execute(f"CREATE INDEX ix_catalog_search_fts_doc_tokens_{name} ON catalog_search_fts_doc "
                       f"USING gin (to_tsvector('simple'::regconfig, {expression})) "
                       f"WITH (fastupdate = off)")
        collate = ' COLLATE "C"'
    else:
        op.execute(f"CREATE TABLE catalog_search_fts_doc (doc_id INTEGER PRIMARY KEY, "
                   f"{DOC_COLUMNS})")
        for table in FTS5_TABLES:
            op.execute(f"CREATE VIRTUAL TABLE {table} USING fts5(tokens, tokenize = 'ascii')")
        collate = ""
    op.execute("CREATE INDEX ix_catalog_search_fts_doc_facets ON catalog_search_fts_doc "
               "(department, format, facets, status)")
    op.execute(f"CREATE INDEX ix_catalog_search_fts_doc_order ON catalog_search_fts_doc "
               f"(name_sort{collate}, code{collate})")
    op.execute("CREATE INDEX ix_catalog_search_fts_doc_name ON catalog_search_fts_doc (name)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table in FTS5_TABLES:
            op.execute(f"DROP TABLE {table}")
    op.execute("DROP TABLE catalog_search_fts_doc")
