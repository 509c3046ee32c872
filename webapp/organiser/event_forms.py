"""Forms of the event pages of the back office: an event, one of its workshops, a copy of it.

They hold every field of an event file (README, "Event files (TOML)") but the status, which
buttons change. Date-times are `datetime-local` inputs: times on the event's clock, read in its
time zone (the zone given in the same form, for the event itself). The forms only check each
value; the rules of events (`services.events`) check the whole and may still refuse it.
"""
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ..formatting import LANGUAGE_NAMES
from ..forms import Form
from ..models import Event, Question, QuestionChoice, Survey, SurveyChoice, SurveyQuestion, Workshop
from ..services import questions as registration_questions
from ..services import surveys
from ..services.event_files import DEFAULT_TIMEZONE
from ..services.events import SLUG_PATTERN
from ..services.reminders import MAX_DAYS_BEFORE

# What a datetime-local input sends: minutes, or seconds too.
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
DESCRIPTION_MAX_LENGTH = 20_000


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _max_length(model, column):
    limit = model.__table__.c[column].type.length
    return Length(max=limit, message=_l("%(max)d caractères au plus.", max=limit))


def _single_line(form, field):
    """No line break or other control character: titles and places go into mail subjects and lines."""
    if field.data and any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in field.data):
        raise ValidationError(_l("Ce champ ne peut pas contenir de retour à la ligne."))


def _web_address(form, field):
    if field.data and not field.data.startswith(("https://", "http://")):
        raise ValidationError(_l("Saisissez une adresse web complète, qui commence par https://."))


def _email_address(form, field):
    try:
        field.data = validate_email(field.data or "", check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationError(_l("Saisissez une adresse électronique valide, par exemple nom@exemple.org.")) from None


def _time_zone(form, field):
    try:
        ZoneInfo(field.data)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_l("Fuseau horaire inconnu : écrivez-le comme Europe/Paris ou America/Cayenne.")) \
            from None


def _after(first_name, message):
    """Validator: this date-time comes after the one of the form's field `first_name`."""
    def check(form, field):
        first = form[first_name].data
        if field.data and first and field.data <= first:
            raise ValidationError(message)
    return check


def _date_time(label, required=False, description="", after=None):
    """A datetime-local input; `after`: (field name, message) of the date-time it must follow."""
    validators = [InputRequired(_l("Indiquez une date et une heure."))] if required else [Optional()]
    if after:
        validators.append(_after(*after))
    return DateTimeLocalField(label, validators=validators, format=DATETIME_FORMATS, description=description,
                              invalid_value_message=_l("Saisissez une date et une heure valides."))


END_AFTER_START = ("starts_at", _l("La fin doit être après le début."))


def _capacity(label):
    return IntegerField(label, validators=[Optional(), NumberRange(min=0, message=_l("Indiquez 0 ou plus."))],
                        description=_l("Laissez vide pour ne pas limiter les places."))


def _title(model):
    return StringField(_l("Titre"), filters=[_strip],
                       validators=[DataRequired(_l("Indiquez un titre.")), _max_length(model, "title"), _single_line])


def _description(label=None):
    return TextAreaField(
        label or _l("Présentation"), filters=[_strip],
        validators=[Length(max=DESCRIPTION_MAX_LENGTH,
                           message=_l("%(max)d caractères au plus.", max=DESCRIPTION_MAX_LENGTH))],
        description=_l("Une ligne vide sépare deux paragraphes ; « - » en début de ligne fait une liste, "
                       "**texte** met en gras, [texte](https://…) fait un lien."),
    )


def _slug():
    return StringField(
        _l("Adresse de la page (slug)"), filters=[_strip],
        validators=[DataRequired(_l("Indiquez l'adresse de la page.")), _max_length(Event, "slug"),
                    Regexp(SLUG_PATTERN, message=_l("Seulement des minuscules sans accent, des chiffres et des "
                                                    "tirets, par exemple journee-ess-2027."))],
        description=_l("La fin de l'adresse de la page publique, /events/… ; elle ne change plus ensuite."),
    )


class TimesInZone:
    """A form whose date-time fields (`datetime_fields`) hold times on the event's clock."""

    datetime_fields = ()

    def values_in(self, tz):
        """The form's column values, date-times made aware in zone `tz`."""
        values = {name: field.data for name, field in self._fields.items() if name in self.columns}
        for name in self.datetime_fields:
            if values[name] is not None:
                values[name] = values[name].replace(tzinfo=tz)
        return values

    @classmethod
    def data_of(cls, obj, tz):
        """The form's initial data from a model object: date-times on the clock of zone `tz`."""
        data = {name: getattr(obj, name) for name in cls.columns}
        for name in cls.datetime_fields:
            if data[name] is not None:
                data[name] = data[name].astimezone(tz).replace(tzinfo=None)
        return data


class EventForm(TimesInZone, Form):
    """The event's own fields (the slug only at creation: see NewEventForm)."""

    columns = ("title", "content_language", "description", "timezone", "starts_at", "ends_at", "venue_name",
               "venue_address", "online_url", "practical_info", "capacity", "registration_opens_at",
               "registration_closes_at", "contact_email", "approval_required")
    datetime_fields = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")

    title = _title(Event)
    content_language = SelectField(
        _l("Langue des textes"), default="fr",
        description=_l("La langue du titre, de la présentation, des lieux et des ateliers : les pages dans une "
                       "autre langue l'indiquent, pour les lecteurs d'écran."))
    description = _description()
    timezone = StringField(_l("Fuseau horaire"), default=DEFAULT_TIMEZONE, filters=[_strip],
                           validators=[DataRequired(_l("Indiquez un fuseau horaire.")),
                                       _max_length(Event, "timezone"), _time_zone],
                           description=_l("Les dates et heures de ce formulaire sont celles de ce fuseau, par "
                                          "exemple Europe/Paris."))
    starts_at = _date_time(_l("Début"), required=True)
    ends_at = _date_time(_l("Fin"), required=True, after=END_AFTER_START)
    venue_name = StringField(_l("Lieu"), filters=[_strip], validators=[_max_length(Event, "venue_name"), _single_line])
    venue_address = StringField(_l("Adresse du lieu"), filters=[_strip],
                                validators=[_max_length(Event, "venue_address"), _single_line])
    online_url = StringField(_l("Adresse de la réunion en ligne"), filters=[_strip],
                             validators=[_max_length(Event, "online_url"), _web_address],
                             description=_l("Pour un événement en ligne ; sinon, laissez vide."))
    practical_info = _description(_l("Informations pratiques"))
    capacity = _capacity(_l("Nombre de places"))
    registration_opens_at = _date_time(_l("Ouverture des inscriptions"),
                                       description=_l("Laissez vide pour ouvrir dès la publication."))
    registration_closes_at = _date_time(
        _l("Clôture des inscriptions"), description=_l("Laissez vide pour fermer au début de l'événement."),
        after=("registration_opens_at", _l("La clôture doit être après l'ouverture.")))
    contact_email = StringField(_l("Adresse de contact"), filters=[_strip],
                                validators=[DataRequired(_l("Indiquez une adresse de contact.")),
                                            _max_length(Event, "contact_email"), _email_address],
                                description=_l("Les réponses aux courriels de l'événement y arrivent."))
    approval_required = BooleanField(
        _l("Valider chaque inscription"),
        description=_l("Une fois leur adresse confirmée, les personnes attendent votre décision, sans place ni "
                       "liste d'attente : vous acceptez ou refusez chaque demande depuis la liste des inscriptions."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.content_language.choices = [SelectChoice(code, LANGUAGE_NAMES.get(code, code))
                                         for code in current_app.config["LANGUAGES"]]

    def zone(self):
        """The time zone the form's date-times are read in (valid once the form is)."""
        return ZoneInfo(self.timezone.data)


class EditEventForm(EventForm):
    """An event's fields, and whether its workshops move with its start (they are not columns)."""

    move_workshops = BooleanField(
        _l("Décaler aussi les ateliers"),
        description=_l("Chaque atelier avance ou recule d'autant que le début de l'événement, et garde sa durée. "
                       "Pour reporter à un autre jour un événement qui a des ateliers, cochez cette case : "
                       "sinon, ils resteraient à l'ancienne date."))


class NewEventForm(EventForm):
    columns = ("slug", *EventForm.columns)

    slug = _slug()

    field_order = ("title", "slug", *EventForm.columns[1:])  # as on the page


class WorkshopForm(TimesInZone, Form):
    """A workshop of the event (its key only when it is added: see NewWorkshopForm)."""

    columns = ("title", "description", "starts_at", "ends_at", "room", "capacity")
    datetime_fields = ("starts_at", "ends_at")

    title = _title(Workshop)
    description = _description()
    starts_at = _date_time(_l("Début"), required=True)
    ends_at = _date_time(_l("Fin"), required=True, after=END_AFTER_START)
    room = StringField(_l("Salle"), filters=[_strip], validators=[_max_length(Workshop, "room"), _single_line])
    capacity = _capacity(_l("Nombre de places"))


class NewWorkshopForm(WorkshopForm):
    columns = ("key", *WorkshopForm.columns)

    key = StringField(
        _l("Clé"), filters=[_strip],
        validators=[DataRequired(_l("Indiquez une clé.")), _max_length(Workshop, "key"),
                    Regexp(SLUG_PATTERN, message=_l("Seulement des minuscules sans accent, des chiffres et des "
                                                    "tirets, par exemple atelier-agro."))],
        description=_l("Identifie l'atelier dans les fichiers d'événement ; elle ne change plus ensuite."),
    )

    field_order = ("title", "key", *WorkshopForm.columns[1:])  # as on the page


class ReminderForm(Form):
    """A reminder to add: how many days before the event (sent at 09:00 on its clock)."""

    days_before = IntegerField(
        _l("Nombre de jours avant l'événement"),
        validators=[InputRequired(_l("Indiquez un nombre de jours.")),
                    NumberRange(min=1, max=MAX_DAYS_BEFORE,
                                message=_l("Indiquez un nombre de jours de 1 à %(max)s.", max=MAX_DAYS_BEFORE))],
        description=_l("Le rappel part à 9 h, heure de l'événement, ce nombre de jours avant sa date."))


class CopyEventForm(TimesInZone, Form):
    """Next year's edition: a new title, address and dates; the rest is copied."""

    columns = ("title", "slug", "starts_at", "ends_at")
    datetime_fields = ("starts_at", "ends_at")

    title = _title(Event)
    slug = _slug()
    starts_at = _date_time(_l("Début"), required=True)
    ends_at = _date_time(_l("Fin"), required=True, after=END_AFTER_START)


class RemoveWorkshopForm(Form):
    """The confirmation of a workshop's removal: `people` is the number of people to be mailed that
    the page showed; the removal is done only while it is still the number (see `remove_workshop`)."""
    people = HiddenField()


def _choice_lines(form, field):
    """New choices, one a line: each a label of 200 characters at most."""
    limit = QuestionChoice.__table__.c["label"].type.length
    if any(len(line.strip()) > limit for line in (field.data or "").splitlines()):
        raise ValidationError(_l("Un choix a %(max)d caractères au plus.", max=limit))


class QuestionForm(Form):
    """A registration question: its text, help, kind, whether it must be answered; the choices of a
    choice question (one a line). The page of an existing question adds a field per choice
    (`question_form`)."""

    label = StringField(_l("Question"), filters=[_strip],
                        validators=[DataRequired(_l("Indiquez la question.")), _max_length(Question, "label"),
                                    _single_line])
    help_text = StringField(_l("Aide (facultatif)"), filters=[_strip],
                            validators=[_max_length(Question, "help_text"), _single_line],
                            description=_l("Une précision affichée sous la question."))
    kind = RadioField(_l("Type de réponse"), default="short_text", validators=[DataRequired(_l("Choisissez un type."))],
                      choices=[SelectChoice(kind.value, label)
                               for kind, label in registration_questions.KIND_LABELS.items()])
    required = BooleanField(_l("Réponse obligatoire"))
    new_choices = TextAreaField(_l("Choix proposés, un par ligne"), filters=[_strip],
                                validators=[Length(max=10_000), _choice_lines],
                                description=_l("Seulement pour une question à choix unique ou multiple."))

    field_order = ("label", "help_text", "kind", "required", "new_choices")

    def choice_fields(self, choice):
        """(label field, remove or restore box) of an existing choice."""
        box = self[f"restore_{choice.id}"] if choice.hidden else self[f"remove_{choice.id}"]
        return self[f"choice_{choice.id}"], box

    def choice_changes(self, question):
        return registration_questions.ChoiceChanges(
            labels={c.id: self[f"choice_{c.id}"].data or "" for c in question.choices},
            removed={c.id for c in question.choices if not c.hidden and self[f"remove_{c.id}"].data},
            restored={c.id for c in question.choices if c.hidden and self[f"restore_{c.id}"].data},
            added=(self.new_choices.data or "").splitlines())


def question_form(question=None, kind_fixed=False):
    """The form of a new question, or of `question` with a field per existing choice (label, and a
    box to remove it, or to offer it again once hidden); `kind_fixed`: without the kind field."""
    if question is None:
        return QuestionForm
    fields, order = {}, ["label", "help_text", "kind", "required"]
    for number, choice in enumerate(question.choices, 1):
        fields[f"choice_{choice.id}"] = StringField(
            _l("Choix %(number)s", number=number), default=choice.label, filters=[_strip],
            validators=[DataRequired(_l("Un choix ne peut pas être vide : cochez « Retirer » pour l'enlever.")),
                        _max_length(QuestionChoice, "label"), _single_line])
        box = f"restore_{choice.id}" if choice.hidden else f"remove_{choice.id}"
        fields[box] = BooleanField(_l("Proposer de nouveau ce choix") if choice.hidden else _l("Retirer ce choix"))
        order += [f"choice_{choice.id}", box]
    fields["new_choices"] = TextAreaField(
        _l("Ajouter des choix, un par ligne"), filters=[_strip], validators=[Length(max=10_000), _choice_lines],
        description=_l("Seulement pour une question à choix unique ou multiple."))
    if kind_fixed:
        fields["kind"] = None
        order.remove("kind")
    order.append("new_choices")
    return type("QuestionForm", (QuestionForm,), dict(fields, field_order=tuple(order)))


class ScheduleMailingForm(Form):
    """When a mailing leaves: a date and time on the event's clock."""

    send_at = _date_time(_l("Date et heure d'envoi"), required=True,
                         description=_l("Heure de l'événement. Le courriel part dans la minute qui suit."))


# --- The event's survey ---

def _days(label, description):
    return IntegerField(label, description=description, validators=[
        InputRequired(_l("Indiquez un nombre de jours.")),
        NumberRange(min=0, max=surveys.MAX_DAYS, message=_l("De 0 à %(max)d jours.", max=surveys.MAX_DAYS))])


class NewSurveyForm(Form):
    """Create the event's survey from the template, in one of the app's languages."""

    language = SelectField(_l("Langue du questionnaire"), default="fr",
                           choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()])


class SurveySettingsForm(TimesInZone, Form):
    """The survey's title and introduction, anonymity, state and moments."""

    columns = ("title", "intro", "anonymous", "status", "invite_days_after", "invite_time", "opens_at", "closes_at",
               "reminder_days")
    datetime_fields = ("opens_at", "closes_at")

    title = _title(Survey)
    intro = TextAreaField(_l("Introduction (facultatif)"), filters=[_strip],
                          validators=[Length(max=2000, message=_l("%(max)d caractères au plus.", max=2000))])
    anonymous = BooleanField(
        _l("Questionnaire anonyme"),
        description=_l("Les réponses ne gardent aucun lien avec la personne. Ne peut plus changer une fois les "
                       "invitations parties."))
    status = RadioField(_l("État"), validators=[DataRequired(_l("Choisissez un état."))],
                        choices=[SelectChoice(status.value, label) for status, label in surveys.STATUS_LABELS.items()])
    invite_days_after = _days(_l("Invitation : jours après la fin de l'événement"),
                              _l("1 : le lendemain de l'événement."))
    invite_time = TimeField(_l("Heure de l'invitation"), validators=[InputRequired(_l("Indiquez une heure."))],
                            description=_l("Sur l'horloge de l'événement."),
                            render_kw={"step": 60})
    opens_at = _date_time(_l("Ouverture (facultatif)"),
                          description=_l("Laissez vide : les réponses sont possibles dès l'invitation."))
    closes_at = _date_time(_l("Clôture (facultatif)"), after=("opens_at", _l("La clôture doit venir après "
                                                                              "l'ouverture.")),
                           description=_l("Laissez vide : pas de date de clôture."))
    reminder_days = _days(_l("Relance : jours après l'invitation"),
                          _l("Une seule relance, aux personnes qui n'ont ni répondu ni commencé à répondre ; "
                             "0 : pas de relance."))

    field_order = columns


def _survey_choice_lines(form, field):
    limit = SurveyChoice.__table__.c["label"].type.length
    if any(len(line.strip()) > limit for line in (field.data or "").splitlines()):
        raise ValidationError(_l("Un choix a %(max)d caractères au plus.", max=limit))


class SurveyQuestionForm(Form):
    """A survey question: text, help, kind, required, the workshop it is asked about, its choices (one a line)."""

    label = StringField(_l("Question"), filters=[_strip],
                        validators=[DataRequired(_l("Indiquez la question.")), _max_length(SurveyQuestion, "label"),
                                    _single_line])
    help_text = StringField(_l("Aide (facultatif)"), filters=[_strip],
                            validators=[_max_length(SurveyQuestion, "help_text"), _single_line],
                            description=_l("Une précision affichée sous la question."))
    kind = RadioField(_l("Type de réponse"), default="rating", validators=[DataRequired(_l("Choisissez un type."))],
                      choices=[SelectChoice(kind.value, label) for kind, label in surveys.KIND_LABELS.items()])
    required = BooleanField(_l("Réponse obligatoire"))
    workshop_id = SelectField(_l("Posée à"), coerce=lambda value: int(value) if value not in (None, "") else None,
                              validate_choice=True)
    choices = TextAreaField(
        _l("Choix proposés, un par ligne"), filters=[_strip], validators=[Length(max=10_000), _survey_choice_lines],
        description=_l("Pour une question à choix unique ou multiple. Reformuler un choix garde ses réponses ; un "
                       "choix déjà choisi ne peut pas être retiré."))

    field_order = ("label", "help_text", "kind", "required", "workshop_id", "choices")

    def __init__(self, *args, workshops=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.workshop_id.choices = [SelectChoice(None, _l("Toutes les personnes invitées"))] + [
            SelectChoice(w.id, _l("Les personnes inscrites à l'atelier « %(title)s »", title=w.title))
            for w in workshops]
