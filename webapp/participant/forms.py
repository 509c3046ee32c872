"""Forms of the participant pages, the survey form built per person among them. Pages whose form
is only a button (cancel, leave the waiting list, answer an offer) need no form class: CSRFProtect
checks their `csrf_token()` field."""
from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, StopValidation

from ..formatting import LANGUAGE_NAMES
from ..forms import AnsweringForm, Form, ParticipantDetailsForm, QuestionAnswerField, RegistrationForm
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


class SurveyAnswerField(QuestionAnswerField):
    """The answer to one survey question, checked by `services.survey_answers.read_answer`; its
    options are radio buttons (rating, scale, yes/no, single choice) or checkboxes."""

    text_max_length = survey_answers.TEXT_MAX_LENGTH

    def __init__(self, label=None, validators=None, *, question, **kwargs):
        super().__init__(label, validators, description=question.help_text, **kwargs)
        self.question = question
        if question.required:
            self.flags.required = True

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


class SurveyForm(AnsweringForm):
    """A survey's questions for one person; built by `survey_form`."""

    field_order = ()


def survey_form(questions, answers):
    """A SurveyForm class with one field per question (`question_<id>`); `answers`: the person's
    previous answers (question id -> list of strings), the initial data."""
    fields = {f"question_{question.id}": SurveyAnswerField(question.label, question=question,
                                                            default=answers.get(question.id, []))
              for question in questions}
    return type("SurveyForm", (SurveyForm,), dict(fields, field_order=tuple(fields)))
