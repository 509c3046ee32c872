"""The `emgav` console script: a Flask CLI group (`emgav run`, `emgav db upgrade`, …)."""
import click
from flask.cli import FlaskGroup


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def cli():
    """Emgav: event registration and mailing service."""


def register_commands(app):
    pass
