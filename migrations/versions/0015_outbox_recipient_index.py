"""outbox: an index on (recipient, created_at), for the hourly cap on the mails checking an address

Revision ID: 0015_outbox_recipient_index
Revises: 0014_privacy
Create Date: 2026-11-27 00:00:00
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_outbox_recipient_index'
down_revision = '0014_privacy'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_outbox_recipient_created', 'outbox', ['recipient', 'created_at'])


def downgrade():
    op.drop_index('ix_outbox_recipient_created', table_name='outbox')
