"""suppressions: the unsubscribe and undeliverable lists of bulk mail, by hashed address

Revision ID: 0011_suppressions
Revises: 0010_registration_questions
Create Date: 2026-11-26 16:50:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011_suppressions'
down_revision = '0010_registration_questions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'suppressions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address_hash', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.Enum('unsubscribed', 'undeliverable', name='suppressionreason', native_enum=False,
                                    length=20), nullable=False),
        sa.Column('detail', sa.Text(), server_default='', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressions')),
        sa.UniqueConstraint('address_hash', 'reason', name=op.f('uq_suppressions_address_hash')),
    )


def downgrade():
    op.drop_table('suppressions')
