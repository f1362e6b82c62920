"""datastore statistics: what each version's text columns hold

catalog_data_version.column_stats (JSON, null for versions loaded before): per text column
the byte values its text has and, for a column with at most 1,000 distinct values, each
value's row count (govdata.catalog.datastore.stats). Queries use them to skip columns a
search word cannot be in and to count without scanning; versions without them are queried
as before.

Revision ID: 0007_datastore_stats
Revises: 0006_openportal
Create Date: 2026-11-30 18:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0007_datastore_stats'
down_revision = '0006_openportal'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('catalog_data_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('column_stats', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('catalog_data_version', schema=None) as batch_op:
        batch_op.drop_column('column_stats')
