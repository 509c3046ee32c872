"""The `emgav` console script: a Flask CLI group.

Flask gives `emgav run`, `emgav shell` and (through Flask-Migrate) `emgav db upgrade`; this
module adds `emgav seed-demo`, `emgav events import FILE`, and the development commands of
`webapp.dev`, `emgav dev` and `emgav mailcatcher`, imported only when they are looked up.
Like every Flask CLI, `emgav` reads a `.env` file (found from the current directory upwards)
before it builds the app; variables already set in the environment win.
"""
from importlib import import_module
from pathlib import Path

import click
from flask.cli import FlaskGroup, NoAppException, with_appcontext

from .services.event_files import import_event, load_event_file
from .services.events import EventRuleError

DEMO_EVENT_FILE = Path(__file__).parent / "demo" / "journee-ess-solidarite-internationale.toml"


def _create_app():
    from . import create_app
    from .config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:  # a clear message instead of a traceback
        raise NoAppException(f"configuration: {exc}") from None


# Development tooling: not loaded by `create_app`, so neither gunicorn nor Celery imports it.
DEV_COMMANDS = {
    "dev": "webapp.dev.stack:dev_command",
    "mailcatcher": "webapp.dev.mailcatcher:mailcatcher_command",
}


class EmgavGroup(FlaskGroup):
    """Flask's CLI group, plus the development commands, imported when looked up (click's lazy group)."""

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *DEV_COMMANDS})

    def get_command(self, ctx, name):
        if name in DEV_COMMANDS:
            module, _, command = DEV_COMMANDS[name].partition(":")
            return getattr(import_module(module), command)
        return super().get_command(ctx, name)


@click.group(cls=EmgavGroup, create_app=_create_app)
def cli():
    """Emgav: event registration and mailing service."""


def _import_event_file(path):
    try:
        event, created = import_event(load_event_file(path))
    except EventRuleError as exc:
        raise click.ClickException(f"{path} n'a pas été importé :\n- " + "\n- ".join(exc.errors)) from None
    action = "créé" if created else "à jour"
    click.echo(f"Événement {action} : {event.title} ({event.slug}, {len(event.workshops)} atelier(s))")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Load the demo event (running it again changes nothing)."""
    _import_event_file(DEMO_EVENT_FILE)


@click.group("events")
def events_group():
    """Manage events."""


@events_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_event_command(file):
    """Create or update an event from a TOML FILE (format: README.md, "Event files")."""
    _import_event_file(file)


COMMANDS = [seed_demo_command, events_group]

# On the group itself, so that `emgav <command>` is found even when the app cannot be built,
# and then says why (e.g. SECRET_KEY missing) instead of "No such command".
for _command in COMMANDS:
    cli.add_command(_command)


def register_commands(app):
    """Also offer the commands on `app.cli` (`flask --app webapp …`, `app.test_cli_runner()`)."""
    for command in COMMANDS:
        app.cli.add_command(command)
