"""Inviting people to a survey, and reminding them once (the beat task, every minute).

- Invitations: an active survey whose invitation moment has come (`surveys.invitation_moment`), of
  a published event, is claimed by one conditional UPDATE of `surveys.invited_at` (of two beat runs
  at once, one wins), in the transaction that adds one `SurveyParticipant` per person and queues
  their mail (`survey_invitation`, de-duplicated by `survey:<id>:invite:<registration id>`). The
  people: those checked in at the door when check-in was used for the event, otherwise those who
  held a seat; never an address on the unsubscribe or undeliverable list, never a person without
  an address. Each mail in the person's language.
- The reminder: `reminder_days` after the invitations (0: none), claimed the same way through
  `surveys.reminded_at`, to the participants who neither answered nor started answering (sent the form)
  (`survey_reminder`, `survey:<id>:remind:<registration id>`). At sending time a reminder to a
  person who answered meanwhile is withdrawn.
- Both are bulk mail: rows queued without their own task, handed to the workers in batches.
"""
import logging

from sqlalchemy import exists, select

from ..database import update_where
from ..extensions import db
from ..mail.outbox import enqueue_batches, queue_mail
from ..models import (
    CheckIn,
    Event,
    EventStatus,
    Registration,
    RegistrationStatus,
    Survey,
    SurveyParticipant,
    SurveyStatus,
)
from ..models.base import utcnow
from . import suppressions
from .surveys import invitation_moment, is_open, reminder_moment

log = logging.getLogger(__name__)

INVITATION_MAIL = "survey_invitation"
REMINDER_MAIL = "survey_reminder"


def invitation_key(survey_id, registration_id):
    return f"survey:{survey_id}:invite:{registration_id}"


def reminder_key(survey_id, registration_id):
    return f"survey:{survey_id}:remind:{registration_id}"


def recipients(event):
    """The people to invite: checked in when check-in was used for the event, otherwise confirmed;
    with an address that is on no suppression list."""
    checkin_used = db.session.scalar(select(exists().where(CheckIn.event_id == event.id)))
    query = select(Registration).where(Registration.event_id == event.id, Registration.email.is_not(None))
    if checkin_used:
        query = query.join(CheckIn, CheckIn.registration_id == Registration.id)
    else:
        query = query.where(Registration.status == RegistrationStatus.confirmed)
    people = db.session.scalars(query.order_by(Registration.id)).all()
    suppressed = suppressions.suppressed_among([person.email for person in people])
    return [person for person in people if person.email not in suppressed]


def _active_surveys(*conditions):
    return db.session.scalars(
        select(Survey).join(Survey.event)
        .where(Survey.status == SurveyStatus.active, Event.status == EventStatus.published, *conditions)
        .order_by(Survey.id)).all()


def queue_due_invitations(now=None):
    """Invite the people of every survey whose moment has come (the beat task); returns how many
    mails were queued. Safe to run twice, or in two processes at once. Commits each survey on its own."""
    now = now or utcnow()
    due = [survey.id for survey in _active_surveys(Survey.invited_at.is_(None))
           if invitation_moment(survey) <= now and (survey.closes_at is None or now < survey.closes_at)]
    db.session.rollback()
    return sum(_invite(survey_id, now) for survey_id in due)


def _invite(survey_id, now):
    if not update_where(Survey, Survey.id == survey_id, Survey.invited_at.is_(None),
                        Survey.status == SurveyStatus.active, invited_at=now):
        db.session.rollback()
        return 0
    survey = db.session.get(Survey, survey_id)
    people = recipients(survey.event)
    participants = [SurveyParticipant(survey_id=survey_id, registration=person, invited_at=now) for person in people]
    db.session.add_all(participants)
    db.session.flush()
    row_ids = [queue_mail(INVITATION_MAIL, participant.registration.email,
                          invitation_key(survey_id, participant.registration_id),
                          language=participant.registration.language, registration=participant.registration,
                          payload={"participant_id": participant.id}, enqueue=False)
               for participant in participants]
    enqueue_batches(row_ids)
    db.session.commit()
    log.info("survey %s: %d invitation(s) queued", survey_id, len(row_ids))
    return len(row_ids)


def queue_due_reminders(now=None):
    """Remind the people who neither answered nor started, once per survey (the beat task);
    returns how many mails were queued. Safe to run twice. Commits each survey on its own."""
    now = now or utcnow()
    due = [survey.id for survey in _active_surveys(Survey.invited_at.is_not(None), Survey.reminded_at.is_(None),
                                                   Survey.reminder_days > 0)
           if reminder_moment(survey) <= now and is_open(survey, now)]
    db.session.rollback()
    return sum(_remind(survey_id, now) for survey_id in due)


def _remind(survey_id, now):
    if not update_where(Survey, Survey.id == survey_id, Survey.reminded_at.is_(None), reminded_at=now):
        db.session.rollback()
        return 0
    participants = db.session.scalars(
        select(SurveyParticipant).where(SurveyParticipant.survey_id == survey_id,
                                        SurveyParticipant.answered.is_(False), SurveyParticipant.started.is_(False))
        .order_by(SurveyParticipant.id)).all()
    people = [p for p in participants if p.registration.email is not None]
    suppressed = suppressions.suppressed_among([p.registration.email for p in people])
    row_ids = []
    for participant in people:
        registration = participant.registration
        if registration.email in suppressed:
            continue
        participant.reminded_at = now
        row_ids.append(queue_mail(REMINDER_MAIL, registration.email, reminder_key(survey_id, registration.id),
                                  language=registration.language, registration=registration,
                                  payload={"participant_id": participant.id}, enqueue=False))
    enqueue_batches(row_ids)
    db.session.commit()
    log.info("survey %s: %d reminder(s) queued", survey_id, len(row_ids))
    return len(row_ids)
