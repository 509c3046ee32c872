"""Hand work to the Celery workers, by task name, once the database transaction has committed.

The web side never imports `tasks`: it only knows task names. If the broker is down, the
task is dropped with a warning; the outbox sweeper (a beat task) picks the work up later.
"""
import logging

from celery import Celery, Task
from kombu import Queue
from kombu.transport import redis as kombu_redis
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

DELIVER_MAIL = "emgav.deliver_mail"
DELIVER_MAIL_BATCH = "emgav.deliver_mail_batch"  # bulk mail: a batch of rows over one SMTP connection
SWEEP_OUTBOX = "emgav.sweep_outbox"
OFFER_FREE_SEATS = "emgav.offer_free_seats"
EXPIRE_SEAT_OFFERS = "emgav.expire_seat_offers"
SEND_LOST_LINKS = "emgav.send_lost_links"
SEND_PASSWORD_RESET = "emgav.send_password_reset"
QUEUE_DUE_REMINDERS = "emgav.queue_due_reminders"
FAN_OUT_MAILING = "emgav.fan_out_mailing"  # queue the rows of a mailing sent now (on the bulk queue)
QUEUE_DUE_MAILINGS = "emgav.queue_due_mailings"
QUEUE_DUE_SURVEY_MAILS = "emgav.queue_due_survey_mails"
APPLY_RETENTION = "emgav.apply_retention"

# Transactional mail and every other task travel on Celery's default queue; batches of bulk mail
# on their own, so that a large mailing never delays a confirmation. A worker started without
# `-Q` consumes both; `-Q bulk` or `-Q celery` dedicates one.
DEFAULT_QUEUE = "celery"
BULK_QUEUE = "bulk"

_PENDING_KEY = "emgav_tasks_after_commit"


def celery_init_app(app):
    """Flask's "Celery background tasks" pattern: one Celery app bound to the Flask app."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    timeout = app.config["BROKER_CONNECT_TIMEOUT"]
    broker_url = app.config["CELERY_BROKER_URL"] or app.config["REDIS_URL"]
    # Socket timeouts are Redis options; other transports (the embedded SQLAlchemy broker of
    # `emgav dev`) would pass them on to their own driver, which refuses them.
    # `max_retries: 0`: with Redis down, publishing fails at once instead of retrying inside the
    # web request for BROKER_CONNECT_TIMEOUT seconds (the outbox sweeper sends the mail later).
    redis_options = {"socket_connect_timeout": timeout, "socket_timeout": timeout, "max_retries": 0}
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(
        broker_url=broker_url,
        broker_transport=RedisTransport if broker_url.startswith("redis://") else None,
        broker_connection_timeout=timeout,
        broker_connection_retry_on_startup=True,
        broker_transport_options=redis_options if broker_url.startswith(("redis", "rediss")) else {},
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_publish_retry=False,
        task_queues=(Queue(DEFAULT_QUEUE), Queue(BULK_QUEUE)),
        task_default_queue=DEFAULT_QUEUE,
        task_routes={DELIVER_MAIL_BATCH: {"queue": BULK_QUEUE}, FAN_OUT_MAILING: {"queue": BULK_QUEUE}},
        timezone="UTC",
        beat_schedule={
            "sweep-outbox": {"task": SWEEP_OUTBOX, "schedule": 30.0},
            "expire-seat-offers": {"task": EXPIRE_SEAT_OFFERS, "schedule": 60.0},
            "queue-due-reminders": {"task": QUEUE_DUE_REMINDERS, "schedule": 60.0},
            "queue-due-mailings": {"task": QUEUE_DUE_MAILINGS, "schedule": 30.0},
            "queue-due-survey-mails": {"task": QUEUE_DUE_SURVEY_MAILS, "schedule": 60.0},
            "apply-retention": {"task": APPLY_RETENTION, "schedule": 3600.0},
        },
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


class _RedisChannel(kombu_redis.Channel):
    """kombu's Redis channel, with one client for its connection pool instead of a new one for
    each command: a client is only a front to the pool, and making one (its table of ~170 reply
    parsers) was a third of the cost of publishing a task, in every request that queues a mail."""

    _pool_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        client = self._pool_client
        if client is None or client.connection_pool is not self.pool:  # none yet, or the pool was reset
            client = self._pool_client = super()._create_client()
        return client


class RedisTransport(kombu_redis.Transport):
    """The transport of `redis://` brokers (`rediss://` keeps kombu's, which sets up TLS from the scheme)."""

    Channel = _RedisChannel


def enqueue_after_commit(session, task_name, *args):
    """Send `task_name(*args)` to the workers once `session` commits (dropped on rollback)."""
    pending = session.info.setdefault(_PENDING_KEY, [])
    if (task_name, args) not in pending:
        pending.append((task_name, args))


def send_task(task_name, *args):
    """Send a task now; returns False (and logs) when the broker cannot be reached."""
    from flask import current_app

    try:
        # `declare=[]`: the workers declare the queues they consume, and a message for one of them
        # goes straight into it; kombu would otherwise check, for every message, that this
        # connection declared the queue.
        current_app.extensions["celery"].send_task(task_name, args=list(args), declare=[])
        return True
    except Exception as exc:  # broker down: the sweeper will catch up
        log.warning("could not enqueue %s: %s", task_name, exc)  # args may hold an address
        return False


@event.listens_for(Session, "after_commit")
def _send_pending_tasks(session):
    for task_name, args in session.info.pop(_PENDING_KEY, []):
        if not send_task(task_name, *args):
            break  # the broker is down: do not wait for it once per task


@event.listens_for(Session, "after_rollback")
def _drop_pending_tasks(session):
    session.info.pop(_PENDING_KEY, None)
