"""open portal, the people side: accounts, applications, API keys, requests, reports

openportal_account and openportal_account_session: the public's accounts (Argon2id
passwords) and their signed-in sessions (SHA-256 of the token); openportal_application:
applications for conditional open data and the providing department's decisions;
openportal_api_key: approved applicants' keys (SHA-256 only); openportal_data_request and
openportal_error_report: the public's data requests (数据需求) and error reports (纠错).

Revision ID: 0008_openportal_people
Revises: 0007_datastore_stats
Create Date: 2026-11-30 20:45:00
"""
from alembic import op
import sqlalchemy as sa
import govdata.platform.db


revision = '0008_openportal_people'
down_revision = '0007_datastore_stats'
branch_labels = None
depends_on = None

UTC = govdata.platform.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('openportal_account',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_openportal_account')),
    sa.UniqueConstraint('email', name=op.f('uq_openportal_account_email'))
    )
    op.create_table('openportal_account_session',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['openportal_account.id'], name=op.f('fk_openportal_account_session_account_id_openportal_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_openportal_account_session'))
    )
    with op.batch_alter_table('openportal_account_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_openportal_account_session_account_id'), ['account_id'], unique=False)
    op.create_table('openportal_application',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('data_items', sa.JSON(), nullable=False),
    sa.Column('undertaking', sa.Text(), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('granted_items', sa.JSON(), nullable=True),
    sa.Column('granted_until', sa.Date(), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', UTC, nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['openportal_account.id'], name=op.f('fk_openportal_application_account_id_openportal_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_openportal_application_resource_id_catalog_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_openportal_application'))
    )
    with op.batch_alter_table('openportal_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_openportal_application_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_openportal_application_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_openportal_application_status'), ['status'], unique=False)
    op.create_table('openportal_api_key',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('revoked_at', UTC, nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['openportal_application.id'], name=op.f('fk_openportal_api_key_application_id_openportal_application'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_openportal_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_openportal_api_key_key_hash'))
    )
    with op.batch_alter_table('openportal_api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_openportal_api_key_application_id'), ['application_id'], unique=False)
    op.create_table('openportal_data_request',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('department_id', sa.String(length=36), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.String(length=100), nullable=True),
    sa.Column('answered_at', UTC, nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['openportal_account.id'], name=op.f('fk_openportal_data_request_account_id_openportal_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_id'], ['platform_department.id'], name=op.f('fk_openportal_data_request_department_id_platform_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_openportal_data_request'))
    )
    with op.batch_alter_table('openportal_data_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_openportal_data_request_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_openportal_data_request_status'), ['status'], unique=False)
    op.create_table('openportal_error_report',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('data_item', sa.String(length=100), nullable=True),
    sa.Column('record', sa.String(length=100), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.String(length=100), nullable=True),
    sa.Column('answered_at', UTC, nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['openportal_account.id'], name=op.f('fk_openportal_error_report_account_id_openportal_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_openportal_error_report_resource_id_catalog_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_openportal_error_report'))
    )
    with op.batch_alter_table('openportal_error_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_openportal_error_report_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_openportal_error_report_status'), ['status'], unique=False)


def downgrade() -> None:
    for table in ('openportal_error_report', 'openportal_data_request', 'openportal_api_key',
                  'openportal_application', 'openportal_account_session', 'openportal_account'):
        op.drop_table(table)
