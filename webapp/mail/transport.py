"""The SMTP connection (SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USERNAME/PASSWORD)."""
import email.policy
import smtplib
import ssl
import threading

from flask import current_app

from . import dkim

# A server closing a connection it had kept open: it timed out while idle, or limits the
# messages per connection. Detected when the next message is sent.
DROPPED = (smtplib.SMTPServerDisconnected, ConnectionError)


class SMTPSession:
    """One SMTP connection, opened on first use and reused for the following messages; when the
    server has dropped it, the next message goes over a new one."""

    def __init__(self):
        self.connection = None

    def send(self, message, sender, recipients):
        """Send `message` (DKIM-signed when configured); raises smtplib's exceptions and OSError."""
        international = not "".join([sender, *recipients]).isascii()
        policy = email.policy.SMTPUTF8 if international else email.policy.SMTP
        raw = dkim.sign(message.as_bytes(policy=policy))
        options = ["SMTPUTF8", "BODY=8BITMIME"] if international else []
        if self.connection is not None:
            try:
                self.connection.sendmail(sender, recipients, raw, mail_options=options)
                return
            except DROPPED:
                self.close()
        self.connection = connect()
        self.connection.sendmail(sender, recipients, raw, mail_options=options)

    def close(self):
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None


# Per thread (a worker process has one, unless Celery runs a pool of threads): an SMTP
# conversation is never shared.
_kept = threading.local()


def kept_session():
    """The SMTP session this process keeps open from one transactional mail to the next (a rush
    of registrations then costs one connection per worker process, not one per mail), for the
    current SMTP settings; a server that closed it meanwhile gets a new one at the next mail."""
    config = current_app.config
    settings = tuple(config[name] for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USERNAME"))
    if getattr(_kept, "settings", None) != settings:
        if getattr(_kept, "session", None) is not None:
            _kept.session.close()
        _kept.settings, _kept.session = settings, SMTPSession()
    return _kept.session


def connect():
    config = current_app.config
    host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
    if config["SMTP_SECURITY"] == "ssl":
        connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = smtplib.SMTP(host, port, timeout=timeout)
        if config["SMTP_SECURITY"] == "starttls":
            connection.starttls(context=ssl.create_default_context())
    if config["SMTP_USERNAME"]:
        connection.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"])
    return connection
