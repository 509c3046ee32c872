"""The key that tells one person's registrations apart from another's without their address: a
keyed hash (HMAC-SHA256 with SECRET_KEY) of the address, stored with each registration. It stays
when a registration is anonymised at the end of its retention period, so the dashboards still
count the people who came back to the network; nobody can read the address back from it."""
import hashlib
import hmac

from flask import current_app


def person_key(address):
    """The key of an address (case and spaces ignored); None for no address."""
    if address is None:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"emgav-person:" + address.strip().lower().encode(), hashlib.sha256).hexdigest()
