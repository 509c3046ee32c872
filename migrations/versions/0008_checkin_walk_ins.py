"""check-in at the door: walk-ins (an address becomes optional), the check-in's request id

Revision ID: 0008_checkin_walk_ins
Revises: 0007_approval_mode
Create Date: 2026-11-26 13:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_checkin_walk_ins'
down_revision = '0007_approval_mode'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=True)
        batch_op.add_column(sa.Column('walk_in', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_column('request_id')
    op.execute("DELETE FROM registrations WHERE email IS NULL")
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('walk_in')
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=False)
