"""An event's own registration questions, their choices, and each registration's answers.

An answer is one row per (registration, question): `text` for the text questions, `yes` for a
yes/no question, and, for the choice questions, one row per chosen choice in `answer_choices`
(indexed by choice: the back office filters registrations by the answer to a choice question).
A choice that people chose cannot be deleted (the foreign key of `answer_choices` refuses it):
`hidden`, it is no longer offered to new registrations, and the answers given stay.
"""
import enum

from sqlalchemy import Boolean, Column, Enum, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class QuestionKind(enum.StrEnum):
    short_text = "short_text"
    long_text = "long_text"
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    yes_no = "yes_no"


CHOICE_KINDS = (QuestionKind.single_choice, QuestionKind.multiple_choice)
# The kinds whose answers the registration list can filter on.
FILTER_KINDS = (*CHOICE_KINDS, QuestionKind.yes_no)


class Question(db.Model):
    __tablename__ = "questions"
    __table_args__ = (Index("ix_questions_event_position", "event_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[QuestionKind] = mapped_column(
        Enum(QuestionKind, native_enum=False, length=20, validate_strings=True), nullable=False)
    label: Mapped[str] = mapped_column(String(300), nullable=False)
    help_text: Mapped[str] = mapped_column(String(1000), default="", nullable=False)
    required: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # The order on the forms: the smallest first.
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    event = relationship("Event", back_populates="questions")
    choices = relationship("QuestionChoice", back_populates="question", order_by="(QuestionChoice.position, "
                           "QuestionChoice.id)", cascade="all, delete-orphan", passive_deletes=True)

    @property
    def has_choices(self):
        return self.kind in CHOICE_KINDS

    def offered_choices(self, chosen_ids=()):
        """The choices a form offers: those not hidden, and the hidden ones among `chosen_ids`
        (a person keeps the answer they gave)."""
        return [c for c in self.choices if not c.hidden or c.id in chosen_ids]

    def __repr__(self):
        return f"<Question {self.id} {self.kind.value}>"


class QuestionChoice(db.Model):
    __tablename__ = "question_choices"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), nullable=False,
                                             index=True)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Removed by the organisers after people chose it: no longer offered, the answers stay.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    question = relationship("Question", back_populates="choices")

    def __repr__(self):
        return f"<QuestionChoice {self.id}>"


# The choices of each answer. No cascade from the choice: a chosen choice cannot be deleted.
answer_choices = Table(
    "answer_choices", db.metadata,
    Column("answer_id", ForeignKey("answers.id", ondelete="CASCADE"), primary_key=True),
    Column("choice_id", ForeignKey("question_choices.id"), primary_key=True),
    Index("ix_answer_choices_choice_id", "choice_id", "answer_id"),
)


class Answer(db.Model):
    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("registration_id", "question_id", name="uq_answers_registration_question"),
        Index("ix_answers_question_id", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"),
                                                 nullable=False)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), nullable=False)
    text: Mapped[str] = mapped_column(Text, default="", nullable=False)
    yes: Mapped[bool | None] = mapped_column(Boolean)  # yes/no questions

    registration = relationship("Registration", back_populates="answers")
    question = relationship("Question")
    choices = relationship("QuestionChoice", secondary=answer_choices,
                           order_by="(QuestionChoice.position, QuestionChoice.id)")

    def __repr__(self):
        return f"<Answer {self.registration_id}:{self.question_id}>"
