"""events.content_language: the language of the organisers' texts (default French)

Revision ID: 0003_event_content_language
Revises: 0002_organiser_accounts
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_event_content_language"
down_revision = "0002_organiser_accounts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("content_language", sa.String(length=5), server_default="fr", nullable=False))


def downgrade():
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("content_language")
