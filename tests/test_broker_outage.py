"""With Redis down, registering still works; the mail goes out once Redis is back, through the
outbox sweeper of the (real) Celery worker, which must survive the outage."""

import pytest
import redis
from kombu.exceptions import OperationalError
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Event, OutboxMail, OutboxStatus, Registration

from . import support


def outbox_of(email):
    """(status of each outbox row of this address), without keeping the SQLite lock."""
    statuses = db.session.scalars(
        select(OutboxMail.status).join(Registration).where(Registration.email == email)
    ).all()
    db.session.rollback()
    return statuses


def test_registration_during_a_broker_outage_is_mailed_when_it_is_back(
    worker, redis_server, smtp_server, client, app_ctx, make_event
):
    slug = db.session.get(Event, make_event()).slug
    db.session.rollback()
    form = f"/events/{slug}/register"
    token = support.csrf_token(client, form)

    redis_server.stop()
    try:
        response = client.post(form, data=support.registration_form(
            csrf_token=token, first_name="Gwen", last_name="Kervella", email="gwen@example.org",
            organisation="Bretagne Solidaire", actor_type="asi"))
        assert response.status_code == 303
        assert client.get(response.headers["Location"]).status_code == 200
        assert outbox_of("gwen@example.org") == [OutboxStatus.queued]
        assert worker.proc.poll() is None
    finally:
        redis_server.start()

    # Nothing reached the broker: only the sweeper (beat, every 30 s) can send this mail.
    [mail] = smtp_server.wait_for("gwen@example.org", kind="confirm_address", timeout=180)
    assert "http://emgav.test/confirm/" in support.mail_text(mail)
    support.wait_until(lambda: outbox_of("gwen@example.org") == [OutboxStatus.sent], message="the row marked sent")
    assert worker.proc.poll() is None


def test_tasks_are_published_through_one_redis_client_and_again_after_an_outage(app, redis_server, monkeypatch):
    """kombu's Redis channel makes a new client for every message it publishes; Emgav's
    (dispatch.RedisTransport) keeps one per connection pool, which reconnects once Redis is back."""
    queue, name = redis.Redis.from_url(redis_server.url), "test-one-client"
    celery = app.extensions["celery"]
    made = []
    make_client = redis.Redis.__init__

    def counted(self, *args, **kwargs):
        made.append(self)
        make_client(self, *args, **kwargs)

    def publish():
        celery.send_task("emgav.nothing", args=[1], queue=name)

    monkeypatch.setattr(redis.Redis, "__init__", counted)
    try:
        publish()  # the producer and its connection pool are made at the first message
        made.clear()
        for _ in range(20):
            publish()
        assert made == []
        assert queue.llen(name) == 21

        redis_server.stop()
        try:
            with pytest.raises(OperationalError, match="Connection refused"):
                publish()
        finally:
            redis_server.start()
        publish()
        assert queue.llen(name) == 1  # a new server: only the message sent once it was back
    finally:
        queue.delete(name)
