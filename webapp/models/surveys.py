"""Post-event surveys: one per event, its questions and choices, who was invited, the responses.

Invitations and responses are kept apart. `SurveyParticipant` is one row per invited
registration and holds only the fact of having started or answered (for the reminder).
`SurveyResponse` holds the answers; its `respondent_key` makes one response per person a unique
constraint of the database. In an anonymous survey that key is a keyed hash of the participant
(HMAC with the server's secret, which organisers cannot reverse) and nothing else links a response
to a person: the primary key is a random UUID (no order matching the invitations) and the only date
is the day. A named survey keeps the registration (`registration_id`) for the exports.
"""
import enum
import uuid
from datetime import time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


def _enum(cls):
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


def _uuid():
    return str(uuid.uuid4())


class SurveyStatus(enum.StrEnum):
    draft = "draft"    # being prepared: nobody is invited
    active = "active"  # invitations go out at the invitation moment; open between opens_at and closes_at
    closed = "closed"  # closed by the organisers before closes_at


class SurveyQuestionKind(enum.StrEnum):
    rating = "rating"              # 1 to 5
    scale = "scale"                # 0 to 10 (« would you recommend… »: NPS)
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    yes_no = "yes_no"
    short_text = "short_text"
    long_text = "long_text"


CHOICE_KINDS = (SurveyQuestionKind.single_choice, SurveyQuestionKind.multiple_choice)
# The inclusive bounds of the numeric kinds.
NUMBER_RANGES = {SurveyQuestionKind.rating: (1, 5), SurveyQuestionKind.scale: (0, 10)}


class Survey(db.Model):
    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("reminder_days >= 0", name="reminder_days_positive"),
        CheckConstraint("invite_days_after >= 0", name="invite_days_after_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    intro: Mapped[str] = mapped_column(Text, default="", server_default="", nullable=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), nullable=False)
    status: Mapped[SurveyStatus] = mapped_column(_enum(SurveyStatus), default=SurveyStatus.draft, nullable=False)
    # The invitation moment: `invite_days_after` days after the event's end date, at `invite_time`
    # on the event's clock (default: the next morning at 09:00).
    invite_days_after: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)
    invite_time: Mapped[time] = mapped_column(Time, default=time(9, 0), nullable=False)
    # Answers are taken from opens_at (None: from the invitation) until closes_at (None: no end).
    opens_at = mapped_column(UTCDateTime)
    closes_at = mapped_column(UTCDateTime)
    # One reminder this many days after the invitation to those who neither answered nor started (0: none).
    reminder_days: Mapped[int] = mapped_column(Integer, default=4, server_default="4", nullable=False)
    # When beat sent the invitations and the reminder (each claimed once by a conditional UPDATE).
    invited_at = mapped_column(UTCDateTime)
    reminded_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    event = relationship("Event")
    questions = relationship("SurveyQuestion", back_populates="survey",
                             order_by="(SurveyQuestion.position, SurveyQuestion.id)",
                             cascade="all, delete-orphan", passive_deletes=True)

    def __repr__(self):
        return f"<Survey {self.id} {self.status.value}>"


class SurveyQuestion(db.Model):
    __tablename__ = "survey_questions"
    __table_args__ = (Index("ix_survey_questions_survey_position", "survey_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[SurveyQuestionKind] = mapped_column(_enum(SurveyQuestionKind), nullable=False)
    label: Mapped[str] = mapped_column(String(300), nullable=False)
    help_text: Mapped[str] = mapped_column(String(1000), default="", nullable=False)
    required: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # The order on the form: the smallest first.
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Asked only of the people booked on this workshop (None: asked of everyone).
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)

    survey = relationship("Survey", back_populates="questions")
    workshop = relationship("Workshop")
    choices = relationship("SurveyChoice", back_populates="question",
                           order_by="(SurveyChoice.position, SurveyChoice.id)",
                           cascade="all, delete-orphan", passive_deletes=True)

    @property
    def has_choices(self):
        return self.kind in CHOICE_KINDS

    @property
    def number_range(self):
        """(lowest, highest) for a rating or a scale, else None."""
        return NUMBER_RANGES.get(self.kind)

    def __repr__(self):
        return f"<SurveyQuestion {self.id} {self.kind.value}>"


class SurveyChoice(db.Model):
    __tablename__ = "survey_choices"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="CASCADE"),
                                             nullable=False, index=True)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # A stable key when the choice stands for something the app knows (an actor type of the
    # template's « with which kind of actor » question); None for the organisers' own choices.
    key: Mapped[str | None] = mapped_column(String(30))

    question = relationship("SurveyQuestion", back_populates="choices")

    def __repr__(self):
        return f"<SurveyChoice {self.id}>"


class SurveyParticipant(db.Model):
    """One invited registration: when it was invited and reminded, whether the person started
    answering or answered. Never joined to a response of an anonymous survey."""
    __tablename__ = "survey_participants"
    __table_args__ = (UniqueConstraint("survey_id", "registration_id", name="uq_survey_participants_survey_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"),
                                                 nullable=False, index=True)
    invited_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    reminded_at = mapped_column(UTCDateTime)
    started: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # sent the form, even with mistakes
    answered: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Part of the personal link: raising it revokes the links sent so far.
    token_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1", nullable=False)

    survey = relationship("Survey")
    registration = relationship("Registration")

    def __repr__(self):
        return f"<SurveyParticipant {self.survey_id}:{self.registration_id}>"


class SurveyResponse(db.Model):
    __tablename__ = "survey_responses"
    __table_args__ = (
        # One response per person, whatever the number of tabs or replays.
        UniqueConstraint("survey_id", "respondent_key", name="uq_survey_responses_survey_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False)
    # Anonymous survey: HMAC of the participant (64 hex digits). Named survey: the registration id.
    respondent_key: Mapped[str] = mapped_column(String(64), nullable=False)
    # Named surveys only (None in an anonymous survey).
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id", ondelete="SET NULL"))
    # The respondent's actor type (a key of ACTOR_TYPES), for results split by family of actors.
    actor_type: Mapped[str] = mapped_column(String(30), nullable=False)
    # The day of the first answer: no finer time, so that timing cannot tell who answered.
    answered_on = mapped_column(Date, nullable=False)

    survey = relationship("Survey")
    answers = relationship("SurveyAnswer", back_populates="response", cascade="all, delete-orphan",
                           passive_deletes=True)

    def __repr__(self):
        return f"<SurveyResponse {self.id}>"


# The choices of each answer. No cascade from the choice: a chosen choice cannot be deleted.
survey_answer_choices = Table(
    "survey_answer_choices", db.metadata,
    Column("answer_id", ForeignKey("survey_answers.id", ondelete="CASCADE"), primary_key=True),
    Column("choice_id", ForeignKey("survey_choices.id"), primary_key=True),
    Index("ix_survey_answer_choices_choice_id", "choice_id", "answer_id"),
)


class SurveyAnswer(db.Model):
    """One answered question of a response: `number` (rating, scale), `yes` (yes/no), `text`
    (short and long text), `choices` (single and multiple choice)."""
    __tablename__ = "survey_answers"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id", name="uq_survey_answers_response_id"),
        Index("ix_survey_answers_question_id", "question_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    response_id: Mapped[str] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"), nullable=False)
    question_id: Mapped[int] = mapped_column(ForeignKey("survey_questions.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[int | None] = mapped_column(Integer)
    yes: Mapped[bool | None] = mapped_column(Boolean)
    text: Mapped[str] = mapped_column(Text, default="", nullable=False)

    response = relationship("SurveyResponse", back_populates="answers")
    question = relationship("SurveyQuestion")
    choices = relationship("SurveyChoice", secondary=survey_answer_choices,
                           order_by="(SurveyChoice.position, SurveyChoice.id)")

    def __repr__(self):
        return f"<SurveyAnswer {self.question_id}>"
