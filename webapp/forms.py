"""The base form of the app, and the participant forms shared by the registration page and the
manage page.

Messages are French msgids (the default language), translated to English by the catalogue.
"""
import functools
import time
import unicodedata

from babel import support
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import FileStorage, MultiDict
from wtforms import BooleanField, Field, FileField, HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .models import ACTOR_TYPES, QuestionKind
from .services import questions as registration_questions

# RFC 5321: the part of an address before the @ has 64 characters at most.
LOCAL_PART_MAX_LENGTH = 64


class Form(FlaskForm):
    """Base of every form of the app.

    A file part sent for a field that is not a file field (`curl -F 'first_name=@a.txt'`) is
    invalid input: it is left out of the form's data and that field gets an error, so the page
    answers like for any other mistake instead of handing a file to validators that expect text.
    """

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            """WTForms' own messages in the page's language, read once per language (Flask-WTF
            reads its catalogue again for every request). WTF_I18N_ENABLED=False turns them off, as
            in Flask-WTF."""
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_translations(str(get_locale()))

        def wrap_formdata(self, form, formdata):
            formdata = super().wrap_formdata(form, formdata)
            text_fields = {field.name for field in form if not isinstance(field, FileField)}
            form.file_parts_in_text_fields = set()
            if formdata is None:
                return None
            kept = MultiDict()
            for name, value in formdata.items(multi=True):
                if isinstance(value, FileStorage) and name in text_fields:
                    form.file_parts_in_text_fields.add(name)
                else:
                    kept.add(name, value)
            return kept

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        for field in self:
            if field.name in self.file_parts_in_text_fields:
                field.errors.append(_l("Ce champ attend du texte, pas un fichier."))
        return valid and not self.file_parts_in_text_fields


@functools.cache
def _wtforms_translations(locale):
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def _forbidden_in_names(ch):
    """Line breaks and other control characters (they would break mail headers), and < >."""
    return ch in "<>" or unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def _single_line(form, field):
    if field.data and any(_forbidden_in_names(ch) for ch in field.data):
        raise ValidationError(_l("Ce champ ne peut contenir ni retour à la ligne ni les caractères < et >."))


def _has_letter(form, field):
    """At least one letter, in any script: a name made only of invisible characters (U+200B…),
    punctuation or symbols is not a name."""
    if field.data and not any(unicodedata.category(ch).startswith("L") for ch in field.data):
        raise ValidationError(_l("Ce champ doit contenir au moins une lettre."))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _email_syntax(form, field):
    """An address our mails can reach: plain ASCII before the @ (no SMTPUTF8), 64 characters
    at most there (RFC 5321); a domain in another script is kept in its ASCII (IDNA) form."""
    address = field.data or ""
    try:
        result = validate_email(address, check_deliverability=False, allow_smtputf8=False, strict=True)
    except EmailNotValidError:
        local_part = address.rpartition("@")[0]
        if not local_part.isascii():
            message = _l("Les lettres accentuées et les caractères non latins ne sont pas acceptés avant le @ : "
                         "nos courriels ne pourraient pas vous parvenir.")
        elif len(local_part) > LOCAL_PART_MAX_LENGTH:
            message = _l("La partie avant le @ ne peut pas dépasser 64 caractères.")
        else:
            message = _l("Saisissez une adresse électronique valide, par exemple nom@exemple.org.")
        raise ValidationError(message) from None
    field.data = result.ascii_email


def actor_type_choices():
    placeholder = SelectChoice("", _l("— Choisissez —"))
    return [placeholder] + [SelectChoice(key, _l(label)) for key, label in ACTOR_TYPES.items()]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class QuestionAnswerField(Field):
    """The answer to a question (`self.question`, of a `kind`), as the form sends it: a list of
    strings. Rendered by `answer_fields` (_forms.html): a text input or area, or a group of radio
    buttons or checkboxes (`options()`). Subclasses set `text_max_length`: the kinds answered in
    text, with their maximum length."""

    text_max_length = {}

    def process_formdata(self, valuelist):
        self.data = list(valuelist)

    def _value(self):
        return self.data[0] if self.data else ""

    @property
    def is_text(self):
        return self.question.kind in self.text_max_length

    @property
    def max_length(self):
        return self.text_max_length.get(self.question.kind)

    @property
    def first_input_id(self):
        """The input the error summary links to: the first option of a group."""
        return self.id if self.is_text else f"{self.id}-0"


class AnswerField(QuestionAnswerField):
    """The answer to one of the event's own questions, read and checked by
    `services.questions.read_answer`."""

    text_max_length = registration_questions.TEXT_MAX_LENGTH

    def __init__(self, label=None, validators=None, *, question, offered, required_answer, **kwargs):
        super().__init__(label, validators, description=question.help_text, **kwargs)
        self.question, self.offered, self.required_answer = question, offered, required_answer
        if required_answer and question.required:
            self.flags.required = True

    def options(self):
        """(value, label) of each radio button or checkbox."""
        if self.question.kind == QuestionKind.yes_no:
            return [(registration_questions.YES, _l("Oui")), (registration_questions.NO, _l("Non"))]
        return [(str(choice.id), choice.label) for choice in self.offered]

    def pre_validate(self, form):
        try:
            registration_questions.read_answer(self.question, self.data, offered=self.offered,
                                               required=self.required_answer)
        except registration_questions.AnswerError as error:
            raise StopValidation(str(error)) from None


def with_questions(form_class, questions, *, answers=(), required=True):
    """`form_class` with one AnswerField per question (`question_<id>`), after its workshops.
    `answers`: the registration's (initial data; a hidden choice already chosen stays offered);
    `required`: whether required questions must be answered (not in the back office)."""
    current = {answer.question_id: answer for answer in answers}
    fields = {}
    for question in questions:
        answer = current.get(question.id)
        chosen = {choice.id for choice in answer.choices} if answer is not None else set()
        fields[f"question_{question.id}"] = AnswerField(
            question.label, question=question, offered=question.offered_choices(chosen), required_answer=required,
            default=registration_questions.raw_of(answer))
    if not fields:
        return form_class
    order = list(form_class.field_order)
    after = order.index("workshops") + 1
    order[after:after] = fields
    return type(form_class.__name__, (form_class,), dict(fields, field_order=tuple(order)))


class AnsweringForm(Form):
    """A form with answers to questions (QuestionAnswerField): the event's own questions on the
    registration form, or a survey's."""

    def answer_fields(self):
        return [field for field in self if isinstance(field, QuestionAnswerField)]

    def answers(self):
        """What the form sent for each question: {question id: list of strings}."""
        return {field.question.id: field.data or [] for field in self.answer_fields()}

    def refuse_answers(self, error):
        """Show the problems of an AnswersError (of `services.questions` or `services.survey_answers`)
        next to their questions."""
        for field in self.answer_fields():
            if field.question.id in error.errors:
                field.errors = [*field.errors, error.errors[field.question.id]]


class ParticipantDetailsForm(AnsweringForm):
    """What a person can give at registration and change later from the manage link."""

    first_name = StringField(
        _l("Prénom"),
        filters=[_strip],
        validators=[DataRequired(_l("Indiquez votre prénom.")), Length(max=100, message=_l("100 caractères au plus.")),
                    _single_line, _has_letter],
    )
    last_name = StringField(
        _l("Nom"),
        filters=[_strip],
        validators=[DataRequired(_l("Indiquez votre nom.")), Length(max=100, message=_l("100 caractères au plus.")),
                    _single_line, _has_letter],
    )
    organisation = StringField(
        _l("Structure (facultatif)"),
        filters=[_strip],
        validators=[Length(max=200, message=_l("200 caractères au plus.")), _single_line],
    )
    actor_type = SelectField(
        _l("À quel titre venez-vous ?"),
        validators=[DataRequired(_l("Choisissez à quel titre vous venez."))],
    )
    workshops = MultiCheckboxField(_l("Ateliers"), coerce=int, validate_choice=True)

    def __init__(self, *args, workshops=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.actor_type.choices = actor_type_choices()
        self._workshops = {w.id: w for w in workshops}
        self.workshops.choices = [SelectChoice(w.id, w.title) for w in workshops]

    def validate_workshops(self, field):
        chosen = self.chosen_workshops()
        for i, first in enumerate(chosen):
            for second in chosen[i + 1:]:
                if first.overlaps(second):
                    raise ValidationError(
                        _l("Les ateliers « %(a)s » et « %(b)s » ont lieu en même temps : choisissez-en un seul.",
                           a=first.title, b=second.title)
                    )

    def chosen_workshops(self):
        return [self._workshops[i] for i in self.workshops.data or [] if i in self._workshops]


class RegistrationForm(ParticipantDetailsForm):
    email = StringField(
        _l("Adresse électronique"),
        filters=[_strip],
        validators=[DataRequired(_l("Indiquez votre adresse électronique.")),
                    Length(max=254, message=_l("254 caractères au plus.")), _email_syntax],
    )
    privacy_consent = BooleanField(
        _l("J'accepte que mes données soient utilisées pour gérer mon inscription à cet événement."),
        validators=[DataRequired(_l("Votre accord est nécessaire pour vous inscrire."))],
    )
    # Optional and unticked: registering does not need it (recorded with the privacy text's version).
    news_consent = BooleanField(
        _l("J'accepte de recevoir les nouvelles du réseau (facultatif ; je peux retirer mon accord à tout moment)."),
        default=False,
    )
    # Honeypot: hidden from people, filled by bots; a filled one drops the submission silently.
    website = StringField(_l("Ne pas remplir ce champ"))
    # When the form was first shown, signed: a robot sends it back at once (`filled_too_fast`).
    shown_at = HiddenField()

    @staticmethod
    def _shown_at_serializer():
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="emgav-form-shown")

    def _seconds_since_shown(self):
        """Seconds since the form was first shown, or None when its stamp is missing or forged."""
        try:
            _, signed_at = self._shown_at_serializer().loads(self.shown_at.data or "", return_timestamp=True)
        except BadSignature:
            return None
        return time.time() - signed_at.timestamp()

    def stamp_shown_at(self):
        """Before showing the form: the time it was first shown, kept when it comes back with mistakes."""
        if self._seconds_since_shown() is None:
            self.shown_at.data = self._shown_at_serializer().dumps("shown")

    def filled_too_fast(self):
        """Sent back sooner than REGISTRATION_MIN_FILL_SECONDS after it was shown, or without a
        genuine stamp; then the form says so (nothing is stored)."""
        minimum = current_app.config["REGISTRATION_MIN_FILL_SECONDS"]
        seconds = self._seconds_since_shown()
        if minimum <= 0 or (seconds is not None and seconds >= minimum):
            return False
        self.form_errors.append(_l("Le formulaire a été envoyé très vite après son affichage, comme le font "
                                   "les robots. Vérifiez vos réponses, puis envoyez-le de nouveau."))
        return True

    field_order = ("first_name", "last_name", "email", "organisation", "actor_type", "workshops", "privacy_consent",
                   "news_consent")
