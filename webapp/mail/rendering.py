"""Rendering a mail from its templates, at send time, in the recipient's language.

Each kind has `email_templates/<kind>.txt` and `<kind>.html`, extending the shared layouts
`base.txt` and `base.html`; the subject is the `subject` block of the `.txt` template. The
HTML's `<style>` is inlined into `style=""` attributes (mail clients drop `<style>` blocks).
Images of the HTML part travel in the message (`InlineImage`, shown by `cid:`), never by URL.
"""
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import make_msgid

import css_inline
from flask import current_app
from flask_babel import force_locale
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .. import formatting
from ..checkin_qr import qr_png
from ..extensions import install_gettext
from ..links import absolute_url
from ..services import tokens
from ..services.calendar import build_invite, uid_host
from .kinds import KINDS, MailFamily, MailNotDeliverable

CSS_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)


@dataclass(frozen=True)
class InlineImage:
    """A PNG of the HTML part, sent within the message (multipart/related): the HTML shows it
    with `src`, so that mail clients load nothing from elsewhere."""
    cid: str  # the Content-ID, without its angle brackets
    png: bytes
    width: int
    height: int

    @property
    def src(self):
        return f"cid:{self.cid}"


@dataclass
class RenderedMail:
    subject: str
    text: str
    html: str
    reply_to: list[str] = field(default_factory=list)
    invite: bytes | None = None  # the .ics, for mails that carry the calendar invite
    invite_method: str | None = None
    images: list[InlineImage] = field(default_factory=list)  # the images the HTML shows
    unsubscribe_url: str | None = None  # bulk mail: the recipient's one-click unsubscribe link


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
        install_gettext(env)
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


def checkin_qr_image(kind, registration):
    """The QR image of the registration's check-in code, for a kind that shows it to a person
    holding a seat; None otherwise."""
    if not kind.checkin_code or registration is None or not registration.shows_checkin_code:
        return None
    qr = qr_png(registration.checkin_code)
    return InlineImage(make_msgid("checkin", domain=uid_host()).strip("<>"), qr.png, qr.width, qr.height)


def render_mail(row):
    """Subject, text, HTML (CSS inlined), Reply-To and invite of an outbox row. Call inside
    `rendering_context(row.language)`; raises MailNotDeliverable."""
    kind = KINDS.get(row.kind)
    if kind is None:
        raise MailNotDeliverable(f"unknown mail kind {row.kind!r}")
    # `news_withdraw_url`: set by the mails about a registration whose person agreed to news.
    context = {"lang": row.language, "registration": None, "event": row.event, "news_withdraw_url": None}
    context.update(kind.build_context(row))
    with_invite = kind.invite is not None and row.payload.get("with_invite", True)
    context["with_invite"] = with_invite
    # The templates show the code (text, and QR image in the HTML) when `checkin_qr` is set.
    checkin_qr = context["checkin_qr"] = checkin_qr_image(kind, context["registration"])
    # Bulk mail shows its unsubscribe link in the footer of the shared layouts (and in the headers).
    context["unsubscribe_url"] = (
        absolute_url("participant.unsubscribe", token=tokens.unsubscribe_token(row.recipient))
        if kind.family == MailFamily.bulk else None
    )
    env = mail_templates()
    text_template = env.get_template(f"{row.kind}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(context)))
    context["subject"] = one_line(subject)
    html = env.get_template(f"{row.kind}.html").render(context)
    event = context["event"]
    mail = RenderedMail(
        subject=context["subject"],
        text=text_template.render(context).strip() + "\n",
        html=CSS_INLINER.inline(html),
        reply_to=context.get("reply_to") or ([event.contact_email] if event is not None else []),
        images=[checkin_qr] if checkin_qr else [],
        unsubscribe_url=context["unsubscribe_url"],
    )
    if with_invite:
        mail.invite = build_invite(context["registration"], method=kind.invite.value,
                                   sequence=row.payload.get("sequence"))
        mail.invite_method = kind.invite.value
    return mail
