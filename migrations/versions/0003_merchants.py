"""Merchants: merchants, stores, terminals and their API keys.

Revision ID: 0003_merchants
Revises: 0001_foundation
Create Date: 2026-11-27
"""

import advanced_alchemy
import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0003_merchants"
down_revision = "0002_cards_membership"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('merchant',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('org_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('org_path', sa.String(length=400), nullable=False),
    sa.Column('legal_name', sa.String(length=128), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('category', sa.Enum('dining', 'retail', 'cinema', 'health', 'fitness', 'education', 'rest_station', 'other', name='merchantcategory', native_enum=False, length=16), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('region_name', sa.String(length=64), nullable=True),
    sa.Column('contact_name', sa.String(length=64), nullable=False),
    sa.Column('contact_phone', sa.String(length=32), nullable=False),
    sa.Column('bank_name', sa.String(length=64), nullable=True),
    sa.Column('bank_account_name', sa.String(length=128), nullable=True),
    sa.Column('bank_account_enc', sa.String(length=255), nullable=True),
    sa.Column('bank_account_last4', sa.String(length=4), nullable=True),
    sa.Column('data_key_id', sa.String(length=16), nullable=True),
    sa.Column('status', sa.Enum('active', 'suspended', 'terminated', name='merchantstatus', native_enum=False, length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=255), nullable=True),
    sa.Column('status_changed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['org.id'], name=op.f('fk_merchant_org_id_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant')),
    sa.UniqueConstraint('uscc', name=op.f('uq_merchant_uscc'))
    )

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_merchant_display_name'), ['display_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_merchant_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_merchant_org_path', ['org_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_merchant_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_merchant_status'), ['status'], unique=False)

    op.create_table('merchant_store',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('merchant_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('status', sa.Enum('active', 'closed', name='storestatus', native_enum=False, length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_merchant_store_merchant_id_merchant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_store')),
    sa.UniqueConstraint('merchant_id', 'name', name=op.f('uq_merchant_store_merchant_id'))
    )

    with op.batch_alter_table('merchant_store', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_store_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_merchant_store_region'), ['region'], unique=False)

    op.create_table('merchant_terminal',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('store_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('merchant_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('active', 'disabled', name='terminalstatus', native_enum=False, length=16), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchant.id'], name=op.f('fk_merchant_terminal_merchant_id_merchant')),
    sa.ForeignKeyConstraint(['store_id'], ['merchant_store.id'], name=op.f('fk_merchant_terminal_store_id_merchant_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_terminal')),
    sa.UniqueConstraint('store_id', 'name', name=op.f('uq_merchant_terminal_store_id'))
    )

    with op.batch_alter_table('merchant_terminal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_terminal_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_merchant_terminal_store_id'), ['store_id'], unique=False)

    op.create_table('merchant_terminal_key',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('terminal_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=255), nullable=True),
    sa.Column('last_used_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['merchant_terminal.id'], name=op.f('fk_merchant_terminal_key_terminal_id_merchant_terminal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_terminal_key')),
    sa.UniqueConstraint('prefix', name=op.f('uq_merchant_terminal_key_prefix'))
    )

    with op.batch_alter_table('merchant_terminal_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_terminal_key_terminal_id'), ['terminal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('merchant_terminal_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_terminal_key_terminal_id'))

    op.drop_table('merchant_terminal_key')

    with op.batch_alter_table('merchant_terminal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_terminal_store_id'))
        batch_op.drop_index(batch_op.f('ix_merchant_terminal_merchant_id'))

    op.drop_table('merchant_terminal')

    with op.batch_alter_table('merchant_store', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_store_region'))
        batch_op.drop_index(batch_op.f('ix_merchant_store_merchant_id'))

    op.drop_table('merchant_store')

    with op.batch_alter_table('merchant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_status'))
        batch_op.drop_index(batch_op.f('ix_merchant_region'))
        batch_op.drop_index('ix_merchant_org_path')
        batch_op.drop_index(batch_op.f('ix_merchant_org_id'))
        batch_op.drop_index(batch_op.f('ix_merchant_display_name'))
        batch_op.drop_index(batch_op.f('ix_merchant_category'))

    op.drop_table('merchant')
