"""Forms of the participant pages, the survey form built per person among them. Pages whose form
is only a button (cancel, leave the waiting list, answer an offer) need no form class: CSRFProtect
checks their `csrf_token()` field."""
from flask_babel import lazy_gettext as _l
from wtforms import Field, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, StopValidation

from ..formatting import LANGUAGE_NAMES
from ..forms import Form, ParticipantDetailsForm, RegistrationForm
from ..models import SurveyQuestionKind
from ..services import survey_answers


class ManageForm(ParticipantDetailsForm):
    """The registration's details as the person may change them from the manage link."""

    language = RadioField(
        _l("Langue des courriels"), choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
        validators=[DataRequired(_l("Choisissez une langue."))],
    )

    field_order = ("first_name", "last_name", "organisation", "actor_type", "language", "workshops")


class LostLinkForm(Form):
    """"I lost my link": the address, checked like on the registration form, and the same honeypot."""

    email = RegistrationForm.email
    website = RegistrationForm.website


class SurveyAnswerField(Field):
    """The answer to one survey question as the form sends it (a list of strings), checked by
    `services.survey_answers.read_answer`. Rendered by `answer_fields` (_forms.html): a text input
    or area, or a group of radio buttons (rating, scale, yes/no, single choice) or checkboxes."""

    def __init__(self, label=None, validators=None, *, question, **kwargs):
        super().__init__(label, validators, description=question.help_text, **kwargs)
        self.question = question
        if question.required:
            self.flags.required = True

    def process_formdata(self, valuelist):
        self.data = list(valuelist)

    def _value(self):
        return self.data[0] if self.data else ""

    @property
    def is_text(self):
        return self.question.kind in survey_answers.TEXT_MAX_LENGTH

    @property
    def max_length(self):
        return survey_answers.TEXT_MAX_LENGTH.get(self.question.kind)

    @property
    def first_input_id(self):
        """The input the error summary links to: the first option of a group."""
        return self.id if self.is_text else f"{self.id}-0"

    def options(self):
        """(value, label) of each radio button or checkbox."""
        if self.question.number_range is not None:
            low, high = self.question.number_range
            return [(str(number), str(number)) for number in range(low, high + 1)]
        if self.question.kind == SurveyQuestionKind.yes_no:
            return [(survey_answers.YES, _l("Oui")), (survey_answers.NO, _l("Non"))]
        return [(str(choice.id), choice.label) for choice in self.question.choices]

    def pre_validate(self, form):
        try:
            survey_answers.read_answer(self.question, self.data)
        except survey_answers.AnswerError as error:
            raise StopValidation(str(error)) from None


class SurveyForm(Form):
    """A survey's questions for one person; built by `survey_form`."""

    field_order = ()

    def answer_fields(self):
        return [field for field in self if isinstance(field, SurveyAnswerField)]

    def answers(self):
        """{question id: list of strings} as sent."""
        return {field.question.id: field.data or [] for field in self.answer_fields()}

    def refuse_answers(self, error):
        """Show the problems of a survey_answers.AnswersError next to their questions."""
        for field in self.answer_fields():
            if field.question.id in error.errors:
                field.errors = [*field.errors, error.errors[field.question.id]]


def survey_form(questions, answers):
    """A SurveyForm class with one field per question (`question_<id>`); `answers`: the person's
    previous answers (question id -> list of strings), the initial data."""
    fields = {f"question_{question.id}": SurveyAnswerField(question.label, question=question,
                                                            default=answers.get(question.id, []))
              for question in questions}
    return type("SurveyForm", (SurveyForm,), dict(fields, field_order=tuple(fields)))
