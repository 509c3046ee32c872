"""Creating and updating events from TOML files (`emgav events import FILE`, `emgav seed-demo`).

The file format is documented in README.md ("Event files (TOML)"). `import_event` checks the
whole file first and changes nothing when something is wrong: every problem is listed in one
`EventImportError`. An event is found again by its `slug`, a workshop by its `key`, so
importing the same file twice changes nothing.

Changes to an existing event have consequences that belong to the registration services:
a new time or place sends updated invites, a cancellation cancels everyone, and a raised
capacity (or a reopened registration window) hands the free seats to the people waiting.
"""
import re
import tomllib
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import Event, EventStatus, Workshop, WorkshopBooking
from . import registrations
from .dispatch import OFFER_FREE_SEATS, enqueue_after_commit

DEFAULT_TIMEZONE = "Europe/Paris"
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# Keys of the file: (key, required). Text values are checked against the column's length.
EVENT_FIELDS = {
    "slug": True, "title": True, "description": False, "status": False, "timezone": False,
    "starts_at": True, "ends_at": True, "venue_name": False, "venue_address": False,
    "online_url": False, "capacity": False, "registration_opens_at": False,
    "registration_closes_at": False, "contact_email": True, "workshops": False,
}
WORKSHOP_FIELDS = {
    "key": True, "title": True, "description": False, "starts_at": True, "ends_at": True,
    "room": False, "capacity": False,
}
# A change of one of these sends an updated invite to the people who hold a seat.
INVITE_FIELDS = ("starts_at", "ends_at", "venue_name", "venue_address")


class EventImportError(Exception):
    """The file cannot be imported; `errors` lists every problem found, in French."""

    def __init__(self, errors):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def load_event_file(path):
    """Parse an event file (TOML) into a dict; raises EventImportError when it is not valid TOML."""
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as exc:
        raise EventImportError([_("TOML invalide : %(error)s", error=exc)]) from None
    except OSError as exc:
        raise EventImportError([_("Impossible de lire %(path)s : %(error)s", path=path, error=exc.strerror)]) from None


def import_event(data):
    """Create or update the event described by `data` (a parsed event file) and its workshops.

    Returns `(event, created)`. Raises EventImportError, with nothing changed, when the data is
    invalid or would break what people already booked. Commits.
    """
    errors = []
    values, workshops = _clean_event(data, errors)
    if errors:
        raise EventImportError(errors)
    event = db.session.scalars(
        select(Event).where(Event.slug == values["slug"]).with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if event is None:
        event = Event(**values)
        event.workshops = [Workshop(**w) for w in workshops]
        db.session.add(event)
        db.session.commit()
        return event, True
    _update_event(event, values, workshops)
    db.session.commit()
    return event, False


def _update_event(event, values, workshops):
    """Apply new values to an existing event (locked for this transaction), with their effects."""
    # Lock the seat counters of the workshops too: nobody takes a seat while we compare.
    current = {
        w.key: w for w in db.session.scalars(
            select(Workshop).where(Workshop.event_id == event.id).with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    errors = []
    if event.status == EventStatus.cancelled and values["status"] != EventStatus.cancelled:
        errors.append(_("L'événement « %(slug)s » est annulé : il ne peut pas changer de statut.", slug=event.slug))
    _check_capacity(event, values["capacity"], _("l'événement"), errors)
    for fields in workshops:
        if fields["key"] in current:
            _check_capacity(current[fields["key"]], fields["capacity"],
                            _("l'atelier « %(key)s »", key=fields["key"]), errors)
    kept = {w["key"] for w in workshops}
    removed = [w for key, w in current.items() if key not in kept]
    for workshop in removed:
        if db.session.scalar(select(WorkshopBooking.id).where(WorkshopBooking.workshop_id == workshop.id).limit(1)):
            errors.append(_("L'atelier « %(key)s » a des inscriptions : il ne peut pas être retiré du fichier.",
                            key=workshop.key))
    if errors:
        db.session.rollback()
        raise EventImportError(errors)

    cancelling = event.status != EventStatus.cancelled and values["status"] == EventStatus.cancelled
    invite_changed = any(_differs(event, name, values[name]) for name in INVITE_FIELDS)
    for name, value in values.items():
        if name != "status" or not cancelling:  # cancel_event changes the status itself
            _assign(event, name, value)
    for workshop in removed:
        event.workshops.remove(workshop)
    for fields in workshops:
        workshop = current.get(fields["key"])
        if workshop is None:
            event.workshops.append(Workshop(**fields))
            continue
        for name, value in fields.items():
            _assign(workshop, name, value)
    db.session.flush()

    if cancelling:
        registrations.cancel_event(event)  # sets the status
    elif invite_changed:
        registrations.notify_event_changed(event)
    if event.status != EventStatus.cancelled:
        # A raised capacity, a reopened registration window or a new publication may leave seats
        # for the people waiting: the task offers them (and does nothing when there are none).
        enqueue_after_commit(db.session, OFFER_FREE_SEATS, event.id)


def _check_capacity(pool, capacity, label, errors):
    if capacity is not None and capacity < pool.seats_taken:
        errors.append(_("La capacité de %(label)s (%(capacity)s) est inférieure aux %(taken)s places déjà prises.",
                        label=label, capacity=capacity, taken=pool.seats_taken))


def _differs(obj, name, value):
    return getattr(obj, name) != value


def _assign(obj, name, value):
    """Set an attribute only when it changes, so that an identical import writes nothing."""
    if _differs(obj, name, value):
        setattr(obj, name, value)


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
        "venue_name": _text(data, "venue_name", Event, errors),
        "venue_address": _text(data, "venue_address", Event, errors),
        "online_url": _text(data, "online_url", Event, errors),
        "contact_email": _email(data, "contact_email", errors),
        "status": _status(data, errors),
        "capacity": _capacity(data, "capacity", _("l'événement"), errors),
    }
    if values["slug"] and not SLUG_PATTERN.match(values["slug"]):
        errors.append(_("« slug » ne peut contenir que des minuscules sans accent, des chiffres et des tirets "
                        "(par exemple journee-ess-2027), pas « %(slug)s ».", slug=values["slug"]))
    tz = _timezone(data, errors)
    values["timezone"] = tz.key if tz else DEFAULT_TIMEZONE
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        values[name] = _datetime(data, name, tz, _("l'événement"), errors)
    _check_order(values, "starts_at", "ends_at", _("l'événement"), errors)
    _check_order(values, "registration_opens_at", "registration_closes_at", _("l'événement"), errors)

    workshops = []
    raw_workshops = data.get("workshops", [])
    if not isinstance(raw_workshops, list) or not all(isinstance(w, dict) for w in raw_workshops):
        errors.append(_("« workshops » doit être une liste de tables [[workshops]]."))
        raw_workshops = []
    keys = set()
    for number, raw in enumerate(raw_workshops, start=1):
        workshop = _clean_workshop(raw, number, tz, errors)
        if workshop["key"] and workshop["key"] in keys:
            errors.append(_("Deux ateliers ont la même clé « %(key)s ».", key=workshop["key"]))
        keys.add(workshop["key"])
        if None not in (workshop["starts_at"], workshop["ends_at"], values["starts_at"], values["ends_at"]) and (
            workshop["starts_at"] < values["starts_at"] or workshop["ends_at"] > values["ends_at"]
        ):
            errors.append(_("L'atelier « %(key)s » doit avoir lieu pendant l'événement.", key=workshop["key"]))
        workshops.append(workshop)
    return values, workshops


def _clean_workshop(data, number, tz, errors):
    key = data.get("key")
    label = _("l'atelier « %(key)s »", key=key) if key else _("l'atelier n° %(number)s", number=number)
    _check_keys(data, WORKSHOP_FIELDS, label, errors)
    values = {
        "key": _text(data, "key", Workshop, errors, label),
        "title": _text(data, "title", Workshop, errors, label),
        "description": _text(data, "description", Workshop, errors, label),
        "room": _text(data, "room", Workshop, errors, label),
        "capacity": _capacity(data, "capacity", label, errors),
    }
    if values["key"] and not SLUG_PATTERN.match(values["key"]):
        errors.append(_("La clé de %(label)s ne peut contenir que des minuscules sans accent, des chiffres "
                        "et des tirets.", label=label))
    for name in ("starts_at", "ends_at"):
        values[name] = _datetime(data, name, tz, label, errors)
    _check_order(values, "starts_at", "ends_at", label, errors)
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


def _email(data, name, errors):
    value = data.get(name)
    if not value:
        return ""
    try:
        return validate_email(str(value), check_deliverability=False).normalized
    except EmailNotValidError:
        errors.append(_("« %(field)s » n'est pas une adresse électronique valide : %(value)s.", field=name, value=value))
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


def _check_order(values, first, second, label, errors):
    if values.get(first) and values.get(second) and values[second] <= values[first]:
        errors.append(_("« %(second)s » de %(label)s doit être après « %(first)s ».",
                        first=first, second=second, label=label))
