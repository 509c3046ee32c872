"""Participant pages reached through signed links: confirm, manage, cancel, seat offers."""
from flask import Blueprint

bp = Blueprint("participant", __name__)


@bp.after_request
def _not_stored_by_caches(response):
    """These pages show or carry a personal token (in the address, links or forms): no browser
    or proxy cache may keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


from . import surveys, views  # noqa: E402,F401
