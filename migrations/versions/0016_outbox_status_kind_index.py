"""outbox: an index on (status, kind, next_attempt_at), for the transactional mails waiting for a worker

Revision ID: 0016_outbox_status_kind_index
Revises: 0015_outbox_recipient_index
Create Date: 2026-11-27 06:30:00
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016_outbox_status_kind_index'
down_revision = '0015_outbox_recipient_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_outbox_status_kind_next_attempt', 'outbox', ['status', 'kind', 'next_attempt_at'])


def downgrade():
    op.drop_index('ix_outbox_status_kind_next_attempt', table_name='outbox')
