"""privacy: consents, the personal-data access journal, erasure and anonymisation of registrations

Revision ID: 0014_privacy
Revises: 0013_surveys
Create Date: 2026-11-26 23:20:00
"""
import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = '0014_privacy'
down_revision = '0013_surveys'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations') as batch_op:
        batch_op.add_column(sa.Column('person_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('erasure_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
    # Every registration's person key, as webapp/services/person_keys.py computes it (kept here as
    # it is today: a migration does not follow later changes of the code).
    key = current_app.config['SECRET_KEY'].encode()
    connection = op.get_bind()
    registrations = sa.table('registrations', sa.column('id', sa.Integer), sa.column('email', sa.String),
                             sa.column('person_key', sa.String))
    rows = connection.execute(sa.select(registrations.c.id, registrations.c.email)
                              .where(registrations.c.email.is_not(None))).all()
    for registration_id, email in rows:
        digest = hmac.new(key, b'emgav-person:' + email.strip().lower().encode(), hashlib.sha256).hexdigest()
        connection.execute(registrations.update().where(registrations.c.id == registration_id)
                           .values(person_key=digest))
    op.create_table(
        'consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.Enum('privacy_notice', 'network_news', name='consentpurpose', native_enum=False,
                                     length=20), nullable=False),
        sa.Column('text_version', sa.String(length=40), nullable=False),
        sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'],
                                name=op.f('fk_consents_registration_id_registrations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consents')),
    )
    op.create_index('ix_consents_registration_id', 'consents', ['registration_id'])
    op.create_table(
        'data_access_journal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.Enum('viewed', 'exported', 'erased', name='dataaccessaction', native_enum=False,
                                    length=20), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('registration_id', sa.Integer(), nullable=True),
        sa.Column('count', sa.Integer(), server_default='1', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_data_access_journal_event_id_events'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'],
                                name=op.f('fk_data_access_journal_registration_id_registrations'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_data_access_journal_user_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_access_journal')),
    )
    op.create_index('ix_data_access_journal_created_at', 'data_access_journal', ['created_at'])


def downgrade():
    op.drop_index('ix_data_access_journal_created_at', table_name='data_access_journal')
    op.drop_table('data_access_journal')
    op.drop_index('ix_consents_registration_id', table_name='consents')
    op.drop_table('consents')
    with op.batch_alter_table('registrations') as batch_op:
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('erasure_requested_at')
        batch_op.drop_column('person_key')
