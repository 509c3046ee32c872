"""Rendering a mail from its templates, at send time, in the recipient's language.

Each kind has `email_templates/<kind>.txt` and `<kind>.html`, extending the shared layouts
`base.txt` and `base.html`; the subject is the `subject` block of the `.txt` template. The
HTML's `<style>` is inlined into `style=""` attributes (mail clients drop `<style>` blocks).
"""
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import css_inline
from flask import current_app
from flask_babel import force_locale, get_translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .. import formatting
from ..services.calendar import build_invite
from .kinds import KINDS, MailNotDeliverable


@dataclass
class RenderedMail:
    subject: str
    text: str
    html: str
    reply_to: list[str] = field(default_factory=list)
    invite: bytes | None = None  # the .ics, for mails that carry the calendar invite
    invite_method: str | None = None


def mail_templates():
    """The Jinja2 environment of `EMAIL_TEMPLATES_DIR` (one per app): autoescape in .html,
    gettext from Flask-Babel, and the formatting helpers of the pages."""
    env = current_app.extensions.get("emgav_mail_templates")
    if env is None:
        env = Environment(
            loader=FileSystemLoader(current_app.config["EMAIL_TEMPLATES_DIR"]),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_callables(
            lambda message: get_translations().gettext(message),
            lambda singular, plural, n: get_translations().ngettext(singular, plural, n),
            newstyle=True,
        )
        env.globals.update(
            event_when=formatting.event_when,
            format_event_datetime=formatting.format_event_datetime,
            timezone_label=formatting.timezone_label,
            workshop_line=formatting.workshop_line,
            workshop_slot=formatting.workshop_slot,
            lang_attr=formatting.lang_attr,
            in_language=formatting.in_language,
            status_label=lambda registration: formatting.registration_status_label(registration.status),
        )
        current_app.extensions["emgav_mail_templates"] = env
    return env


@contextmanager
def rendering_context(language):
    """What rendering needs outside a web request: a request context at BASE_URL (for the
    templates' `url_for`), and gettext in `language`."""
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]), force_locale(language):
        yield


# Whitespace that may break a line: every kind but the no-break spaces of French typography.
BREAKING_SPACES = re.compile(r"[^\S\u00a0\u202f]+")


def one_line(text):
    """Text for a header: CR, LF and runs of spaces become one space; no-break spaces stay."""
    return BREAKING_SPACES.sub(" ", str(text)).strip(" ")


def render_mail(row):
    """Subject, text, HTML (CSS inlined), Reply-To and invite of an outbox row. Call inside
    `rendering_context(row.language)`; raises MailNotDeliverable."""
    kind = KINDS.get(row.kind)
    if kind is None:
        raise MailNotDeliverable(f"unknown mail kind {row.kind!r}")
    context = {"lang": row.language, "registration": None, "event": row.event}
    context.update(kind.build_context(row))
    with_invite = kind.invite is not None and row.payload.get("with_invite", True)
    context["with_invite"] = with_invite
    env = mail_templates()
    text_template = env.get_template(f"{row.kind}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(context)))
    context["subject"] = one_line(subject)
    html = env.get_template(f"{row.kind}.html").render(context)
    event = context["event"]
    mail = RenderedMail(
        subject=context["subject"],
        text=text_template.render(context).strip() + "\n",
        html=css_inline.CSSInliner(load_remote_stylesheets=False).inline(html),
        reply_to=context.get("reply_to") or ([event.contact_email] if event is not None else []),
    )
    if with_invite:
        mail.invite = build_invite(context["registration"], method=kind.invite.value,
                                   sequence=row.payload.get("sequence"))
        mail.invite_method = kind.invite.value
    return mail
