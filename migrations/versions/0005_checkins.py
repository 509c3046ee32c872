"""check-ins: a check-in code per registration, the check-ins table

Revision ID: 0005_checkins
Revises: 0004_registration_list
Create Date: 2026-11-26 13:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_checkins'
down_revision = '0004_registration_list'
branch_labels = None
depends_on = None

# As webapp.models.registrations.new_checkin_code (a migration keeps its own copy).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_code', sa.String(length=12), nullable=True))
    connection = op.get_bind()
    registrations = sa.table('registrations', sa.column('id', sa.Integer), sa.column('checkin_code', sa.String))
    for (registration_id,) in connection.execute(sa.select(registrations.c.id)).all():
        code = "".join(secrets.choice(ALPHABET) for _ in range(12))
        connection.execute(registrations.update().where(registrations.c.id == registration_id)
                           .values(checkin_code=code))
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.alter_column('checkin_code', existing_type=sa.String(length=12), nullable=False)
        batch_op.create_unique_constraint('uq_registrations_checkin_code', ['checkin_code'])

    op.create_table(
        'checkins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], ondelete='CASCADE',
                                name=op.f('fk_checkins_registration_id_registrations')),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE',
                                name=op.f('fk_checkins_event_id_events')),
        sa.ForeignKeyConstraint(['checked_in_by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_checkins_checked_in_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins')),
        sa.UniqueConstraint('registration_id', name=op.f('uq_checkins_registration_id')),
    )
    op.create_index('ix_checkins_event_checked_in', 'checkins', ['event_id', 'checked_in_at'], unique=False)


def downgrade():
    op.drop_index('ix_checkins_event_checked_in', table_name='checkins')
    op.drop_table('checkins')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint('uq_registrations_checkin_code', type_='unique')
        batch_op.drop_column('checkin_code')
