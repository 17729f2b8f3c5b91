"""Privacy (PIPL): members' erasure mark, birth date nullable once erased, periodic jobs.

Revision ID: 0009_privacy
Revises: 0007_service_requests
Create Date: 2026-11-27
"""

import advanced_alchemy
import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0009_privacy"
down_revision = "0007_service_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_schedule',
    sa.Column('id', advanced_alchemy.types.guid.GUID(length=16), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('next_run_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('last_job_id', advanced_alchemy.types.guid.GUID(length=16), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_schedule')),
    sa.UniqueConstraint('name', name=op.f('uq_job_schedule_name'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True))
        batch_op.alter_column('birth_date', existing_type=sa.DATE(), nullable=True)


def downgrade() -> None:
    # Erased members have no birth date; they get a placeholder so the column can be NOT NULL.
    op.execute("UPDATE member SET birth_date = '1900-01-01' WHERE birth_date IS NULL")
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.alter_column('birth_date', existing_type=sa.DATE(), nullable=False)
        batch_op.drop_column('erased_at')
    op.drop_table('job_schedule')
