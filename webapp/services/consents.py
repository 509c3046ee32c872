"""What people agreed to when they registered, with the version of the privacy text they read:
the use of their data for the registration (needed to register) and, separately and only when
they ticked it, news from the network. News consent is withdrawn in one click (`withdraw_news`)."""
from flask import current_app
from sqlalchemy import insert, select, update

from ..extensions import db
from ..models import Consent, ConsentPurpose, Registration
from ..models.base import utcnow


def record_at_registration(registration, news):
    """Record the person's consents on their new registration, in one INSERT. Not committed."""
    version = current_app.config["PRIVACY_TEXT_VERSION"]
    purposes = [ConsentPurpose.privacy_notice] + ([ConsentPurpose.network_news] if news else [])
    db.session.connection().execute(_INSERT_CONSENT, [
        dict(registration_id=registration.id, purpose=purpose, text_version=version,
             given_at=registration.privacy_consent_at)
        for purpose in purposes])


# On the table (SQLAlchemy Core), built once: it runs on every registration.
_INSERT_CONSENT = insert(Consent.__table__)


def has_news(registration):
    """Whether the person agreed to news from the network and has not withdrawn it. Reads the
    registration's consents: loaded once with a batch of mails, else on first use."""
    return any(consent.purpose == ConsentPurpose.network_news and consent.withdrawn_at is None
               for consent in registration.consents)


def withdraw_news(registration):
    """Withdraw the news consent of every registration of the person's address (or of this
    registration alone, for a person without an address); idempotent. Commits; returns how many
    consents were withdrawn."""
    if registration.email is None:
        registrations = [registration.id]
    else:
        registrations = select(Registration.id).where(Registration.email == registration.email)
    result = db.session.execute(
        update(Consent)
        .where(Consent.registration_id.in_(registrations), Consent.purpose == ConsentPurpose.network_news,
               Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow()).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount
