"""Participant pages reached through signed links: confirm, manage, cancel, seat offers."""
from flask import Blueprint

bp = Blueprint("participant", __name__)

from . import views  # noqa: E402,F401
