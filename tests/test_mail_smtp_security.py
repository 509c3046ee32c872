"""SMTP_SECURITY (starttls, ssl) and SMTP login, against aiosmtpd servers that require them.

The servers use a self-signed certificate made with the `openssl` command; the client trusts
it through SSL_CERT_FILE, as an operator would trust a private CA.
"""
import email
import email.policy
import shutil
import ssl
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from webapp.extensions import db
from webapp.mail import delivery
from webapp.models import OutboxMail, OutboxStatus

from . import support

USERNAME, PASSWORD = "emgav", "s3cret-password"

# With implicit TLS (SMTP_SECURITY=ssl) the whole session is encrypted, but aiosmtpd only
# counts STARTTLS as TLS, so it warns that AUTH does not require TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


class Mailbox:
    """aiosmtpd handler keeping the messages it accepted."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"


def check_login(server, session, envelope, mechanism, auth_data):
    valid = (auth_data.login, auth_data.password) == (USERNAME.encode(), PASSWORD.encode())
    return AuthResult(success=valid, handled=False)  # handled=False: aiosmtpd answers 535 on failure


@pytest.fixture(params=["starttls", "ssl"])
def secure_server(request, certificate, app, monkeypatch):
    """An SMTP server that only takes mail over TLS and after login; the app points at it."""
    cert, key = certificate
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    mailbox, port = Mailbox(), support.free_port()
    if request.param == "starttls":
        options = dict(tls_context=tls, require_starttls=True, auth_require_tls=True)
    else:
        options = dict(ssl_context=tls, auth_require_tls=False)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=check_login, auth_required=True,
                            auth_exclude_mechanism=["CRAM-MD5", "LOGIN"], **options)  # PLAIN only
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    for key_, value in dict(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY=request.param,
                            SMTP_USERNAME=USERNAME, SMTP_PASSWORD=PASSWORD).items():
        monkeypatch.setitem(app.config, key_, value)
    yield mailbox
    controller.stop()


@pytest.fixture
def row(app_ctx, make_event):
    """The confirm_address row of a registration, two days ahead: out of reach of the session's worker."""
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2), tick=True):
        registration = support.person(make_event(), confirm=False)
        yield db.session.scalars(select(OutboxMail).where(OutboxMail.registration_id == registration.id)).one()


def deliver(row):
    delivery.deliver(row.id)
    db.session.refresh(row)
    return row


def test_mail_is_sent_over_tls_after_login(secure_server, row):
    assert (deliver(row).status, row.last_error) == (OutboxStatus.sent, None)
    [mail] = secure_server.messages
    assert mail["X-Emgav-Kind"] == "confirm_address"


def test_wrong_password_is_retried_not_failed(secure_server, row, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", "wrong")
    assert deliver(row).status == OutboxStatus.retrying
    assert row.last_error.startswith("535")
    assert secure_server.messages == []
