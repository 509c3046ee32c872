"""Waiting-list tasks: offer freed seats, expire unanswered offers."""
from webapp.services import seats
from webapp.services.dispatch import EXPIRE_SEAT_OFFERS, OFFER_FREE_SEATS

from . import celery_app


@celery_app.task(name=OFFER_FREE_SEATS)
def offer_free_seats(event_id):
    seats.offer_free_seats(event_id)


@celery_app.task(name=EXPIRE_SEAT_OFFERS)
def expire_seat_offers():
    seats.expire_seat_offers()
