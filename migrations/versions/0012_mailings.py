"""mailings: organiser mailings, and the outbox rows of each (outbox.mailing_id)

Revision ID: 0012_mailings
Revises: 0011_suppressions
Create Date: 2026-11-26 23:20:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_mailings'
down_revision = '0011_suppressions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mailings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('audience', sa.JSON(), nullable=False),
        sa.Column('status', sa.Enum('draft', 'scheduled', 'sending', 'sent', 'cancelled', name='mailingstatus',
                                    native_enum=False, length=20), nullable=False),
        sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('recipients', sa.Integer(), server_default='0', nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE',
                                name=op.f('fk_mailings_event_id_events')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_mailings_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mailings')),
    )
    op.create_index(op.f('ix_mailings_event_id'), 'mailings', ['event_id'], unique=False)
    op.create_index('ix_mailings_status_scheduled_at', 'mailings', ['status', 'scheduled_at'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mailing_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_mailing_id'), ['mailing_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_mailing_id_mailings'), 'mailings', ['mailing_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_mailing_id_mailings'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_mailing_id'))
        batch_op.drop_column('mailing_id')
    op.drop_index('ix_mailings_status_scheduled_at', table_name='mailings')
    op.drop_index(op.f('ix_mailings_event_id'), table_name='mailings')
    op.drop_table('mailings')
