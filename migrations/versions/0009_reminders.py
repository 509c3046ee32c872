"""reminders: reminder offsets of each event and their state, events.practical_info, events.reminders_enabled

Revision ID: 0009_reminders
Revises: 0008_checkin_walk_ins
Create Date: 2026-11-26 13:15:00

Existing events get the default reminders (7 days and 1 day before, at 09:00 on the event's
clock); those whose moment has passed are marked skipped, so that nothing is sent late.
"""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009_reminders'
down_revision = '0008_checkin_walk_ins'
branch_labels = None
depends_on = None

# As webapp.services.reminders (a migration keeps its own copy).
DEFAULT_DAYS = (7, 1)
SEND_AT = time(9, 0)


def _due_at(starts_at, timezone, days_before):
    if starts_at.tzinfo is None:  # SQLite gives naive UTC
        starts_at = starts_at.replace(tzinfo=UTC)
    tz = ZoneInfo(timezone)
    day = starts_at.astimezone(tz).date() - timedelta(days=days_before)
    return datetime.combine(day, SEND_AT, tzinfo=tz).astimezone(UTC)


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('practical_info', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('reminders_enabled', sa.Boolean(), server_default=sa.true(), nullable=False))

    reminders = op.create_table(
        'reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('days_before', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.Enum('planned', 'sent', 'skipped', name='reminderstatus', native_enum=False,
                                    length=20), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('recipients', sa.Integer(), server_default='0', nullable=False),
        sa.CheckConstraint('days_before >= 1', name=op.f('ck_reminders_days_before_positive')),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE',
                                name=op.f('fk_reminders_event_id_events')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
        sa.UniqueConstraint('event_id', 'days_before', name=op.f('uq_reminders_event_id')),
    )
    op.create_index('ix_reminders_status_due_at', 'reminders', ['status', 'due_at'], unique=False)

    connection = op.get_bind()
    events = sa.table('events', sa.column('id', sa.Integer), sa.column('starts_at', sa.DateTime(timezone=True)),
                      sa.column('timezone', sa.String))
    now = datetime.now(UTC)
    rows = []
    for event_id, starts_at, timezone in connection.execute(sa.select(events.c.id, events.c.starts_at,
                                                                      events.c.timezone)).all():
        for days in DEFAULT_DAYS:
            due_at = _due_at(starts_at, timezone, days)
            rows.append({"event_id": event_id, "days_before": days, "due_at": due_at,
                         "status": "planned" if due_at > now else "skipped", "recipients": 0})
    if rows:
        if connection.dialect.name == "sqlite":  # stored as naive UTC there (webapp.models.base.UTCDateTime)
            rows = [dict(row, due_at=row["due_at"].replace(tzinfo=None)) for row in rows]
        op.bulk_insert(reminders, rows)


def downgrade():
    op.drop_index('ix_reminders_status_due_at', table_name='reminders')
    op.drop_table('reminders')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('reminders_enabled')
        batch_op.drop_column('practical_info')
