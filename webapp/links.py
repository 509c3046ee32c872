"""Absolute links, always at BASE_URL.

A link shown on a page or written in a mail never depends on the request's Host header (which
anybody can set): it is built from the configured public address of the site. Works in a web
request, a Celery task or a command alike (needs only an application context).
"""
from urllib.parse import urlsplit

from flask import current_app


def absolute_url(endpoint, **values):
    """e.g. absolute_url("participant.manage", token=…) -> "https://inscriptions.example.org/manage/…"."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
