"""Public pages: events, registration form, calendar files, health check."""
from flask import Blueprint

bp = Blueprint("public", __name__)

from . import views  # noqa: E402,F401
