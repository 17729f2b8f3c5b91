"""Merchant API: the scan log (personal data, purged after its retention) and reversal requests.

Revision ID: 0006_scan_log
Revises: 0005_jobs_roster
Create Date: 2026-11-28
"""

import advanced_alchemy
import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0006_scan_log"
down_revision = "0005_jobs_roster"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('merchant_scan_log',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('merchant_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('store_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('terminal_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('card_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('member_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('result', sa.String(length=32), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_scan_log'))
    )
    with op.batch_alter_table('merchant_scan_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_scan_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_merchant_scan_log_merchant_id'), ['merchant_id'], unique=False)

    op.create_table('merchant_reversal_request',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('merchant_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('redemption_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('terminal_id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('reversed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merchant_reversal_request')),
    sa.UniqueConstraint('merchant_id', 'idempotency_key', name=op.f('uq_merchant_reversal_request_merchant_id'))
    )
    with op.batch_alter_table('merchant_reversal_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merchant_reversal_request_redemption_id'), ['redemption_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('merchant_reversal_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_reversal_request_redemption_id'))
    op.drop_table('merchant_reversal_request')
    with op.batch_alter_table('merchant_scan_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merchant_scan_log_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_merchant_scan_log_at'))
    op.drop_table('merchant_scan_log')
