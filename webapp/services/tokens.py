"""Signed participant links.

Links carry the registration id and its `token_version`, signed with SECRET_KEY
(itsdangerous): they cannot be guessed or forged, and raising `token_version` revokes every
link of a registration at once. Each kind of link has its own salt, so a manage link cannot
be used as a confirmation link.
"""
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .suppressions import address_hash


class InvalidLink(Exception):
    """The link is forged, damaged, expired or revoked. `reason` is 'invalid' or 'expired'."""

    def __init__(self, reason="invalid"):
        super().__init__(reason)
        self.reason = reason


def _serializer(purpose):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"emgav-{purpose}")


def make_token(purpose, *values):
    return _serializer(purpose).dumps(list(values))


def read_token(purpose, token, max_age=None):
    """Return the signed values, or raise InvalidLink."""
    try:
        values = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvalidLink("expired") from None
    except (BadSignature, UnicodeError, ValueError):
        raise InvalidLink("invalid") from None
    if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
        raise InvalidLink("invalid")
    return values


def confirm_token(registration):
    return make_token("confirm", registration.id, registration.token_version)


def manage_token(registration):
    return make_token("manage", registration.id, registration.token_version)


def data_access_token(registration):
    """The link, mailed to the person, to download everything held about their address."""
    return make_token("data-access", registration.id, registration.token_version)


def news_consent_token(registration):
    """The link to withdraw one's consent to news from the network."""
    return make_token("news-consent", registration.id, registration.token_version)


def offer_token(offer):
    return make_token("offer", offer.id, offer.registration.token_version)


def unsubscribe_token(address):
    """The link of an address's bulk mail to unsubscribe: it carries the address's keyed hash
    (never the address) and does not expire."""
    return _serializer("unsubscribe").dumps(address_hash(address))


def read_unsubscribe_token(token):
    """The hashed address of an unsubscribe link, or raise InvalidLink."""
    try:
        digest = _serializer("unsubscribe").loads(token)
    except (BadSignature, UnicodeError, ValueError):
        raise InvalidLink("invalid") from None
    if not isinstance(digest, str) or len(digest) != 64:
        raise InvalidLink("invalid")
    return digest
