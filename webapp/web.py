"""Cross-cutting web concerns: security headers, error pages, template helpers."""
from flask_babel import get_locale


def register_web_helpers(app):
    @app.context_processor
    def _helpers():
        return {"current_locale": lambda: str(get_locale())}
