"""approval mode: events.approval_required, registrations.approval_requested_at and decided_at;
a declined registration no longer holds its (event, address)

Revision ID: 0007_approval_mode
Revises: 0005_checkins
Create Date: 2026-11-26 14:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_approval_mode'
down_revision = '0005_checkins'
branch_labels = None
depends_on = None

# As webapp.models.registrations.ACTIVE_EMAIL_WHERE (a migration keeps its own copy).
ACTIVE_EMAIL_WHERE = "status NOT IN ('cancelled', 'declined')"
BEFORE_WHERE = "status != 'cancelled'"


def _active_email_index(where):
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('uq_registrations_active_email')
        batch_op.create_index('uq_registrations_active_email', ['event_id', 'email'], unique=True,
                              sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_required', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
    _active_email_index(ACTIVE_EMAIL_WHERE)


def downgrade():
    # A declined registration counts as cancelled in the older schema.
    op.execute("UPDATE registrations SET status = 'cancelled' WHERE status = 'declined'")
    op.execute("UPDATE registrations SET status = 'pending' WHERE status = 'awaiting_approval'")
    _active_email_index(BEFORE_WHERE)
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('decided_at')
        batch_op.drop_column('approval_requested_at')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('approval_required')
