"""The MIME message of an outbox row, with the headers of a mail that lands (DESIGN.md).

With an invite: multipart/mixed → [multipart/alternative → (text, HTML, text/calendar),
invite.ics]; without: multipart/alternative → (text, HTML). When the HTML shows images (the QR
code of the check-in code), the HTML becomes multipart/related → (HTML, image/png…), in the same
place: multipart/alternative → (text, multipart/related → (HTML, image/png), text/calendar).
"""
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, parseaddr

from flask import current_app

from ..models.base import utcnow
from .kinds import MailNotDeliverable
from .outbox import new_message_id
from .rendering import one_line, render_mail, rendering_context


def encoded_subject(subject):
    """The Subject header's value, folded so that it decodes to exactly `subject`.

    The `email` package's own folding can put the space after a colon between two encoded
    words, where decoders drop it (« réseau :coopérations », CPython 3.11/3.12). Here, text
    with non-ASCII characters is encoded whole, spaces inside the encoded words.
    """
    if subject.isascii():
        return subject
    return Header(subject, "utf-8", header_name="Subject").encode(linesep="\n")


def set_header(message, name, value):
    """`message[name] = value`; a short ASCII value on one line is stored as it is, sparing the
    `email` package parsing it now and folding it again when the message is written."""
    if value.isascii() and len(name) + 2 + len(value) <= 78 and "\r" not in value and "\n" not in value:
        message.set_raw(name, value)
    else:
        message[name] = value


def build_message(row):
    """The complete message of an outbox row, rendered now in the row's language. Names with
    CR/LF cannot add headers: they are flattened to one line, and `email` refuses the rest."""
    with rendering_context(row.language):
        mail = render_mail(row)
    registration = row.registration
    try:
        recipient = Address(display_name=one_line(registration.full_name) if registration else "",
                            addr_spec=row.recipient)
    except ValueError as exc:
        raise MailNotDeliverable(f"invalid recipient address: {exc}") from None

    message = EmailMessage()
    message.set_raw("Subject", encoded_subject(mail.subject))
    set_header(message, "From", current_app.config["MAIL_FROM"])
    message["To"] = recipient
    if mail.reply_to:
        set_header(message, "Reply-To", ", ".join(mail.reply_to))
    set_header(message, "Date", format_datetime(utcnow()))
    set_header(message, "Message-ID", row.message_id or new_message_id())
    set_header(message, "Auto-Submitted", "auto-generated")
    set_header(message, "X-Emgav-Kind", row.kind)
    if mail.unsubscribe_url:  # bulk mail: one-click unsubscribe (RFC 2369, RFC 8058)
        sender = parseaddr(current_app.config["MAIL_FROM"])[1]
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>, <mailto:{sender}?subject=unsubscribe>"
        set_header(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        set_header(message, "Precedence", "bulk")
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    if mail.images:  # the HTML part becomes a multipart/related: the HTML, then its images
        html_part = message.get_body(("html",))
        for image in mail.images:
            html_part.add_related(image.png, maintype="image", subtype="png", cid=f"<{image.cid}>")
    if mail.invite:
        calendar_part = MIMEPart()
        # Bytes, so the .ics keeps its CRLF line ends (RFC 5545) byte for byte.
        calendar_part.set_content(mail.invite, maintype="text", subtype="calendar",
                                  params={"method": mail.invite_method, "charset": "utf-8"})
        message.attach(calendar_part)
        message.add_attachment(mail.invite, maintype="application", subtype="ics", filename="invite.ics")
    set_header(message, "Content-Language", row.language)  # after the body: setting content drops Content-* headers
    return message
