"""registration questions: an event's own questions, their choices, the answers

Revision ID: 0010_registration_questions
Revises: 0009_reminders
Create Date: 2026-11-26 14:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_registration_questions'
down_revision = '0009_reminders'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'questions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('short_text', 'long_text', 'single_choice', 'multiple_choice', 'yes_no',
                                  name='questionkind', native_enum=False, length=20), nullable=False),
        sa.Column('label', sa.String(length=300), nullable=False),
        sa.Column('help_text', sa.String(length=1000), nullable=False),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE',
                                name=op.f('fk_questions_event_id_events')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_questions')),
    )
    op.create_index('ix_questions_event_position', 'questions', ['event_id', 'position'], unique=False)
    op.create_table(
        'question_choices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('hidden', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], ondelete='CASCADE',
                                name=op.f('fk_question_choices_question_id_questions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_question_choices')),
    )
    op.create_index(op.f('ix_question_choices_question_id'), 'question_choices', ['question_id'], unique=False)
    op.create_table(
        'answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('yes', sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], ondelete='CASCADE',
                                name=op.f('fk_answers_registration_id_registrations')),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], ondelete='CASCADE',
                                name=op.f('fk_answers_question_id_questions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_answers')),
        sa.UniqueConstraint('registration_id', 'question_id', name='uq_answers_registration_question'),
    )
    op.create_index('ix_answers_question_id', 'answers', ['question_id'], unique=False)
    op.create_table(
        'answer_choices',
        sa.Column('answer_id', sa.Integer(), nullable=False),
        sa.Column('choice_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['answer_id'], ['answers.id'], ondelete='CASCADE',
                                name=op.f('fk_answer_choices_answer_id_answers')),
        sa.ForeignKeyConstraint(['choice_id'], ['question_choices.id'],
                                name=op.f('fk_answer_choices_choice_id_question_choices')),
        sa.PrimaryKeyConstraint('answer_id', 'choice_id', name=op.f('pk_answer_choices')),
    )
    op.create_index('ix_answer_choices_choice_id', 'answer_choices', ['choice_id', 'answer_id'], unique=False)


def downgrade():
    op.drop_index('ix_answer_choices_choice_id', table_name='answer_choices')
    op.drop_table('answer_choices')
    op.drop_index('ix_answers_question_id', table_name='answers')
    op.drop_table('answers')
    op.drop_index(op.f('ix_question_choices_question_id'), table_name='question_choices')
    op.drop_table('question_choices')
    op.drop_index('ix_questions_event_position', table_name='questions')
    op.drop_table('questions')
