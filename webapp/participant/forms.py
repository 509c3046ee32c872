"""Forms of the participant pages. Pages whose form is only a button (cancel, leave the waiting
list, answer an offer) need no form class: CSRFProtect checks their `csrf_token()` field."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length

from ..forms import ParticipantDetailsForm, _email_syntax

LANGUAGE_CHOICES = [("fr", "Français"), ("en", "English")]


class ManageForm(ParticipantDetailsForm):
    """The registration's details as the person may change them from the manage link."""

    language = RadioField(
        _l("Langue des courriels"), choices=LANGUAGE_CHOICES,
        validators=[DataRequired(_l("Choisissez une langue."))],
    )

    field_order = ("first_name", "last_name", "organisation", "actor_type", "language", "workshops")


class LostLinkForm(FlaskForm):
    email = StringField(
        _l("Adresse électronique"),
        validators=[DataRequired(_l("Indiquez votre adresse électronique.")),
                    Length(max=254, message=_l("254 caractères au plus.")), _email_syntax],
    )
    # Honeypot: hidden from people, filled by bots; a filled one is dropped without telling.
    website = StringField(_l("Ne pas remplir ce champ"))

