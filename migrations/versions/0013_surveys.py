"""surveys: post-event surveys, their questions and choices, the invited people, the responses

Revision ID: 0013_surveys
Revises: 0012_mailings
Create Date: 2026-11-26 23:10:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_surveys'
down_revision = '0012_mailings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'surveys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('intro', sa.Text(), server_default='', nullable=False),
        sa.Column('anonymous', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('status', sa.Enum('draft', 'active', 'closed', name='surveystatus', native_enum=False, length=20), nullable=False),
        sa.Column('invite_days_after', sa.Integer(), server_default='1', nullable=False),
        sa.Column('invite_time', sa.Time(), nullable=False),
        sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reminder_days', sa.Integer(), server_default='4', nullable=False),
        sa.Column('invited_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('invite_days_after >= 0', name=op.f('ck_surveys_invite_days_after_positive')),
        sa.CheckConstraint('reminder_days >= 0', name=op.f('ck_surveys_reminder_days_positive')),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_surveys_event_id_events'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
        sa.UniqueConstraint('event_id', name=op.f('uq_surveys_event_id')),
    )
    op.create_table(
        'survey_participants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('invited_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('started', sa.Boolean(), nullable=False),
        sa.Column('answered', sa.Boolean(), nullable=False),
        sa.Column('token_version', sa.Integer(), server_default='1', nullable=False),
        sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_survey_participants_registration_id_registrations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_survey_participants_survey_id_surveys'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_participants')),
        sa.UniqueConstraint('survey_id', 'registration_id', name='uq_survey_participants_survey_id'),
    )
    op.create_index(op.f('ix_survey_participants_registration_id'), 'survey_participants', ['registration_id'], unique=False)
    op.create_table(
        'survey_questions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('rating', 'scale', 'single_choice', 'multiple_choice', 'yes_no', 'short_text', 'long_text', name='surveyquestionkind', native_enum=False, length=20), nullable=False),
        sa.Column('label', sa.String(length=300), nullable=False),
        sa.Column('help_text', sa.String(length=1000), nullable=False),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('workshop_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_survey_questions_survey_id_surveys'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workshop_id'], ['workshops.id'], name=op.f('fk_survey_questions_workshop_id_workshops'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_questions')),
    )
    op.create_index('ix_survey_questions_survey_position', 'survey_questions', ['survey_id', 'position'], unique=False)
    op.create_index(op.f('ix_survey_questions_workshop_id'), 'survey_questions', ['workshop_id'], unique=False)
    op.create_table(
        'survey_responses',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('respondent_key', sa.String(length=64), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=True),
        sa.Column('actor_type', sa.String(length=30), nullable=False),
        sa.Column('answered_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_survey_responses_registration_id_registrations'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_survey_responses_survey_id_surveys'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
        sa.UniqueConstraint('survey_id', 'respondent_key', name='uq_survey_responses_survey_id'),
    )
    op.create_table(
        'survey_answers',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('response_id', sa.String(length=36), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=True),
        sa.Column('yes', sa.Boolean(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['question_id'], ['survey_questions.id'], name=op.f('fk_survey_answers_question_id_survey_questions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_survey_answers_response_id_survey_responses'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
        sa.UniqueConstraint('response_id', 'question_id', name='uq_survey_answers_response_id'),
    )
    op.create_index('ix_survey_answers_question_id', 'survey_answers', ['question_id'], unique=False)
    op.create_table(
        'survey_choices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(['question_id'], ['survey_questions.id'], name=op.f('fk_survey_choices_question_id_survey_questions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_choices')),
    )
    op.create_index(op.f('ix_survey_choices_question_id'), 'survey_choices', ['question_id'], unique=False)
    op.create_table(
        'survey_answer_choices',
        sa.Column('answer_id', sa.String(length=36), nullable=False),
        sa.Column('choice_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['answer_id'], ['survey_answers.id'], name=op.f('fk_survey_answer_choices_answer_id_survey_answers'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['choice_id'], ['survey_choices.id'], name=op.f('fk_survey_answer_choices_choice_id_survey_choices')),
        sa.PrimaryKeyConstraint('answer_id', 'choice_id', name=op.f('pk_survey_answer_choices')),
    )
    op.create_index('ix_survey_answer_choices_choice_id', 'survey_answer_choices', ['choice_id', 'answer_id'], unique=False)


def downgrade():
    op.drop_index('ix_survey_answer_choices_choice_id', table_name='survey_answer_choices')
    op.drop_table('survey_answer_choices')
    op.drop_index(op.f('ix_survey_choices_question_id'), table_name='survey_choices')
    op.drop_table('survey_choices')
    op.drop_index('ix_survey_answers_question_id', table_name='survey_answers')
    op.drop_table('survey_answers')
    op.drop_table('survey_responses')
    op.drop_index(op.f('ix_survey_questions_workshop_id'), table_name='survey_questions')
    op.drop_index('ix_survey_questions_survey_position', table_name='survey_questions')
    op.drop_table('survey_questions')
    op.drop_index(op.f('ix_survey_participants_registration_id'), table_name='survey_participants')
    op.drop_table('survey_participants')
    op.drop_table('surveys')
