"""Forms of the back office."""
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..forms import Form, RegistrationForm
from ..models import UserRole
from ..services import accounts
from ..services.errors import AccountError


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
