"""Forms of the back office."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from ..formatting import BACK_OFFICE_STATUS_LABELS, LANGUAGE_NAMES
from ..forms import Form, ParticipantDetailsForm, RegistrationForm, _email_syntax, actor_type_choices
from ..models import ACTOR_TYPES, QuestionKind, RegistrationStatus, UserRole
from ..models.questions import CHOICE_KINDS
from ..services import accounts, dashboards, mailings
from ..services import questions as registration_questions
from ..services.errors import AccountError
from ..services.registration_list import ACTIVE, DEFAULT_PER_PAGE, PER_PAGE_CHOICES, Filters, Presence, SortOrder

MAILING_BODY_MAX_LENGTH = 20_000


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _acceptable_password(form, field):
    try:
        accounts.check_password(field.data)
    except AccountError as exc:
        raise ValidationError(accounts.error_message(exc)) from None


class LoginForm(Form):
    """Any address is looked up as typed: an unknown one gets the same answer as a wrong password."""

    email = StringField(_l("Adresse électronique"), filters=[_strip],
                        validators=[DataRequired(_l("Indiquez votre adresse électronique.")), Length(max=254)])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(_l("Indiquez votre mot de passe.")),
                                                             Length(max=accounts.PASSWORD_MAX_LENGTH)])


class ForgotPasswordForm(Form):
    email = RegistrationForm.email


class NewPasswordForm(Form):
    password = PasswordField(
        _l("Nouveau mot de passe (%(min)s caractères au moins)", min=accounts.PASSWORD_MIN_LENGTH),
        validators=[DataRequired(_l("Choisissez un mot de passe.")), _acceptable_password],
    )
    confirm = PasswordField(
        _l("Le même mot de passe, une seconde fois"),
        validators=[DataRequired(_l("Saisissez le mot de passe une seconde fois.")),
                    EqualTo("password", _l("Les deux mots de passe ne sont pas identiques."))],
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Mot de passe actuel"),
                                     validators=[DataRequired(_l("Indiquez votre mot de passe actuel."))])

    field_order = ("current_password", "password", "confirm")


class NewAccountForm(Form):
    email = RegistrationForm.email
    role = RadioField(
        _l("Rôle"), default=UserRole.organiser.value,
        choices=[
            SelectChoice(UserRole.organiser.value, _l("Organisation : les événements confiés à ce compte")),
            SelectChoice(UserRole.admin.value, _l("Administration : tous les événements, les comptes et les équipes")),
        ],
        validators=[DataRequired(_l("Choisissez un rôle."))],
    )


class AssignOrganiserForm(Form):
    user_id = SelectField(_l("Compte"), coerce=int, validators=[DataRequired(_l("Choisissez un compte."))])

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.user_id.choices = [SelectChoice(user.id, user.email) for user in candidates]


class AudienceFields:
    """The filters an event's registrations are chosen by (the registration list, a mailing's
    audience): status, actor type, workshop, answer to a question. `set_choices` fills their
    choices from the event's workshops and questions."""

    status = SelectField(_l("Statut"), default="")
    actor_type = SelectField(_l("À quel titre"), default="")
    workshop = SelectField(_l("Atelier"), default="")
    answer = SelectField(_l("Réponse à une question"), default="")

    def set_choices(self, workshops, questions):
        self.answer.choices = [SelectChoice("", _l("toutes"))] + [
            SelectChoice(value, _l("%(question)s : %(answer)s", question=question.label, answer=answer))
            for question in questions for value, answer in _answer_options(question)]
        self.status.choices = [SelectChoice("", _l("tous")), SelectChoice(ACTIVE, _l("toutes sauf les annulées"))] + [
            SelectChoice(status.value, label) for status, label in BACK_OFFICE_STATUS_LABELS.items()]
        self.actor_type.choices = [SelectChoice("", _l("tous"))] + [
            SelectChoice(key, _l(label)) for key, label in ACTOR_TYPES.items()]
        self.workshop.choices = [SelectChoice("", _l("tous"))] + [
            SelectChoice(str(workshop.id), workshop.title) for workshop in workshops]

    def filter_values(self):
        """The chosen filters, as the keyword arguments of `registration_list.Filters`."""
        kind, _dash, number = (self.answer.data or "").partition("-")
        return dict(status=self.status.data or None, actor_type=self.actor_type.data or None,
                    workshop_id=int(self.workshop.data) if self.workshop.data else None,
                    choice_id=int(number) if kind == "choice" else None,
                    yes_no=(int(number), kind == registration_questions.YES) if kind in (
                        registration_questions.YES, registration_questions.NO) else None)


class RegistrationFilterForm(AudienceFields, Form):
    """Search, filters and order of an event's registration list (a GET form: no CSRF token). The
    export buttons post the same fields."""

    class Meta:
        csrf = False

    q = StringField(_l("Rechercher (nom, adresse électronique, structure)"), filters=[_strip],
                    validators=[Length(max=200, message=_l("200 caractères au plus."))])
    sort = SelectField(_l("Trier par"), default=SortOrder.name.value, choices=[
        SelectChoice(SortOrder.name.value, _l("nom")),
        SelectChoice(SortOrder.newest.value, _l("date d'inscription, la plus récente d'abord")),
        SelectChoice(SortOrder.oldest.value, _l("date d'inscription, la plus ancienne d'abord")),
        SelectChoice(SortOrder.status.value, _l("statut")),
    ])
    per_page = SelectField(_l("Par page"), default=str(DEFAULT_PER_PAGE),
                           choices=[SelectChoice(str(n), str(n)) for n in PER_PAGE_CHOICES])

    def __init__(self, *args, workshops=(), questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices(workshops, questions)

    def filters(self):
        return Filters(search=self.q.data or "", **self.filter_values())

    def order(self):
        return SortOrder(self.sort.data)

    def page_size(self):
        return int(self.per_page.data)

    def arguments(self):
        """The fields that differ from their default, as query arguments."""
        return {field.name: field.data for field in self if field.data and field.data != field.default}


def _known_placeholders(form, field):
    unknown = mailings.unknown_placeholders(field.data)
    if unknown:
        raise ValidationError(mailings.unknown_placeholders_message(unknown))


class MailingForm(AudienceFields, Form):
    """A mailing to the people of an event: subject, body (the Markdown subset, with placeholders)
    and its audience."""

    subject = StringField(_l("Objet"), filters=[_strip], validators=[
        DataRequired(_l("Indiquez l'objet du courriel.")),
        Length(max=200, message=_l("%(max)d caractères au plus.", max=200)), _known_placeholders])
    body = TextAreaField(
        _l("Message"), filters=[_strip],
        validators=[DataRequired(_l("Écrivez le message.")),
                    Length(max=MAILING_BODY_MAX_LENGTH,
                           message=_l("%(max)d caractères au plus.", max=MAILING_BODY_MAX_LENGTH)),
                    _known_placeholders],
        description=_l("Une ligne vide sépare deux paragraphes ; « - » en début de ligne fait une liste, "
                       "**texte** met en gras, [texte](https://…) fait un lien. Chaque personne reçoit le message "
                       "avec ses données à la place de : {prénom}, {nom}, {événement}, {date}, {lieu} et {lien} "
                       "(son lien personnel pour gérer son inscription)."))
    status = SelectField(_l("Statut"), default=RegistrationStatus.confirmed.value)
    presence = SelectField(_l("Présence le jour J"), default="", choices=[
        SelectChoice("", _l("toutes les personnes")),
        SelectChoice(Presence.present.value, _l("venues (arrivée enregistrée à l'accueil)")),
        SelectChoice(Presence.absent.value, _l("pas venues")),
    ])

    field_order = ("subject", "body", "status", "actor_type", "workshop", "answer", "presence")

    def __init__(self, *args, workshops=(), questions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.set_choices(workshops, questions)

    def audience(self):
        return mailings.Audience(**self.filter_values(), presence=self.presence.data or None)

    @staticmethod
    def data_of(mailing):
        """The form's initial data from a mailing."""
        audience = mailings.Audience.from_dict(mailing.audience)
        answer = ""
        if audience.choice_id is not None:
            answer = f"choice-{audience.choice_id}"
        elif audience.yes_no is not None:
            question_id, yes = audience.yes_no
            answer = f"{registration_questions.YES if yes else registration_questions.NO}-{question_id}"
        return {"subject": mailing.subject, "body": mailing.body, "status": audience.status or "",
                "actor_type": audience.actor_type or "",
                "workshop": str(audience.workshop_id) if audience.workshop_id else "", "answer": answer,
                "presence": audience.presence or ""}


def _answer_options(question):
    """The answers of a choice or yes/no question that the list filters on: (value, label)."""
    if question.kind == QuestionKind.yes_no:
        return [(f"{registration_questions.YES}-{question.id}", _l("oui")),
                (f"{registration_questions.NO}-{question.id}", _l("non"))]
    if question.kind in CHOICE_KINDS:
        return [(f"choice-{choice.id}", choice.label) for choice in question.choices]
    return []


class RegistrationDetailsForm(ParticipantDetailsForm):
    """A person's details and workshops, as an organiser changes them."""

    language = RadioField(
        _l("Langue des courriels"), default="fr",
        choices=[SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()],
        validators=[DataRequired(_l("Choisissez une langue."))],
    )

    field_order = ("first_name", "last_name", "organisation", "actor_type", "language", "workshops")


class AddRegistrationForm(RegistrationDetailsForm):
    """A person registered by hand: their address, and whether it still needs confirming."""

    email = RegistrationForm.email
    confirmed = RadioField(
        _l("Confirmation de l'adresse"), default="no",
        choices=[
            SelectChoice("no", _l("À confirmer : la personne reçoit le courriel habituel avec le lien "
                                  "de confirmation")),
            SelectChoice("yes", _l("Confirmée directement : une place si une est libre et que personne n'attend, "
                                   "sinon la liste d'attente ; la personne reçoit le courriel habituel")),
        ],
        validators=[DataRequired(_l("Choisissez une option."))],
    )
    privacy_consent = BooleanField(
        _l("La personne a accepté que ses données servent à gérer son inscription à cet événement."),
        validators=[DataRequired(_l("Cet accord est nécessaire pour inscrire la personne."))],
    )

    field_order = ("first_name", "last_name", "email", "organisation", "actor_type", "language", "workshops",
                   "confirmed", "privacy_consent")


class CheckInLookupForm(Form):
    """The check-in page's two ways to find a person: the code (typed, or read by a scanner) and a
    search by name (GET forms: no CSRF token)."""

    class Meta:
        csrf = False

    code = StringField(_l("Code d'accueil"), filters=[_strip],
                       validators=[Length(max=200, message=_l("200 caractères au plus."))])
    q = StringField(_l("Nom ou structure"), filters=[_strip],
                    validators=[Length(max=200, message=_l("200 caractères au plus."))])


class CheckInForm(Form):
    """Record a person's arrival: their check-in code, and an id of this sending (a retry sends the
    same one), chosen by the page."""

    code = StringField(_l("Code d'accueil"), filters=[_strip],
                       validators=[DataRequired(_l("Indiquez le code d'accueil.")), Length(max=200)])
    request_id = StringField(validators=[Optional(), Length(max=64), Regexp(r"^[A-Za-z0-9-]+$")])


class WalkInForm(Form):
    """A person who came without registering: few details, the address optional."""

    first_name = ParticipantDetailsForm.first_name
    last_name = ParticipantDetailsForm.last_name
    organisation = ParticipantDetailsForm.organisation
    actor_type = ParticipantDetailsForm.actor_type
    email = StringField(
        _l("Adresse électronique (facultatif : sans adresse, la personne ne reçoit aucun courriel)"),
        filters=[_strip],
        validators=[Optional(), Length(max=254, message=_l("254 caractères au plus.")), _email_syntax],
    )
    privacy_consent = AddRegistrationForm.privacy_consent

    field_order = ("first_name", "last_name", "email", "organisation", "actor_type", "privacy_consent")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor_type.choices = actor_type_choices()


class NetworkPeriodForm(Form):
    """The period of the network's view (a GET form: no CSRF token); empty: the last twelve months."""

    class Meta:
        csrf = False

    start = DateField(_l("Du"), validators=[Optional()],
                      invalid_value_message=_l("Saisissez une date valide."))
    end = DateField(_l("Au"), validators=[Optional()], invalid_value_message=_l("Saisissez une date valide."))

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("La fin de la période ne peut pas précéder son début."))

    def period(self, today):
        """(start, end) dates: those given, the others from the last twelve months."""
        start = self.start.data
        end = self.end.data or max(today, start or today)
        return start or dashboards.default_period(end)[0], end
