"""platform kernel

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 16:57:43.166791

The audit ledger refuses UPDATE and DELETE (RULES.md §6) by trigger, on both databases.
"""
from alembic import op
import sqlalchemy as sa
import govdata.platform.db
import govdata.platform.models


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('platform_audit_entry',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('body', govdata.platform.models.LedgerBody(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.Text(), sa.Computed("body ->> 'at'", persisted=True), nullable=False),
    sa.Column('actor', sa.Text(), sa.Computed("body ->> 'actor'", persisted=True), nullable=True),
    sa.Column('department', sa.Text(), sa.Computed("body ->> 'department'", persisted=True), nullable=True),
    sa.Column('action', sa.Text(), sa.Computed("body ->> 'action'", persisted=True), nullable=False),
    sa.Column('resource', sa.Text(), sa.Computed("body ->> 'resource'", persisted=True), nullable=True),
    sa.Column('outcome', sa.Text(), sa.Computed("body ->> 'outcome'", persisted=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_platform_audit_entry'))
    )
    with op.batch_alter_table('platform_audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_platform_audit_entry_action', ['action'], unique=False)
        batch_op.create_index('ix_platform_audit_entry_actor', ['actor'], unique=False)
        batch_op.create_index('ix_platform_audit_entry_department', ['department'], unique=False)
        batch_op.create_index('ix_platform_audit_entry_occurred_at', ['occurred_at'], unique=False)
        batch_op.create_index('ix_platform_audit_entry_resource', ['resource'], unique=False)

    op.create_table('platform_department',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('short_name', sa.String(length=100), nullable=True),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('division_code', sa.String(length=6), nullable=False),
    sa.Column('parent_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['platform_department.id'], name=op.f('fk_platform_department_parent_id_platform_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_department')),
    sa.UniqueConstraint('code', name=op.f('uq_platform_department_code')),
    sa.UniqueConstraint('uscc', name=op.f('uq_platform_department_uscc'))
    )
    op.create_table('platform_revoked_token',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_platform_revoked_token'))
    )
    op.create_table('platform_user',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=True),
    sa.Column('department_id', sa.String(length=36), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', govdata.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['platform_department.id'], name=op.f('fk_platform_user_department_id_platform_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_user')),
    sa.UniqueConstraint('username', name=op.f('uq_platform_user_username'))
    )
    with op.batch_alter_table('platform_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_platform_user_department_id'), ['department_id'], unique=False)

    op.create_table('platform_user_role',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['platform_user.id'], name=op.f('fk_platform_user_role_user_id_platform_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_user_role')),
    sa.UniqueConstraint('user_id', 'role', name=op.f('uq_platform_user_role_user_id_role'))
    )
    create_ledger_guards()


def create_ledger_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION platform_audit_refuse_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'platform_audit_entry is append-only (% refused)', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$
        """)
        op.execute("""
            CREATE TRIGGER platform_audit_append_only
            BEFORE UPDATE OR DELETE ON platform_audit_entry
            FOR EACH ROW EXECUTE FUNCTION platform_audit_refuse_change()
        """)
        op.execute("""
            CREATE TRIGGER platform_audit_no_truncate
            BEFORE TRUNCATE ON platform_audit_entry
            FOR EACH STATEMENT EXECUTE FUNCTION platform_audit_refuse_change()
        """)
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER platform_audit_no_{verb.lower()}
                BEFORE {verb} ON platform_audit_entry
                BEGIN SELECT RAISE(ABORT, 'platform_audit_entry is append-only'); END
            """)


def drop_ledger_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER platform_audit_no_truncate ON platform_audit_entry")
        op.execute("DROP TRIGGER platform_audit_append_only ON platform_audit_entry")
        op.execute("DROP FUNCTION platform_audit_refuse_change()")
    else:
        op.execute("DROP TRIGGER platform_audit_no_update")
        op.execute("DROP TRIGGER platform_audit_no_delete")


def downgrade() -> None:
    drop_ledger_guards()
    op.drop_table('platform_user_role')
    with op.batch_alter_table('platform_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_platform_user_department_id'))

    op.drop_table('platform_user')
    op.drop_table('platform_revoked_token')
    op.drop_table('platform_department')
    with op.batch_alter_table('platform_audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_platform_audit_entry_resource')
        batch_op.drop_index('ix_platform_audit_entry_occurred_at')
        batch_op.drop_index('ix_platform_audit_entry_department')
        batch_op.drop_index('ix_platform_audit_entry_actor')
        batch_op.drop_index('ix_platform_audit_entry_action')

    op.drop_table('platform_audit_entry')
