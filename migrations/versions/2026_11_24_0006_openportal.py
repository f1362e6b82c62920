"""open portal: open attributes, usage counts, links, rate-limit windows

openportal_metadata holds what a dataset adds to its catalog entry (licence, temporal and
spatial coverage); openportal_usage its view, record-query and download counts;
openportal_link links to distributions kept elsewhere; openportal_rate_window the per-client
request counts shared by every worker (UNLOGGED on PostgreSQL: a crash only forgets the
current minute).

Revision ID: 0006_openportal
Revises: 0004_exchange
Create Date: 2026-11-24 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import govdata.platform.db


revision = '0006_openportal'
down_revision = '0004_exchange'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('openportal_metadata',
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('licence', sa.String(length=40), nullable=True),
    sa.Column('temporal_start', sa.Date(), nullable=True),
    sa.Column('temporal_end', sa.Date(), nullable=True),
    sa.Column('spatial', sa.String(length=200), nullable=True),
    sa.Column('updated_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_openportal_metadata_resource_id_catalog_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', name=op.f('pk_openportal_metadata'))
    )
    op.create_table('openportal_usage',
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('views', sa.BigInteger(), nullable=False),
    sa.Column('record_queries', sa.BigInteger(), nullable=False),
    sa.Column('downloads', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_openportal_usage_resource_id_catalog_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', name=op.f('pk_openportal_usage'))
    )
    op.create_table('openportal_link',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_openportal_link_resource_id_catalog_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_openportal_link'))
    )
    with op.batch_alter_table('openportal_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_openportal_link_resource_id'), ['resource_id'], unique=False)
    op.create_table('openportal_rate_window',
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('window', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('client', 'window', name=op.f('pk_openportal_rate_window'))
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE openportal_rate_window SET UNLOGGED')


def downgrade() -> None:
    op.drop_table('openportal_rate_window')
    with op.batch_alter_table('openportal_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_openportal_link_resource_id'))
    op.drop_table('openportal_link')
    op.drop_table('openportal_usage')
    op.drop_table('openportal_metadata')
