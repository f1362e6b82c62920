"""exchange: share requests and their history, grants, disputes, inboxes, webhooks and
the outbox of webhook deliveries

Revision ID: 0004_exchange
Revises: 0003
Create Date: 2026-11-30 16:51:47
"""
from alembic import op
import sqlalchemy as sa
import govdata.platform.db


revision = '0004_exchange'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exchange_notification',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('department_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['platform_department.id'], name=op.f('fk_exchange_notification_department_id_platform_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_notification'))
    )
    with op.batch_alter_table('exchange_notification', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_notification_inbox', ['department_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_notification_kind'), ['kind'], unique=False)

    op.create_table('exchange_webhook',
    sa.Column('department_id', sa.String(length=36), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('updated_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['platform_department.id'], name=op.f('fk_exchange_webhook_department_id_platform_department')),
    sa.PrimaryKeyConstraint('department_id', name=op.f('pk_exchange_webhook'))
    )
    op.create_table('exchange_delivery',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['exchange_notification.id'], name=op.f('fk_exchange_delivery_notification_id_exchange_notification')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_delivery'))
    )
    with op.batch_alter_table('exchange_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_delivery_notification_id'), ['notification_id'], unique=False)

    op.create_table('exchange_dispute',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('provider_id', sa.String(length=36), nullable=False),
    sa.Column('consumer_id', sa.String(length=36), nullable=False),
    sa.Column('opened_by', sa.String(length=100), nullable=False),
    sa.Column('records', sa.JSON(), nullable=False),
    sa.Column('data_version', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('corrected_version', sa.Integer(), nullable=True),
    sa.Column('answered_by', sa.String(length=100), nullable=True),
    sa.Column('answered_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminded_on', sa.Date(), nullable=True),
    sa.Column('overdue_notified', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['consumer_id'], ['platform_department.id'], name=op.f('fk_exchange_dispute_consumer_id_platform_department')),
    sa.ForeignKeyConstraint(['provider_id'], ['platform_department.id'], name=op.f('fk_exchange_dispute_provider_id_platform_department')),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_exchange_dispute_resource_id_catalog_resource')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_dispute'))
    )
    with op.batch_alter_table('exchange_dispute', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_dispute_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_dispute_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_dispute_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_dispute_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_dispute_status'), ['status'], unique=False)

    op.create_table('exchange_request',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('provider_id', sa.String(length=36), nullable=False),
    sa.Column('consumer_id', sa.String(length=36), nullable=False),
    sa.Column('requester', sa.String(length=100), nullable=False),
    sa.Column('data_items', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('created_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('reminded_on', sa.Date(), nullable=True),
    sa.Column('overdue_notified', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['consumer_id'], ['platform_department.id'], name=op.f('fk_exchange_request_consumer_id_platform_department')),
    sa.ForeignKeyConstraint(['provider_id'], ['platform_department.id'], name=op.f('fk_exchange_request_provider_id_platform_department')),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_exchange_request_resource_id_catalog_resource')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_request'))
    )
    with op.batch_alter_table('exchange_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_request_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_request_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_request_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_request_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_request_status'), ['status'], unique=False)

    op.create_table('exchange_grant',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('provider_id', sa.String(length=36), nullable=False),
    sa.Column('consumer_id', sa.String(length=36), nullable=False),
    sa.Column('data_items', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('starts', sa.Date(), nullable=False),
    sa.Column('ends', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('revoked_reason', sa.Text(), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.Column('ended_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consumer_id'], ['platform_department.id'], name=op.f('fk_exchange_grant_consumer_id_platform_department')),
    sa.ForeignKeyConstraint(['provider_id'], ['platform_department.id'], name=op.f('fk_exchange_grant_provider_id_platform_department')),
    sa.ForeignKeyConstraint(['request_id'], ['exchange_request.id'], name=op.f('fk_exchange_grant_request_id_exchange_request')),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resource.id'], name=op.f('fk_exchange_grant_resource_id_catalog_resource')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_grant')),
    sa.UniqueConstraint('request_id', name=op.f('uq_exchange_grant_request_id'))
    )
    with op.batch_alter_table('exchange_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_grant_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_grant_ends'), ['ends'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_grant_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_grant_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_grant_status'), ['status'], unique=False)

    op.create_table('exchange_request_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['exchange_request.id'], name=op.f('fk_exchange_request_event_request_id_exchange_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_request_event'))
    )
    with op.batch_alter_table('exchange_request_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_request_event_request_id'), ['request_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('exchange_request_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_request_event_request_id'))

    op.drop_table('exchange_request_event')
    with op.batch_alter_table('exchange_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_grant_status'))
        batch_op.drop_index(batch_op.f('ix_exchange_grant_resource_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_grant_provider_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_grant_ends'))
        batch_op.drop_index(batch_op.f('ix_exchange_grant_consumer_id'))

    op.drop_table('exchange_grant')
    with op.batch_alter_table('exchange_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_request_status'))
        batch_op.drop_index(batch_op.f('ix_exchange_request_resource_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_request_provider_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_request_deadline'))
        batch_op.drop_index(batch_op.f('ix_exchange_request_consumer_id'))

    op.drop_table('exchange_request')
    with op.batch_alter_table('exchange_dispute', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_dispute_status'))
        batch_op.drop_index(batch_op.f('ix_exchange_dispute_resource_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_dispute_provider_id'))
        batch_op.drop_index(batch_op.f('ix_exchange_dispute_deadline'))
        batch_op.drop_index(batch_op.f('ix_exchange_dispute_consumer_id'))

    op.drop_table('exchange_dispute')
    with op.batch_alter_table('exchange_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_delivery_notification_id'))
        batch_op.drop_index('ix_exchange_delivery_due')

    op.drop_table('exchange_delivery')
    op.drop_table('exchange_webhook')
    with op.batch_alter_table('exchange_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_notification_kind'))
        batch_op.drop_index('ix_exchange_notification_inbox')

    op.drop_table('exchange_notification')
