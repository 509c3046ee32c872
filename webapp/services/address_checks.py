"""The cap on mails that check an address (« confirm your address », and the lost links to an
address whose registrations are all pending: they carry confirmation links): at most
CONFIRM_MAILS_PER_ADDRESS_PER_HOUR per address and hour, counted in the outbox (every lost-links
mail counts), so that nobody can flood someone's inbox with the public forms. The address is
locked until commit first: concurrent submissions count one by one."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select

from ..database import lock_until_commit
from ..extensions import db
from ..models import OutboxMail
from ..models.base import utcnow

ADDRESS_CHECK_KINDS = ("confirm_address", "lost_links")


def may_check_address(email):
    """Whether one more mail checking `email` may be queued in this transaction. Locks the address
    until commit, so that the caller's mail counts before another transaction counts."""
    email = email.strip().lower()
    lock_until_commit(f"address-checks:{email}")
    queued = db.session.connection().scalar(_QUEUED_CHECKS, {"email": email, "since": utcnow() - timedelta(hours=1)})
    return queued < current_app.config["CONFIRM_MAILS_PER_ADDRESS_PER_HOUR"]


# Built once, on the table (SQLAlchemy Core): it runs on every registration.
_OUTBOX = OutboxMail.__table__
_QUEUED_CHECKS = select(func.count()).select_from(_OUTBOX).where(
    _OUTBOX.c.recipient == bindparam("email"),
    _OUTBOX.c.kind.in_(ADDRESS_CHECK_KINDS),
    _OUTBOX.c.created_at > bindparam("since"),
)
