"""Seat pools (an event, or one of its workshops): atomic seat taking and the waiting list.

A pool row carries `capacity`, `seats_taken` and `waiting_count`. Seats are only ever taken
with one conditional UPDATE, so the check and the take are one step on SQLite and
PostgreSQL alike: the database, not Python, decides who gets the last seat. A newcomer
cannot take a seat while people are waiting (`waiting_count = 0`): freed seats go to the
waiting list first, through offers (see `offer_free_seats`).
"""
from sqlalchemy import update

from ..extensions import db


def take_seat(pool):
    """Take one seat of `pool` (an Event or a Workshop) if one is free; True on success."""
    model = type(pool)
    result = db.session.execute(
        update(model)
        .where(model.id == pool.id)
        .where((model.capacity.is_(None)) | ((model.seats_taken < model.capacity) & (model.waiting_count == 0)))
        .values(seats_taken=model.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(pool, ["seats_taken", "waiting_count"])
    return result.rowcount == 1


def join_waiting_list(pool):
    """Count one more person waiting for `pool`."""
    model = type(pool)
    db.session.execute(
        update(model)
        .where(model.id == pool.id)
        .values(waiting_count=model.waiting_count + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(pool, ["seats_taken", "waiting_count"])


# --- Waiting list (issue "Seats you can trust"). ---

def release_seat(pool):
    """Give back one seat of `pool`, then have a worker offer it to the first person waiting."""
    raise NotImplementedError


def offer_free_seats(event_id):
    """Offer every free seat of the event and its workshops to the people waiting, in order."""
    raise NotImplementedError


def expire_seat_offers():
    """Expire offers past their time and pass each seat on to the next person."""
    raise NotImplementedError


def offer_from_token(token):
    """The open SeatOffer behind an offer link, or raise tokens.InvalidLink / RegistrationError."""
    raise NotImplementedError


def accept_offer(offer):
    """Accept: the held seat becomes the person's; confirmation with invite is queued. Commits."""
    raise NotImplementedError


def decline_offer(offer):
    """Decline: the seat goes to the next person waiting. Commits."""
    raise NotImplementedError
