"""The unsubscribe and undeliverable lists of bulk mail (organiser mailings, survey invitations).

An address is kept only as a keyed hash (HMAC-SHA256 with SECRET_KEY): the lists can answer « is
this address suppressed? » without holding the address in clear, so an unsubscribed address stays
unsubscribed after the person's data is erased. Changing SECRET_KEY empties the lists in effect.
Transactional mail (everything a registration's life causes) never looks at them.
"""
import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, func, select

from ..database import insert_ignoring_conflicts
from ..extensions import db
from ..models import JournalAction, Registration, Suppression, SuppressionReason
from ..models.base import utcnow
from . import journal

# Hashes looked up in one query at most.
LOOKUP_CHUNK = 500


def address_hash(address):
    """The keyed hash that stands for `address` in the lists (case and spaces ignored)."""
    key = current_app.config["SECRET_KEY"].encode()
    normalised = address.strip().lower().encode()
    return hmac.new(key, b"emgav-suppression:" + normalised, hashlib.sha256).hexdigest()


def suppress(address_or_hash, reason, detail="", *, hashed=False):
    """Put an address (or its hash) on the list of `reason`; idempotent (INSERT … ON CONFLICT DO
    NOTHING). Not committed."""
    digest = address_or_hash if hashed else address_hash(address_or_hash)
    db.session.execute(insert_ignoring_conflicts(Suppression, ["address_hash", "reason"]).values(
        address_hash=digest, reason=SuppressionReason(reason), detail=detail[:500], created_at=utcnow()))
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
    for entry in _entries_among(list(by_hash)):
        found.add(entry.address_hash)
    return {by_hash[digest] for digest in found}


def _entries_among(hashes):
    for start in range(0, len(hashes), LOOKUP_CHUNK):
        yield from db.session.scalars(
            select(Suppression).where(Suppression.address_hash.in_(hashes[start:start + LOOKUP_CHUNK])))


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


@dataclass(frozen=True)
class KnownEntry:
    """An entry of a list whose hash matches an address registered for events an account can see."""
    entry: Suppression
    address: str
    events: list  # those events


@dataclass(frozen=True)
class ListsView:
    known: list           # KnownEntry, newest first
    totals: dict          # SuppressionReason -> entries on that list
    others: dict          # SuppressionReason -> entries that match none of the account's addresses


def lists_seen_for(events):
    """What an account that sees `events` may see of the lists: the lists keep only hashes, so the
    entries shown are those matching an address registered for one of these events."""
    events = {event.id: event for event in events}
    addresses = {}  # hash -> (address as first seen, {event id})
    for address, event_id in db.session.execute(
            select(Registration.email, Registration.event_id)
            .where(Registration.event_id.in_(list(events)), Registration.email.is_not(None))):
        digest = address_hash(address)
        addresses.setdefault(digest, (address, set()))[1].add(event_id)
    known = [KnownEntry(entry, addresses[entry.address_hash][0],
                        [events[event_id] for event_id in sorted(addresses[entry.address_hash][1])])
             for entry in _entries_among(list(addresses))]
    known.sort(key=lambda item: (item.entry.created_at, item.entry.id), reverse=True)
    totals = dict(db.session.execute(select(Suppression.reason, func.count()).group_by(Suppression.reason)).all())
    totals = {reason: totals.get(reason, 0) for reason in SuppressionReason}
    others = {reason: totals[reason] - sum(1 for item in known if item.entry.reason == reason)
              for reason in SuppressionReason}
    return ListsView(known, totals, others)


def lift_seen_for(events, user, entry_id):
    """Take an entry off its list, if its hash matches an address registered for one of `events`
    (those `user` can see); journalled on those events. Commits; returns the KnownEntry lifted, or None."""
    item = next((item for item in lists_seen_for(events).known if item.entry.id == entry_id), None)
    if item is None:
        return None
    lift(item.entry.address_hash, item.entry.reason)
    for event in item.events:
        journal.record(event, user, JournalAction.suppression_lifted, email=item.address,
                       reason=item.entry.reason.value)
    db.session.commit()
    return item
