"""Cross-cutting web concerns: security headers, error pages, template helpers."""


def register_web_helpers(app):
    pass
