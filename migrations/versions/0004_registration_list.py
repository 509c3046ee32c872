"""registration list: indexes for the back office's lists, waiting-list priority

Revision ID: 0004_registration_list
Revises: 0003_event_content_language
Create Date: 2026-11-28 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004_registration_list'
down_revision = '0003_event_content_language'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_registrations_event_name', 'registrations',
                    ['event_id', sa.text('lower(last_name)'), sa.text('lower(first_name)')], unique=False)
    op.create_index('ix_registrations_event_created', 'registrations', ['event_id', 'created_at'], unique=False)
    op.create_index('ix_workshop_bookings_registration_id', 'workshop_bookings', ['registration_id'], unique=False)
    op.create_index('ix_outbox_event_status_kind', 'outbox', ['event_id', 'status', 'kind'], unique=False)


def downgrade():
    op.drop_index('ix_outbox_event_status_kind', table_name='outbox')
    op.drop_index('ix_workshop_bookings_registration_id', table_name='workshop_bookings')
    op.drop_index('ix_registrations_event_created', table_name='registrations')
    # Gone already on SQLite, whose batch operations (0005 down) drop an index on expressions.
    op.drop_index('ix_registrations_event_name', table_name='registrations', if_exists=True)
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('priority_at')
