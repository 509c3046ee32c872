"""Event files (TOML), read by `emgav events import FILE` and `emgav seed-demo`.

The format is documented in README.md ("Event files (TOML)"). `import_event` checks the whole
file first (keys, types, lengths, time zone, date-times, and the rules of `events` that need no
database) and lists every problem in one EventFileError, with nothing changed. Then it creates
the event, or updates the one with the same `slug` (workshops matched by their `key`), through
the rules of `events`, which make the changes and their effects, and may still refuse them
(EventRuleError: a capacity below the seats taken, say). Importing the same file twice changes
nothing.
"""
import tomllib
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import Event, EventStatus, Workshop
from . import events
from .events import EventRuleError

DEFAULT_TIMEZONE = "Europe/Paris"
DEFAULT_LANGUAGE = "fr"

# Keys of the file: (key, required). Text values are checked against the column's length.
EVENT_FIELDS = {
    "slug": True, "title": True, "language": False, "description": False, "status": False, "timezone": False,
    "starts_at": True, "ends_at": True, "venue_name": False, "venue_address": False,
    "online_url": False, "capacity": False, "registration_opens_at": False,
    "registration_closes_at": False, "contact_email": True, "approval_required": False, "practical_info": False,
    "reminders": False, "workshops": False,
}
WORKSHOP_FIELDS = {
    "key": True, "title": True, "description": False, "starts_at": True, "ends_at": True,
    "room": False, "capacity": False,
}


class EventFileError(EventRuleError):
    """The file cannot be read or does not describe a valid event; `errors` lists every problem."""


def load_event_file(path):
    """Parse an event file (TOML) into a dict; raises EventFileError when it is not valid TOML."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as exc:
        raise EventFileError([_("TOML invalide : %(error)s", error=exc)]) from None
    except OSError as exc:
        raise EventFileError([_("Impossible de lire %(path)s : %(error)s", path=path, error=exc.strerror)]) from None


def import_event(data, remove_booked_workshops=False):
    """Create or update the event described by `data` (a parsed event file) and its workshops.
    A workshop that people booked and that the file no longer lists is removed (its people
    mailed) only when `remove_booked_workshops` says so; otherwise the rules refuse the file.

    Returns `(event, created)`. Raises EventFileError or EventRuleError, with nothing changed.
    Commits.
    """
    errors = []
    values, workshops = _clean_event(data, errors)
    # `reminders`: days before the event; absent, the defaults for a new event, unchanged otherwise.
    reminders = data.get("reminders") if isinstance(data, dict) else None
    errors += events.event_problems(values, workshops, reminders)
    if errors:
        raise EventFileError(errors)
    extra = {} if reminders is None else {"reminders": reminders}
    event = db.session.scalars(select(Event).where(Event.slug == values["slug"])).one_or_none()
    if event is None:
        return events.create_event(**values, workshops=workshops, **extra), True
    del values["slug"]
    return events.update_event(event, **values, workshops=workshops, **extra,
                               remove_booked_workshops=remove_booked_workshops), False


# --- Validation: turn the file's dict into column values, collecting every error. ---

def _clean_event(data, errors):
    if not isinstance(data, dict):
        errors.append(_("Le fichier doit décrire un événement (des clés et des valeurs)."))
        return {}, []
    _check_keys(data, EVENT_FIELDS, _("l'événement"), errors)
    values = {
        "slug": _text(data, "slug", Event, errors),
        "title": _text(data, "title", Event, errors),
        "description": _text(data, "description", Event, errors),
        "practical_info": _text(data, "practical_info", Event, errors),
        "content_language": _language(data, errors),
        "venue_name": _text(data, "venue_name", Event, errors),
        "venue_address": _text(data, "venue_address", Event, errors),
        "online_url": _text(data, "online_url", Event, errors),
        "contact_email": _email(data, "contact_email", errors),
        "status": _status(data, errors),
        "capacity": _capacity(data, "capacity", _("l'événement"), errors),
        "approval_required": _boolean(data, "approval_required", errors),
    }
    tz = _timezone(data, errors)
    values["timezone"] = tz.key if tz else DEFAULT_TIMEZONE
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        values[name] = _datetime(data, name, tz, _("l'événement"), errors)

    raw_workshops = data.get("workshops", [])
    if not isinstance(raw_workshops, list) or not all(isinstance(w, dict) for w in raw_workshops):
        errors.append(_("« workshops » doit être une liste de tables [[workshops]]."))
        raw_workshops = []
    workshops = [_clean_workshop(raw, number, tz, errors) for number, raw in enumerate(raw_workshops, start=1)]
    return values, workshops


def _clean_workshop(data, number, tz, errors):
    key = data.get("key")
    label = events.workshop_label(key, number)
    _check_keys(data, WORKSHOP_FIELDS, label, errors)
    values = {
        "key": _text(data, "key", Workshop, errors, label),
        "title": _text(data, "title", Workshop, errors, label),
        "description": _text(data, "description", Workshop, errors, label),
        "room": _text(data, "room", Workshop, errors, label),
        "capacity": _capacity(data, "capacity", label, errors),
    }
    for name in ("starts_at", "ends_at"):
        values[name] = _datetime(data, name, tz, label, errors)
    return values


def _check_keys(data, fields, label, errors):
    for name, required in fields.items():
        if required and data.get(name) in (None, ""):
            errors.append(_("Il manque « %(field)s » pour %(label)s.", field=name, label=label))
    for name in data:
        if name not in fields:
            errors.append(_("Clé inconnue « %(field)s » pour %(label)s (clés possibles : %(known)s).",
                            field=name, label=label, known=", ".join(fields)))


def _text(data, name, model, errors, label=None):
    value = data.get(name, "")
    if not isinstance(value, str):
        errors.append(_("« %(field)s » doit être un texte entre guillemets.", field=name))
        return ""
    value = value.strip()
    limit = model.__table__.c[name].type.length
    if limit and len(value) > limit:
        errors.append(_("« %(field)s » de %(label)s dépasse %(limit)s caractères.",
                        field=name, label=label or _("l'événement"), limit=limit))
    return value


def _language(data, errors):
    """`language`: the language of the event's texts (checked against the app's by the rules)."""
    value = data.get("language", DEFAULT_LANGUAGE)
    if not isinstance(value, str):
        errors.append(_("« %(field)s » doit être un texte entre guillemets.", field="language"))
        return DEFAULT_LANGUAGE
    return value.strip().lower()


def _email(data, name, errors):
    value = data.get(name)
    if not value:
        return ""
    try:
        return validate_email(str(value), check_deliverability=False).normalized
    except EmailNotValidError:
        errors.append(_("« %(field)s » n'est pas une adresse électronique valide : %(value)s.",
                        field=name, value=value))
        return ""


def _status(data, errors):
    value = data.get("status", EventStatus.draft.value)
    try:
        return EventStatus(value)
    except ValueError:
        errors.append(_("« status » doit valoir %(choices)s, pas « %(value)s ».",
                        choices=", ".join(s.value for s in EventStatus), value=value))
        return EventStatus.draft


def _capacity(data, name, label, errors):
    """A whole number of seats, or None (no limit) when the key is absent."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        errors.append(_("La capacité de %(label)s doit être un nombre entier positif, pas « %(value)s ».",
                        label=label, value=value))
        return None
    return value


def _boolean(data, name, errors):
    """true or false (false when the key is absent)."""
    value = data.get(name, False)
    if not isinstance(value, bool):
        errors.append(_("« %(field)s » doit valoir true ou false, pas « %(value)s ».", field=name, value=value))
        return False
    return value


def _timezone(data, errors):
    name = data.get("timezone", DEFAULT_TIMEZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        errors.append(_("Fuseau horaire inconnu : « %(name)s » (par exemple Europe/Paris).", name=name))
        return None


def _datetime(data, name, tz, label, errors):
    """A TOML date-time (or ISO 8601 text): local time in the event's zone, or with an offset."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, datetime):
        errors.append(_("« %(field)s » de %(label)s doit être une date avec une heure, par exemple "
                        "2027-06-10T09:00:00.", field=name, label=label))
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=tz) if tz else None
    return value
