"""Forms of the participant pages. Pages whose form is only a button (cancel, leave the waiting
list, answer an offer) need no form class: CSRFProtect checks their `csrf_token()` field."""
from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from ..formatting import LANGUAGE_NAMES
from ..forms import Form, ParticipantDetailsForm, RegistrationForm


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
