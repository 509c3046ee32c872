"""The unsubscribe and undeliverable lists of bulk mail (organiser mailings, survey invitations).

An address is kept only as a keyed hash (HMAC-SHA256 with SECRET_KEY): the lists can answer « is
this address suppressed? » without holding the address in clear, so an unsubscribed address stays
unsubscribed after the person's data is erased. Changing SECRET_KEY empties the lists in effect.
Transactional mail (everything a registration's life causes) never looks at them.
"""
import hashlib
import hmac

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Suppression, SuppressionReason
from ..models.base import utcnow


def address_hash(address):
    """The keyed hash that stands for `address` in the lists (case and spaces ignored)."""
    key = current_app.config["SECRET_KEY"].encode()
    normalised = address.strip().lower().encode()
    return hmac.new(key, b"emgav-suppression:" + normalised, hashlib.sha256).hexdigest()


def suppress(address_or_hash, reason, detail="", *, hashed=False):
    """Put an address (or its hash) on the list of `reason`; idempotent (INSERT … ON CONFLICT DO
    NOTHING). Not committed."""
    digest = address_or_hash if hashed else address_hash(address_or_hash)
    session = db.session
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(Suppression)
        .values(address_hash=digest, reason=SuppressionReason(reason), detail=detail[:500], created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["address_hash", "reason"])
    )
    return digest


def lift(digest, reason):
    """Take a hashed address off the list of `reason`; True if it was there. Not committed."""
    result = db.session.execute(
        delete(Suppression).where(Suppression.address_hash == digest, Suppression.reason == SuppressionReason(reason))
    )
    return bool(result.rowcount)


def reasons_for(address):
    """The lists `address` is on (an empty set: bulk mail may go to it)."""
    return set(db.session.scalars(
        select(Suppression.reason).where(Suppression.address_hash == address_hash(address))
    ))


def suppressed_among(addresses):
    """The addresses of `addresses` that are on a list: for choosing the recipients of a fan-out."""
    by_hash = {address_hash(address): address for address in addresses}
    found = set()
    hashes = list(by_hash)
    for start in range(0, len(hashes), 500):
        found.update(db.session.scalars(
            select(Suppression.address_hash).where(Suppression.address_hash.in_(hashes[start:start + 500]))
        ))
    return {by_hash[digest] for digest in found}


def listed(reason):
    """The entries of one list, newest first."""
    return db.session.scalars(
        select(Suppression).where(Suppression.reason == SuppressionReason(reason))
        .order_by(Suppression.created_at.desc(), Suppression.id.desc())
    ).all()


def unsubscribe(digest):
    """The person behind an unsubscribe link asked to stop bulk mail; idempotent. Commits."""
    suppress(digest, SuppressionReason.unsubscribed, hashed=True)
    db.session.commit()
