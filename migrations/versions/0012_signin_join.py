"""Staff sign-in throttled instead of locked (the lock-out columns go); join applications get a
review flag for duplicates, which the one-pending-per-ID-number index leaves out.

Revision ID: 0012_signin_join
Revises: 0011_facts
Create Date: 2026-12-07
"""

import advanced_alchemy
import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0012_signin_join"
down_revision = "0011_facts"
branch_labels = None
depends_on = None

OLD_WHERE = "status = 'pending'"
NEW_WHERE = "status = 'pending' AND review_flag IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
    with op.batch_alter_table("join_application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_flag", sa.String(length=16), nullable=True))
        batch_op.drop_index(
            "uq_join_application_pending_id",
            postgresql_where=sa.text(OLD_WHERE),
            sqlite_where=sa.text(OLD_WHERE),
        )
        batch_op.create_index(
            "uq_join_application_pending_id",
            ["id_number_hash"],
            unique=True,
            postgresql_where=sa.text(NEW_WHERE),
            sqlite_where=sa.text(NEW_WHERE),
        )


def downgrade() -> None:
    # Flagged duplicates would break the narrower index: they are closed first.
    op.execute(
        "UPDATE join_application SET status = 'rejected' "
        "WHERE status = 'pending' AND review_flag IS NOT NULL"
    )
    with op.batch_alter_table("join_application", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_join_application_pending_id",
            postgresql_where=sa.text(NEW_WHERE),
            sqlite_where=sa.text(NEW_WHERE),
        )
        batch_op.create_index(
            "uq_join_application_pending_id",
            ["id_number_hash"],
            unique=True,
            postgresql_where=sa.text(OLD_WHERE),
            sqlite_where=sa.text(OLD_WHERE),
        )
        batch_op.drop_column("review_flag")
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "locked_until",
                advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
