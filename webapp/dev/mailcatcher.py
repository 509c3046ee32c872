"""A local mail catcher for development (`emgav mailcatcher`, started by `emgav dev`).

An SMTP server (aiosmtpd, 127.0.0.1:1025 by default) keeps every message it receives as an
`.eml` file in `instance/mail/`, and a small web mailbox (127.0.0.1:8025) lists them, newest
first, and shows each one: its HTML part in a sandboxed frame (no script, no same-origin
access, links open in a new tab; the images sent within the message, such as the QR code of a
check-in code, shown in place), its text part, its headers, and every other part (the
calendar invite, those images) to download. Nothing leaves the machine, and no outside mail account is needed.
The mailbox's pages are the templates in `templates/mailcatcher/`.
"""
import base64
import email
import email.policy
import io
import logging
import mimetypes
import re
import signal
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, abort, current_app, render_template, send_file
from flask.cli import with_appcontext
from werkzeug.serving import make_server

MESSAGE_ID = re.compile(r"^\d+-[0-9a-f]{8}$")
# The frame may open links in a new tab, nothing else: no script, no form, no same origin.
FRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"
FRAME_POLICY = (
    f"sandbox {FRAME_SANDBOX}; default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:"
)


class MailStore:
    """Messages as `<receive time in ns>-<random>.eml` files in one directory."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def save(self, content):
        message_id = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        partial = self.directory / f".{message_id}.partial"
        partial.write_bytes(content)
        partial.rename(self.directory / f"{message_id}.eml")  # readers never see half a message
        return message_id

    def ids(self):
        """Message ids, newest first."""
        return sorted((p.stem for p in self.directory.glob("*.eml") if MESSAGE_ID.match(p.stem)),
                      key=lambda i: int(i.split("-")[0]), reverse=True)

    def path(self, message_id):
        if not MESSAGE_ID.match(message_id):
            return None
        path = self.directory / f"{message_id}.eml"
        return path if path.is_file() else None

    def load(self, message_id):
        path = self.path(message_id)
        if path is None:
            return None
        return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def received_at(message_id):
    return datetime.fromtimestamp(int(message_id.split("-")[0]) / 1e9)


class _StoringHandler:
    """aiosmtpd handler: accept every message and store it."""

    def __init__(self, store):
        self.store = store

    async def handle_DATA(self, server, session, envelope):
        self.store.save(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


# --- The web mailbox. ---

def _bodies(message):
    """(html part, text part) of a message, either may be None."""
    return message.get_body(preferencelist=("html",)), message.get_body(preferencelist=("plain",))


def _other_parts(message):
    """Every leaf part that is neither the HTML nor the text body: [(number, part)]."""
    bodies = [b for b in _bodies(message) if b is not None]
    return [
        (number, part) for number, part in enumerate(message.walk())
        if not part.is_multipart() and all(part is not body for body in bodies)
    ]


# A `cid:` reference in the HTML part (src="cid:…"): the part of the message with that Content-ID.
CID_REFERENCE = re.compile(r"""\bcid:([^"'\s>]+)""")


def _with_inline_images(message, html):
    """The HTML with each `cid:` reference replaced by a data: URL of the part it names (a frame
    cannot reach the message's parts); a reference to no part stays as it is."""
    parts = {part["Content-ID"].strip("<>"): part for part in message.walk() if part["Content-ID"]}

    def data_url(match):
        part = parts.get(match.group(1))
        if part is None:
            return match.group(0)
        encoded = base64.b64encode(part.get_payload(decode=True) or b"").decode("ascii")
        return f"data:{part.get_content_type()};base64,{encoded}"

    return CID_REFERENCE.sub(data_url, html)


def _filename(number, part):
    if part.get_filename():
        return part.get_filename()
    extension = ".ics" if part.get_content_type() == "text/calendar" else (
        mimetypes.guess_extension(part.get_content_type()) or ".bin"
    )
    return f"partie-{number}{extension}"


def create_mailbox_app(store):
    """The mailbox's own small Flask app (not the Emgav app)."""
    app = Flask(__name__)  # templates in webapp/dev/templates/mailcatcher/, autoescaped (.html)
    app.extensions["mail_store"] = store

    def load_or_404(message_id):
        message = store.load(message_id)
        if message is None:
            abort(404)
        return message

    @app.get("/")
    def index():
        messages = []
        for message_id in store.ids():
            message = store.load(message_id)
            if message is None:  # deleted meanwhile
                continue
            messages.append({
                "id": message_id, "received": received_at(message_id), "to": message["To"],
                "subject": message["Subject"], "kind": message["X-Emgav-Kind"] or "",
            })
        return render_template("mailcatcher/index.html", messages=messages, directory=store.directory)

    @app.get("/messages/<message_id>")
    def show(message_id):
        message = load_or_404(message_id)
        html, text = _bodies(message)
        parts = [
            {"number": number, "filename": _filename(number, part), "content_type": part.get_content_type(),
             "size": len(part.get_payload(decode=True) or b""), "attachment": part.is_attachment()}
            for number, part in _other_parts(message)
        ]
        return render_template(
            "mailcatcher/message.html", message_id=message_id, subject=message["Subject"],
            received=received_at(message_id),
            headers=list(message.items()), html=html is not None,
            text=text.get_content() if text is not None else None, parts=parts, sandbox=FRAME_SANDBOX,
        )

    @app.get("/messages/<message_id>/html")
    def html_part(message_id):
        message = load_or_404(message_id)
        html = _bodies(message)[0]
        if html is None:
            abort(404)
        content = _with_inline_images(message, html.get_content())
        base = '<base target="_blank">'
        head = re.search(r"<head[^>]*>", content, re.IGNORECASE)
        content = content[:head.end()] + base + content[head.end():] if head else base + content
        return content, 200, {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": FRAME_POLICY}

    @app.get("/messages/<message_id>/parts/<int:number>")
    def part(message_id, number):
        for found_number, found in _other_parts(load_or_404(message_id)):
            if found_number == number:
                return send_file(io.BytesIO(found.get_payload(decode=True) or b""), as_attachment=True,
                                 download_name=_filename(number, found), mimetype=found.get_content_type())
        abort(404)

    @app.get("/messages/<message_id>.eml")
    def raw(message_id):
        path = store.path(message_id)
        if path is None:
            abort(404)
        return send_file(path, mimetype="message/rfc822", as_attachment=True, download_name=f"{message_id}.eml")

    return app


class MailCatcher:
    """The SMTP server and the web mailbox, each in a background thread of this process."""

    def __init__(self, directory, host="127.0.0.1", smtp_port=1025, http_port=8025):
        self.store = MailStore(directory)
        self.host = host
        self.smtp_port = smtp_port
        self.http_port = http_port
        self._smtp = None
        self._http = None

    @property
    def web_url(self):
        return f"http://{self.host}:{self.http_port}/"

    def start(self):
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            raise click.ClickException(
                "the mail catcher needs aiosmtpd: pip install -e '.[dev]' (make run does it)"
            ) from None
        # aiosmtpd and werkzeug would log every connection and request.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._smtp = Controller(_StoringHandler(self.store), hostname=self.host, port=self.smtp_port,
                                data_size_limit=25 * 1024 * 1024)
        self._smtp.start()
        self._http = make_server(self.host, self.http_port, create_mailbox_app(self.store), threaded=True)
        threading.Thread(target=self._http.serve_forever, name="mailbox-web", daemon=True).start()

    def stop(self):
        if self._http is not None:
            self._http.shutdown()
            self._http = None
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None


@click.command("mailcatcher")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address both servers listen on.")
@click.option("--smtp-port", type=int, default=1025, show_default=True, help="SMTP port.")
@click.option("--http-port", type=int, default=8025, show_default=True, help="Port of the web mailbox.")
@click.option("--directory", type=click.Path(file_okay=False, path_type=Path),
              help="Where messages are kept (default: instance/mail).")
@with_appcontext
def mailcatcher_command(host, smtp_port, http_port, directory):
    """Catch every mail sent to the SMTP port and show it in a local web mailbox."""
    directory = directory or Path(current_app.config["INSTANCE_DIR"]) / "mail"
    catcher = MailCatcher(directory, host, smtp_port, http_port)
    catcher.start()
    click.echo(f"Mail catcher: SMTP on {host}:{smtp_port}, mailbox at {catcher.web_url} "
               f"(messages in {directory}). Ctrl-C to stop.")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on SIGTERM too
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        catcher.stop()
