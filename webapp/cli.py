"""The `emgav` console script: a Flask CLI group.

Flask gives `emgav run`, `emgav shell` and (through Flask-Migrate) `emgav db upgrade`; this
module adds `emgav seed-demo`, `emgav events import FILE`, `emgav users …`, and the development commands of
`webapp.dev`, `emgav dev` and `emgav mailcatcher`, imported only when they are looked up.
Like every Flask CLI, `emgav` reads a `.env` file (found from the current directory upwards)
before it builds the app; variables already set in the environment win.
"""
import sys
from importlib import import_module
from pathlib import Path

import click
from flask.cli import FlaskGroup, NoAppException, with_appcontext

from .formatting import user_role_label
from .services import accounts
from .services.errors import AccountError, AccountErrorCode
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
            try:
                return getattr(import_module(module), command)
            except ModuleNotFoundError as missing:  # a server install without the dev extras
                raise click.ClickException(
                    f"`emgav {name}` needs the development packages ({missing.name.split('.')[0]} is missing): "
                    "pip install -e '.[dev]' (make run does it)") from None
        return super().get_command(ctx, name)


@click.group(cls=EmgavGroup, create_app=_create_app)
def cli():
    """Emgav: event registration and mailing service."""


def _import_event_file(path, remove_booked_workshops=False):
    try:
        event, created = import_event(load_event_file(path), remove_booked_workshops=remove_booked_workshops)
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
@click.option("--remove-booked-workshops", is_flag=True,
              help="Retirer aussi les ateliers réservés que le fichier ne liste plus : leurs réservations "
                   "sont annulées et les personnes prévenues par courriel.")
@with_appcontext
def import_event_command(file, remove_booked_workshops):
    """Create or update an event from a TOML FILE (format: README.md, "Event files")."""
    _import_event_file(file, remove_booked_workshops)


@click.group("users")
def users_group():
    """Manage the accounts of the back office (/organiser/)."""


def _read_password():
    """From a prompt (typed twice, not shown) on a terminal; otherwise the first line of stdin."""
    if sys.stdin.isatty():
        return click.prompt("Mot de passe", hide_input=True,
                            confirmation_prompt="Le même mot de passe, une seconde fois")
    return sys.stdin.readline().rstrip("\r\n")


def _account_error(exc):
    return click.ClickException(accounts.error_message(exc))


def _account_of(email):
    """The account with this address, or a ClickException that says none has it."""
    user = accounts.user_by_email(email)
    if user is None:
        raise _account_error(AccountError(AccountErrorCode.unknown_email))
    return user


@users_group.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Administration : tous les événements, les comptes et les équipes.")
@with_appcontext
def create_user_command(email, admin):
    """Create an account for EMAIL; the password is asked for (or read from standard input)."""
    try:
        accounts.normalise_email(email)  # a wrong address is said before the password is asked for
        user = accounts.create_user(email, _read_password(), role="admin" if admin else "organiser")
    except AccountError as exc:
        raise _account_error(exc) from None
    click.echo(f"Compte créé : {user.email} ({user_role_label(user.role)})")


@users_group.command("list")
@with_appcontext
def list_users_command():
    """List the accounts: address, role, state."""
    users = accounts.list_users()
    if not users:
        click.echo("Aucun compte. Créez le premier : emgav users create VOUS@EXEMPLE.ORG --admin")
    for user in users:
        state = "actif" if user.active else "désactivé"
        click.echo(f"{user.email}\t{user_role_label(user.role)}\t{state}")


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def disable_user_command(email):
    """Disable the account of EMAIL: it can no longer log in, and its sessions end."""
    user = _account_of(email)
    accounts.disable_user(user)
    click.echo(f"Compte désactivé : {user.email}")


@users_group.command("enable")
@click.argument("email")
@with_appcontext
def enable_user_command(email):
    """Enable the disabled account of EMAIL again: it can log in with its password."""
    user = _account_of(email)
    accounts.enable_user(user)
    click.echo(f"Compte réactivé : {user.email}")


COMMANDS = [seed_demo_command, events_group, users_group]

# On the group itself, so that `emgav <command>` is found even when the app cannot be built,
# and then says why (e.g. SECRET_KEY missing) instead of "No such command".
for _command in COMMANDS:
    cli.add_command(_command)


def register_commands(app):
    """Also offer the commands on `app.cli` (`flask --app webapp …`, `app.test_cli_runner()`)."""
    for command in COMMANDS:
        app.cli.add_command(command)
