"""Benefits: programme budget counters may be split into stripes (benefit_counter.stripes).

Revision ID: 0008_budget_stripes
Revises: 0007_service_requests
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_budget_stripes"
down_revision = "0007_service_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing counters are single rows: a layout of one stripe.
    with op.batch_alter_table("benefit_counter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stripes", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    # Fold every striped counter back into its stripe 0 ("p") before dropping the layout, so a
    # downgraded engine sees one row holding the whole of what was used (it never overspends;
    # reversing a striped redemption afterwards gives back to a stripe that is gone, which
    # reconciliation reports).
    op.execute(
        """
        UPDATE benefit_counter SET used = used + COALESCE((
            SELECT SUM(s.used) FROM benefit_counter s
            WHERE s.program_id = benefit_counter.program_id
              AND s.policy_key = benefit_counter.policy_key
              AND s.metric = benefit_counter.metric
              AND s.period_key = benefit_counter.period_key
              AND s.scope_key LIKE 'p#%'), 0)
        WHERE scope_key = 'p' AND stripes > 1
        """
    )
    op.execute("DELETE FROM benefit_counter WHERE scope_key LIKE 'p#%'")
    with op.batch_alter_table("benefit_counter", schema=None) as batch_op:
        batch_op.drop_column("stripes")
