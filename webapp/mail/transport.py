"""The SMTP connection (SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USERNAME/PASSWORD)."""
import smtplib
import ssl

from flask import current_app


class SMTPSession:
    """One SMTP connection, opened on first use and reused for the following messages."""

    def __init__(self):
        self.connection = None

    def send(self, message, sender, recipients):
        if self.connection is None:
            self.connection = connect()
        self.connection.send_message(message, from_addr=sender, to_addrs=recipients)

    def close(self):
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None


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
