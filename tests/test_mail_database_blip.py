"""A database connection lost while a worker sends a mail: the mail is recorded « sent » once
the SMTP server took it, never left `sending` for the sweeper to send again (PostgreSQL)."""
from datetime import timedelta

import psycopg
import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import select

from webapp import create_app
from webapp.extensions import db
from webapp.mail import delivery, sweeper
from webapp.models import Event, EventStatus, OutboxMail, OutboxStatus
from webapp.models.base import utcnow

from . import support


class TerminatingHandler:
    """An SMTP server that, while it receives a mail, ends every other connection to the
    database under test (as `pg_terminate_backend` by an operator, or a failover, would)."""

    def __init__(self, database):
        self.database = database
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):
        with psycopg.connect(support.PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()", [self.database])
        self.accepted.append(envelope.content)
        return "250 Message accepted"


@pytest.fixture
def blip(pg_env):
    database = pg_env["DATABASE_URL"].rsplit("/", 1)[1]
    handler = TerminatingHandler(database)
    controller = Controller(handler, hostname="127.0.0.1", port=support.free_port())
    controller.start()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": pg_env["DATABASE_URL"],
                      "SMTP_PORT": controller.port})
    with app.test_request_context():
        yield handler
        db.session.remove()
        db.engine.dispose()
    controller.stop()


def test_a_lost_connection_after_the_smtp_server_took_the_mail_sends_it_once(blip):
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    event = Event(slug="journee", title="Journée régionale", starts_at=start, ends_at=start + timedelta(hours=8),
                  contact_email="contact@bretagne-solidaire.bzh", status=EventStatus.published)
    db.session.add(event)
    db.session.commit()
    registration = support.person(event, confirm=False)
    row_id = db.session.scalars(select(OutboxMail.id).where(OutboxMail.registration_id == registration.id)).one()

    delivery.deliver(row_id)

    db.session.remove()
    row = db.session.get(OutboxMail, row_id)
    assert (row.status, len(blip.accepted)) == (OutboxStatus.sent, 1)
    # Long after, the sweeper finds nothing to send again.
    with time_machine.travel(utcnow() + timedelta(hours=1)):
        assert sweeper.sweep_outbox() == []
        delivery.deliver(row_id)
    assert len(blip.accepted) == 1
