"""An event's mails as its organisers need them: counted by kind and status, the ones in
trouble with their SMTP error, each person's mails, and sending failed mails again."""
from sqlalchemy import func, select

from ..extensions import db
from ..mail import outbox
from ..models import JournalAction, OutboxMail, OutboxStatus
from . import journal

# Mails in trouble shown at most on one page (the oldest first: they have waited longest).
TROUBLE_LIMIT = 200


def counts(event):
    """{kind: {OutboxStatus: number}} of the event's mails."""
    rows = db.session.execute(
        select(OutboxMail.kind, OutboxMail.status, func.count())
        .where(OutboxMail.event_id == event.id).group_by(OutboxMail.kind, OutboxMail.status)
    )
    result = {}
    for kind, status, number in rows:
        result.setdefault(kind, {})[status] = number
    return result


def mails_in(event, status, limit=TROUBLE_LIMIT):
    """The event's mails in `status` (failed, or retrying after a temporary error), oldest first."""
    return db.session.scalars(
        select(OutboxMail).where(OutboxMail.event_id == event.id, OutboxMail.status == status)
        .order_by(OutboxMail.created_at, OutboxMail.id).limit(limit)
    ).all()


def registration_mails(registration):
    """Every mail about one registration, in the order they were queued."""
    return db.session.scalars(
        select(OutboxMail).where(OutboxMail.registration_id == registration.id)
        .order_by(OutboxMail.created_at, OutboxMail.id)
    ).all()


def retry_failed(event, by, row_ids=None):
    """Send failed mails of the event again: those of `row_ids`, or all of them (None). Rows of
    other events, or no longer failed, are left alone. Journalled as done by `by` when any mail
    is requeued. Commits; returns the ids requeued."""
    query = select(OutboxMail.id).where(OutboxMail.event_id == event.id, OutboxMail.status == OutboxStatus.failed)
    if row_ids is not None:
        query = query.where(OutboxMail.id.in_(list(row_ids)))
    requeued = outbox.requeue_failed(db.session.scalars(query).all())
    if requeued:
        journal.record(event, by, JournalAction.mails_requeued, count=len(requeued), outbox_ids=requeued)
    db.session.commit()
    return requeued
