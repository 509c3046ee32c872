"""Cross-cutting web concerns: security headers, error pages, template helpers.

Error pages are friendly `message.html` pages in the visitor's language (French by default);
dates are always shown in the event's own time zone, whatever the visitor's.
"""
import logging
from urllib.parse import urlencode

from babel.dates import get_timezone_location
from flask import current_app, render_template, request
from flask_babel import format_date, format_time, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .models import ACTOR_TYPES

log = logging.getLogger(__name__)

# Language switch: each language named in itself.
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}

# Only files served by this site: no inline script or style, no other host, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# status -> (heading, message) of the friendly error pages.
ERROR_PAGES = {
    400: (_l("Demande incorrecte"), _l("Votre navigateur a envoyé une demande que nous ne comprenons pas.")),
    404: (_l("Page introuvable"), _l("Cette page n'existe pas ou n'existe plus. Vérifiez l'adresse, ou repartez de la liste des événements.")),
    405: (_l("Action impossible"), _l("Cette page ne permet pas cette action.")),
    413: (_l("Envoi trop volumineux"), _l("Les données envoyées sont trop volumineuses.")),
    429: (_l("Trop de tentatives"), _l("Vous avez envoyé trop de demandes en peu de temps. Patientez une minute, puis réessayez.")),
    500: (_l("Erreur du service"), _l("Un problème est survenu de notre côté. Réessayez dans quelques instants ; si le problème persiste, écrivez aux personnes qui organisent l'événement.")),
}
CSRF_PAGE = (
    _l("Le formulaire a expiré"),
    _l("Pour votre sécurité, ce formulaire n'est valable qu'un temps. Rechargez la page, puis envoyez-le de nouveau."),
)


def register_web_helpers(app):
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.context_processor(_template_globals)
    app.add_template_filter(paragraphs)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Participant links carry tokens: never tell another site which page sent the visitor.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if current_app.config["BASE_URL"].startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _csrf_error(error):
    """The form's CSRF token is missing, forged or from an old session: offer to reload the form."""
    log.info("CSRF check failed on %s: %s", request.path, error.description)
    heading, message = CSRF_PAGE
    links = {}
    if request.url_rule is not None and "GET" in request.url_rule.methods:
        links = {"link_url": request.path, "link_text": _("Recharger le formulaire")}
    return render_template("message.html", heading=heading, message=message, **links), 400


def _http_error(error):
    """Every HTTP error (404, 405, 413, 429, 500…) as a friendly page with the right status."""
    heading, message = ERROR_PAGES.get(error.code, ERROR_PAGES[500 if error.code >= 500 else 400])
    response = error.get_response()  # keeps status and headers such as Allow (405), Retry-After (429)
    response.set_data(render_template("message.html", heading=heading, message=message))
    response.content_type = "text/html; charset=utf-8"
    return response


# --- Template helpers, app-wide (pages, mails and calendar files write dates the same way) ---

def event_local(moment, event):
    """`moment` (an aware datetime) in the event's time zone."""
    return moment.astimezone(event.tz)


def format_event_date(moment, event):
    """e.g. « mercredi 12 juin 2030 », in the event's zone."""
    return format_date(event_local(moment, event), "full", rebase=False)


def format_event_time(moment, event):
    """e.g. « 09:30 », in the event's zone."""
    return format_time(event_local(moment, event), "short", rebase=False)


def format_event_datetime(moment, event):
    """e.g. « mercredi 12 juin 2030 à 09:30 », in the event's zone."""
    return _("%(date)s à %(time)s", date=format_event_date(moment, event), time=format_event_time(moment, event))


def format_event_span(starts_at, ends_at, event, with_date=True):
    """A time slot in the event's zone: « mercredi 12 juin 2030, de 09:30 à 17:30 » (« de 09:30 à
    17:30 » without the date), or « du … à … au … à … » when it spans several days."""
    if event_local(starts_at, event).date() != event_local(ends_at, event).date():
        return _("du %(start)s au %(end)s", start=format_event_datetime(starts_at, event),
                 end=format_event_datetime(ends_at, event))
    hours = _("de %(start)s à %(end)s", start=format_event_time(starts_at, event),
              end=format_event_time(ends_at, event))
    if not with_date:
        return hours
    return _("%(date)s, %(hours)s", date=format_event_date(starts_at, event), hours=hours)


def timezone_label(event):
    """e.g. « heure de Paris »: tells people elsewhere which clock the times follow."""
    city = get_timezone_location(event.tz, locale=get_locale(), return_city=True)
    return _("heure de %(city)s", city=city)


def is_single_day(event):
    return event.local_start.date() == event.local_end.date()


def event_when(event):
    """When the event takes place: « mercredi 12 juin 2030, de 09:30 à 17:30 (heure de Paris) »."""
    return _("%(moment)s (%(zone)s)", moment=format_event_span(event.starts_at, event.ends_at, event),
             zone=timezone_label(event))


def local_datetime(event, moment):
    """A moment (registration opening, an offer's expiry…) in the event's zone:
    « mercredi 12 juin 2030 à 09:30 (heure de Paris) »."""
    return _("%(moment)s (%(zone)s)", moment=format_event_datetime(moment, event), zone=timezone_label(event))


def workshop_slot(workshop):
    """A workshop's time slot: « de 14:00 à 15:30 », with the day when the event lasts several days."""
    event = workshop.event
    return format_event_span(workshop.starts_at, workshop.ends_at, event, with_date=not is_single_day(event))


def actor_type_label(key):
    label = ACTOR_TYPES.get(key)
    return _(label) if label else key


def accessible_attributes(field, **attributes):
    """HTML attributes of an input: `required` when it is, and its error message tied to it
    (aria-invalid, aria-describedby) when invalid."""
    if field.flags.required:
        attributes["required"] = True
    if field.errors:
        attributes.update({"aria-invalid": "true", "aria-describedby": f"{field.id}-error"})
    return attributes


def paragraphs(text):
    """Split plain text into paragraphs (at blank lines), each a list of lines; templates
    join the lines with <br> and escape each one, so user text never becomes markup."""
    blocks = [block.strip() for block in (text or "").replace("\r\n", "\n").split("\n\n")]
    return [block.split("\n") for block in blocks if block]


def language_switch_url(language):
    """The current page in another language (`?lang=`, remembered in the session)."""
    args = {key: value for key, value in request.args.items(multi=True) if key != "lang"}
    args["lang"] = language
    return f"{request.path}?{urlencode(args)}"


def _template_globals():
    return {
        "current_locale": lambda: str(get_locale()),
        "language_names": LANGUAGE_NAMES,
        "language_switch_url": language_switch_url,
        "format_event_date": format_event_date,
        "format_event_time": format_event_time,
        "format_event_datetime": format_event_datetime,
        "format_event_span": format_event_span,
        "timezone_label": timezone_label,
        "event_when": event_when,
        "local_datetime": local_datetime,
        "workshop_slot": workshop_slot,
        "accessible_attributes": accessible_attributes,
        "actor_type_label": actor_type_label,
    }
