"""tokens bound to live accounts

platform_user.tokens_valid_after: tokens issued before it are outdated (set when an
account is deactivated or its roles change). platform_issued_token: every token signed,
so that revoking an unknown jti is refused.

Revision ID: 0010_live_accounts
Revises: 0009_ledger_sequencer
Create Date: 2026-11-30 21:00:00
"""
import sqlalchemy as sa
from alembic import op

from govdata.platform.db import UTCDateTime

revision = '0010_live_accounts'
down_revision = '0009_ledger_sequencer'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('platform_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tokens_valid_after', UTCDateTime(), nullable=True))
    op.create_table(
        'platform_issued_token',
        sa.Column('jti', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('issued_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('jti', name=op.f('pk_platform_issued_token')),
    )
    op.create_index(op.f('ix_platform_issued_token_username'), 'platform_issued_token',
                    ['username'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_platform_issued_token_username'), table_name='platform_issued_token')
    op.drop_table('platform_issued_token')
    with op.batch_alter_table('platform_user', schema=None) as batch_op:
        batch_op.drop_column('tokens_valid_after')
