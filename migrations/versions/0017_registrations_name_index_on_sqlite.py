"""registrations: the name index again on SQLite, where later batch operations dropped it

SQLite cannot reflect an index on expressions, so the batch operations of 0005, 0007, 0008 and
0014, which rebuild the registrations table from what they reflect, lost
ix_registrations_event_name (0004). PostgreSQL alters the table in place and kept it.

Revision ID: 0017_registrations_name_index
Revises: 0016_outbox_status_kind_index
Create Date: 2026-11-28 05:30:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017_registrations_name_index'
down_revision = '0016_outbox_status_kind_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_registrations_event_name', 'registrations',
                    ['event_id', sa.text('lower(last_name)'), sa.text('lower(first_name)')], unique=False,
                    if_not_exists=True)


def downgrade():
    pass  # the index belongs to 0004, whose downgrade drops it
