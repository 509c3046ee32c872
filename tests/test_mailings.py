"""Organiser mailings, the services: the audience and its filters (suppressed addresses left out or
withdrawn), the fan-out (one row per person, twice gives nothing more), placeholders filled in per
person and in their language, unknown ones refused, the test sent to oneself, scheduling and the
beat task run twice, cancelling, progress, retrying failed rows. Time travels; nothing sleeps."""
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from webapp.extensions import db
from webapp.mail import delivery, outbox
from webapp.mail.message import build_message
from webapp.models import Event, JournalEntry, Mailing, MailingStatus, OutboxMail, OutboxStatus, SuppressionReason, User
from webapp.services import checkin, mailings, suppressions
from webapp.services.errors import MailingError, MailingErrorCode
from webapp.services.mailings import Audience
from webapp.services.registration_list import Presence

from .support import make_user, person, plain, text_and_html
from .test_concurrency import create_event, run_together, target  # noqa: F401  (the fixture: SQLite and PostgreSQL)


@pytest.fixture
def ahead(app_ctx):
    """Two days ahead of the real clock, ticking."""
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2), tick=True):
        yield


@pytest.fixture
def organiser(app_ctx):
    return db.session.get(User, make_user("orga@bretagne-solidaire.bzh"))


@pytest.fixture
def event(make_event, ahead):
    workshop = dict(key="riaa", title="Agroécologie", starts_at=datetime.now(UTC) + timedelta(days=30),
                    ends_at=datetime.now(UTC) + timedelta(days=30, hours=1))
    return db.session.get(Event, make_event(workshops=[workshop], venue_name="Salle Pierre Mendès"))


BODY = "Bonjour {prénom} {nom},\n\nRendez-vous à **{lieu}** pour « {événement} », {date}.\n\n[Gérer]({lien})"


def draft(event, organiser, body=BODY, subject="Infos pratiques : {événement}", **audience):
    return mailings.create_draft(event, organiser, subject, body, Audience(**audience))


def rows(mailing):
    return db.session.scalars(select(OutboxMail).where(OutboxMail.mailing_id == mailing.id)
                              .order_by(OutboxMail.id)).all()


def sent_now(mailing, organiser):
    mailings.send_now(mailing, organiser)
    mailings.fan_out(mailing.id)
    db.session.refresh(mailing)
    return rows(mailing)


def test_fan_out_queues_one_row_per_confirmed_person_and_twice_gives_nothing_more(event, organiser):
    people = [person(event, name) for name in ("Anne", "Bob", "Chloé")]
    person(event, "Dora", confirm=False)  # address not confirmed: not in the default audience
    mailing = draft(event, organiser)
    assert mailings.audience_count(event, Audience()) == {"recipients": 3, "excluded": 0}

    queued = sent_now(mailing, organiser)
    assert [row.dedup_key for row in queued] == [f"mailing:{mailing.id}:{p.id}" for p in people]
    assert {row.status for row in queued} == {OutboxStatus.queued}
    assert {row.kind for row in queued} == {"organiser_mailing"}
    assert mailing.status == MailingStatus.sending and mailing.recipients == 3

    assert mailings.fan_out(mailing.id) == 0  # a second run (task retried, beat) changes nothing
    assert len(rows(mailing)) == 3
    actions = db.session.scalars(select(JournalEntry.action)).all()
    assert actions.count("mailing_sent") == 1


def test_a_fan_out_written_twice_keeps_one_row_per_key(event, organiser):
    anne, bob = person(event, "Anne"), person(event, "Bob")
    mailing = draft(event, organiser)
    mails = [(p.email, f"mailing:{mailing.id}:{p.id}", p.language, p.id, {"mailing_id": mailing.id})
             for p in (anne, bob)]
    first = outbox.queue_fan_out("organiser_mailing", mails, event=event, mailing=mailing)
    second = outbox.queue_fan_out("organiser_mailing", mails[::-1], event=event, mailing=mailing)
    db.session.commit()
    assert second == first[::-1] and len(rows(mailing)) == 2
    assert {row.registration_id for row in rows(mailing)} == {anne.id, bob.id}


def test_placeholders_are_filled_per_person_in_their_language(event, organiser):
    anne = person(event, "Anne")
    person(event, "Zoe", first_name="*Zoé* <b>", language="en")
    mailing = draft(event, organiser)
    french, english = sent_now(mailing, organiser)

    message = build_message(french)
    text, html = text_and_html(message)
    assert plain(message["Subject"]) == "Infos pratiques : " + event.title
    assert "Bonjour Anne Le Goff," in text and "Salle Pierre Mendès" in text and event.title in text
    assert "http://emgav.test/manage/" in text and 'href="http://emgav.test/manage/' in html
    assert re.search(r"<strong[^>]*>Salle Pierre Mendès, 15 rue Martenot, 35000 Rennes</strong>", html)
    assert anne.event.local_start.strftime("%Y") in text

    message = build_message(english)
    text, html = text_and_html(message)
    assert message["Content-Language"] == "en"
    assert "*Zoé* <b> Le Goff" in text  # a name adds no markup
    assert "<b>" not in html.replace("&lt;b&gt;", "") and "<em>Zoé</em>" not in html
    assert text.startswith("Hello *Zoé* <b>,")  # the layout in English
    assert event.local_start.strftime("%B") in text  # the date in English


def test_unknown_placeholders_are_refused_with_their_names(event, organiser):
    with pytest.raises(MailingError) as refused:
        draft(event, organiser, body="Bonjour {prenom}, à {date} ; {salle} et {prenom}")
    assert refused.value.code == MailingErrorCode.unknown_placeholder
    assert refused.value.names == ["prenom", "salle"]
    with pytest.raises(MailingError):
        draft(event, organiser, subject="{Événement}")
    assert db.session.scalars(select(Mailing)).all() == []


def test_audience_filters_and_lists(event, organiser):
    workshop = event.workshops[0]
    anne = person(event, "Anne", actor_type="ess", workshops=[workshop])
    bob = person(event, "Bob", actor_type="ess")
    chloe = person(event, "Chloé", actor_type="collectivite")
    checkin.check_in(bob, organiser)

    def names(**audience):
        chosen, _excluded = mailings.recipients(event, Audience(**audience))
        return [person.email.split("@")[0].capitalize() for person in chosen]

    assert names() == ["Anne", "Bob", "Chloé"]
    assert names(actor_type="ess") == ["Anne", "Bob"]
    assert names(workshop_id=workshop.id) == ["Anne"]
    assert names(presence=Presence.present) == ["Bob"]
    assert names(presence=Presence.absent) == ["Anne", "Chloé"]

    suppressions.suppress(chloe.email, SuppressionReason.unsubscribed)
    db.session.commit()
    assert mailings.audience_count(event, Audience()) == {"recipients": 2, "excluded": 1}
    mailing = draft(event, organiser)
    queued = sent_now(mailing, organiser)
    assert [row.recipient for row in queued] == [anne.email, bob.email]

    # Listed after the fan-out: withdrawn at sending time.
    suppressions.suppress(bob.email, SuppressionReason.undeliverable, "550 gone")
    db.session.commit()
    delivery.deliver(queued[1].id)
    db.session.refresh(queued[1])
    assert queued[1].status == OutboxStatus.cancelled


def test_cancel_leaves_what_is_not_sent_unsent(event, organiser, smtp_server):
    for name in ("Anne", "Bob", "Chloé"):
        person(event, name)
    mailing = draft(event, organiser)
    first, *others = sent_now(mailing, organiser)
    delivery.deliver(first.id)
    smtp_server.clear()

    assert mailings.cancel(mailing, organiser) == 2
    for row in others:
        delivery.deliver(row.id)  # a worker that still had the batch
    assert [row.status for row in rows(mailing)] == [OutboxStatus.sent, OutboxStatus.cancelled,
                                                     OutboxStatus.cancelled]
    assert smtp_server.messages == []
    assert mailing.status == MailingStatus.cancelled
    with pytest.raises(MailingError):
        mailings.cancel(mailing, organiser)
    progress = mailings.progress(mailing)
    assert (progress.total, progress.sent, progress.cancelled, progress.queued) == (3, 1, 2, 0)


def test_progress_then_sent_when_no_row_is_left_and_failed_rows_retried(event, organiser, smtp_server):
    person(event, "Anne")
    bob = person(event, "Bob")
    smtp_server.refuse(bob.email, "550 5.1.1 unknown")
    mailing = draft(event, organiser)
    first, second = sent_now(mailing, organiser)
    progress = mailings.progress(mailing)
    assert (progress.total, progress.queued, progress.sent) == (2, 2, 0)

    delivery.deliver_batch([first.id, second.id])
    progress = mailings.progress(mailing)
    assert (progress.queued, progress.sent, progress.failed) == (0, 1, 1)
    assert mailing.status == MailingStatus.sent and progress.per_minute > 0
    assert suppressions.reasons_for(bob.email) == {SuppressionReason.undeliverable}

    suppressions.lift(suppressions.address_hash(bob.email), SuppressionReason.undeliverable)
    smtp_server.clear()
    assert mailings.retry_failed(mailing, organiser) == [second.id]
    assert mailing.status == MailingStatus.sending
    delivery.deliver(second.id)
    assert mailings.progress(mailing).sent == 2 and mailing.status == MailingStatus.sent
    assert len(smtp_server.to(bob.email)) == 1


def test_a_test_goes_to_the_organiser_with_a_real_persons_data(event, organiser, smtp_server):
    mailing = draft(event, organiser)
    with pytest.raises(MailingError) as refused:
        mailings.send_test(mailing, organiser)
    assert refused.value.code == MailingErrorCode.no_recipient
    person(event, "Anne")
    row = db.session.get(OutboxMail, mailings.send_test(mailing, organiser))
    assert row.recipient == organiser.email and row.registration_id is None and row.mailing_id is None
    delivery.deliver(row.id)
    [message] = smtp_server.to(organiser.email)
    assert "Bonjour Anne Le Goff" in text_and_html(message)[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mailing.status == MailingStatus.draft  # a test changes nothing


def test_scheduled_mailing_goes_once_when_the_beat_runs_twice(event, organiser):
    person(event, "Anne")
    person(event, "Bob")
    mailing = draft(event, organiser)
    with pytest.raises(MailingError) as refused:
        mailings.schedule(mailing, organiser, datetime.now(UTC) - timedelta(minutes=1))
    assert refused.value.code == MailingErrorCode.past_moment
    moment = datetime.now(UTC) + timedelta(hours=3)
    mailings.schedule(mailing, organiser, moment)
    assert mailings.queue_due_mailings() == 0  # not yet
    with time_machine.travel(moment + timedelta(seconds=30), tick=False):
        assert mailings.queue_due_mailings() == 2
        assert mailings.queue_due_mailings() == 0
    assert len(rows(mailing)) == 2
    with pytest.raises(MailingError) as refused:
        mailings.update_draft(mailing, "x", "y", Audience())
    assert refused.value.code == MailingErrorCode.not_editable


def test_a_cancelled_scheduled_mailing_is_never_fanned_out(event, organiser):
    person(event, "Anne")
    mailing = draft(event, organiser)
    moment = datetime.now(UTC) + timedelta(hours=1)
    mailings.schedule(mailing, organiser, moment)
    mailings.cancel(mailing, organiser)
    with time_machine.travel(moment + timedelta(minutes=1), tick=False):
        assert mailings.queue_due_mailings() == 0
    assert rows(mailing) == []


def test_four_fan_outs_at_once_queue_the_mailing_once(target):  # noqa: F811
    """Four runs released together (own sessions and connections): the conditional UPDATE lets one
    of them queue the rows; the others find the mailing sending and queue nothing."""
    _env, app = target
    with app.test_request_context():
        event = create_event(capacity=None)
        for name in ("Anne", "Bob", "Chloé"):
            person(event, name, email=f"{name.lower()}.{event.id}@example.org")
        mailing = mailings.create_draft(event, None, "Infos", "Bonjour {prénom}", Audience())
        mailings.schedule(mailing, None, datetime.now(UTC) + timedelta(minutes=1))
        mailing_id = mailing.id
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2), tick=True):
        queued = run_together(app, [lambda: mailings.fan_out(mailing_id)] * 4)
    assert sorted(queued) == [0, 0, 0, 3], queued
    with app.app_context():
        assert len(rows(db.session.get(Mailing, mailing_id))) == 3

