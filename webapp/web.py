"""Cross-cutting web concerns: security headers, error pages, template helpers.

Error pages are friendly `message.html` pages in the visitor's language (French by default), in
the layout of the part of the site they answer for (`_error_page`).
Dates and labels are written by `webapp.formatting`, shared with mails and calendar files;
organisers' descriptions by `webapp.rich_text` (the `rich_text` filter).
"""
import logging
import re
from itertools import chain
from urllib.parse import urlencode

from flask import abort, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from . import checkin_qr, formatting, rich_text

log = logging.getLogger(__name__)

# Only files served by this site: no inline script or style, no other host, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# status -> (heading, message) of the friendly error pages.
ERROR_PAGES = {
    400: (_l("Demande incorrecte"), _l("Votre navigateur a envoyé une demande que nous ne comprenons pas.")),
    404: (_l("Page introuvable"), _l("Cette page n'existe pas ou n'existe plus. Vérifiez l'adresse, "
                                     "ou repartez de la liste des événements.")),
    405: (_l("Action impossible"), _l("Cette page ne permet pas cette action.")),
    413: (_l("Envoi trop volumineux"), _l("Les données envoyées sont trop volumineuses.")),
    429: (_l("Trop de tentatives"), _l("Vous avez envoyé trop de demandes en peu de temps. "
                                       "Patientez une minute, puis réessayez.")),
    500: (_l("Erreur du service"), _l("Un problème est survenu de notre côté. Réessayez dans quelques instants ; "
                                      "si le problème persiste, écrivez aux personnes qui organisent l'événement.")),
}
CSRF_PAGE = (
    _l("Le formulaire a expiré"),
    _l("Pour votre sécurité, ce formulaire n'est valable qu'un temps. Rechargez la page, puis envoyez-le de nouveau."),
)


def register_web_helpers(app):
    app.before_request(_refuse_nul_bytes)
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.context_processor(_template_globals)
    app.add_template_filter(rich_text.to_html, "rich_text")
    app.add_template_filter(address_breaks, "address")


def _refuse_nul_bytes():
    """A NUL byte never reaches a query (PostgreSQL refuses it in text, SQLite would store it):
    in the path, no such page (404); in the query string or a form, a bad request (400)."""
    if "\x00" in request.path:
        abort(404)
    fields = chain(request.args.items(multi=True), request.form.items(multi=True))
    if any("\x00" in name or "\x00" in value for name, value in fields):
        abort(400)


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
    return _error_page(400, heading=heading, message=message, **links), 400


def _error_page(status, **context):
    """An error page: under /organiser/, in the back office's layout, whose menu only a logged-in
    account sees (an anonymous visitor gets the bare layout of the login page, which tells
    nothing); elsewhere, and for a server error (the account may not even load), in the public
    one. The same page whatever made it (a page that does not exist, or one the account may not
    see)."""
    if status < 500 and request.path.startswith(url_for("organiser.dashboard")):
        context["layout"] = "organiser/base.html"
    return render_template("message.html", **context)


def _http_error(error):
    """Every HTTP error (404, 405, 413, 429, 500…) as a friendly page with the right status."""
    heading, message = ERROR_PAGES.get(error.code, ERROR_PAGES[500 if error.code >= 500 else 400])
    response = error.get_response()  # keeps status and headers such as Allow (405), Retry-After (429)
    response.set_data(_error_page(error.code, heading=heading, message=message))
    response.content_type = "text/html; charset=utf-8"
    return response


def render_form_page(template, form, refused=False, **context):
    """A page with a form: the one way every form of the site answers. When the form comes back with
    mistakes, or what it asked was `refused` (a wrong password), the answer is 422 and the page
    title starts with « Erreur : » (base.html); the page lists the errors (`error_summary` in
    _forms.html)."""
    with_errors = bool(form.errors) or refused
    page = render_template(template, form=form, page_with_errors=with_errors, **context)
    return page, 422 if with_errors else 200


# --- Template helpers ---

def accessible_attributes(field, **attributes):
    """HTML attributes of an input: `required` when it is, and its error message tied to it
    (aria-invalid, aria-describedby) when invalid."""
    if field.flags.required:
        attributes["required"] = True
    if field.errors:
        attributes.update({"aria-invalid": "true", "aria-describedby": f"{field.id}-error"})
    return attributes


def address_breaks(address):
    """An e-mail address (HTML) that may wrap after its @ and its dots, where a reader expects it,
    rather than in the middle of a word: a table column need not be as wide as the whole address."""
    return Markup(re.sub(r"([@.])", r"\1<wbr>", str(escape(address))))


def language_switch_url(language):
    """The current page in another language (`?lang=`, remembered in the session)."""
    args = {key: value for key, value in request.args.items(multi=True) if key != "lang"}
    args["lang"] = language
    return f"{request.path}?{urlencode(args)}"


def _template_globals():
    return {
        "current_locale": lambda: str(get_locale()),
        "language_names": formatting.LANGUAGE_NAMES,
        "language_switch_url": language_switch_url,
        "event_when": formatting.event_when,
        "local_datetime": formatting.local_datetime,
        "workshop_slot": formatting.workshop_slot,
        "accessible_attributes": accessible_attributes,
        "actor_type_label": formatting.actor_type_label,
        "person_name": formatting.person_name,
        "lang_attr": formatting.lang_attr,
        "in_language": formatting.in_language,
        "checkin_qr_svg": checkin_qr.qr_svg,
    }
