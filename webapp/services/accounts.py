"""Back-office accounts: creation, passwords, login, password links, who runs which event.

Passwords are stored as argon2id hashes. Every account has a `session_version`, part of its
login session and of its password links: raising it (password changed or reset, logout, account
disabled) ends every session of the account and revokes its links, which makes a reset link
single-use.
"""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..database import update_where
from ..extensions import db
from ..mail.outbox import queue_mail
from ..models import Event, JournalAction, User, UserRole
from ..models.base import utcnow
from . import journal, tokens
from .errors import AccountError
from .errors import AccountErrorCode as Code

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256
# At most one "forgotten password" mail per account and window (a second request in the same
# window sends nothing more).
RESET_MAIL_WINDOW_SECONDS = 300
# Purposes of the signed password links (each signs with its own salt).
RESET_LINK = "password-reset"
INVITATION_LINK = "account-invitation"

ERROR_MESSAGES = {
    Code.invalid_email: _l("Saisissez une adresse électronique valide, par exemple nom@exemple.org."),
    Code.duplicate_email: _l("Un compte existe déjà avec cette adresse électronique."),
    Code.unknown_email: _l("Aucun compte n'a cette adresse électronique."),
    Code.password_too_short: _l("Le mot de passe doit compter au moins %(min)s caractères.", min=PASSWORD_MIN_LENGTH),
    Code.password_too_long: _l("Le mot de passe ne peut pas dépasser %(max)s caractères.", max=PASSWORD_MAX_LENGTH),
    Code.wrong_password: _l("Le mot de passe actuel n'est pas le bon."),
    Code.own_account: _l("Vous ne pouvez pas désactiver votre propre compte."),
    Code.account_disabled: _l("Ce compte est désactivé."),
}

_hasher = PasswordHasher()  # argon2id
_dummy_hash = None


def error_message(error):
    """The sentence (in the current language) that tells a person why an AccountError happened."""
    return str(ERROR_MESSAGES[error.code])


def normalise_email(email):
    """The address as accounts store it (lower case, domain in ASCII), or AccountError."""
    try:
        result = validate_email((email or "").strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise AccountError(Code.invalid_email) from None
    return result.ascii_email.lower()


def check_password(password):
    """Raise AccountError when `password` is too short or too long."""
    if len(password or "") < PASSWORD_MIN_LENGTH:
        raise AccountError(Code.password_too_short)
    if len(password) > PASSWORD_MAX_LENGTH:
        raise AccountError(Code.password_too_long)


def user_by_email(email):
    return db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))


def list_users():
    return db.session.scalars(select(User).order_by(User.email)).all()


def _add_user(email, role, password_hash, invitation_language=None):
    """Insert the account (and, with `invitation_language`, queue its invitation) and commit;
    AccountError when the address is taken, even by a concurrent creation: the unique index decides."""
    if user_by_email(email) is not None:
        raise AccountError(Code.duplicate_email)
    user = User(email=email, role=role, password_hash=password_hash)
    db.session.add(user)
    try:
        db.session.flush()
        if invitation_language is not None:
            queue_mail("account_invitation", user.email, f"account-invitation:{user.id}",
                       language=invitation_language, payload={"user_id": user.id})
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AccountError(Code.duplicate_email) from None
    return user


def create_user(email, password, role=UserRole.organiser):
    """Create an active account with this password. Commits; raises AccountError."""
    email = normalise_email(email)
    check_password(password)
    return _add_user(email, UserRole(role), _hasher.hash(password))


def invite_user(email, role=UserRole.organiser, language="fr"):
    """Create an account without a password, and mail the person a link to choose one. Commits;
    raises AccountError."""
    return _add_user(normalise_email(email), UserRole(role), None, invitation_language=language)


def disable_user(user, by=None):
    """Disable the account: it can no longer log in, and its sessions and links end. Commits.

    `by`: the admin doing it (who cannot disable their own account)."""
    if by is not None and by.id == user.id:
        raise AccountError(Code.own_account)
    if user.active:
        user.active = False
        user.session_version += 1
        db.session.commit()


def enable_user(user):
    """Enable a disabled account again: it can log in with its password (or choose one through a
    forgotten-password link). Its sessions and links ended when it was disabled stay ended, and
    it runs the events it ran before. Commits."""
    if not user.active:
        user.active = True
        db.session.commit()


def _verify(password_hash, password):
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email, password):
    """The active account with this address and password, or None. Commits its last login.

    An unknown address, a wrong password, an account without a password yet and a disabled
    account give the same answer, after the same work (a password is always checked against a
    hash, a dummy one when there is none)."""
    global _dummy_hash
    user = user_by_email(email)
    stored = user.password_hash if user is not None else None
    if stored is None:
        _dummy_hash = _dummy_hash or _hasher.hash("emgav: no such account")
        _verify(_dummy_hash, password or "")
        return None
    if not _verify(stored, password or "") or not user.active:
        return None
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def user_for_session(session_id):
    """The account behind a login session's id ("<id>:<session_version>"), or None when the
    account is disabled or the session has been ended since (Flask-Login's user loader)."""
    user_id, _, version = (session_id or "").partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def end_sessions(user):
    """Log the account out everywhere (its password links die too). Commits."""
    user.session_version += 1
    db.session.commit()


def change_password(user, current_password, new_password):
    """Replace the password after checking the current one; ends the account's other sessions
    (the caller logs the person in again with the new session version). Commits."""
    if user.password_hash is None or not _verify(user.password_hash, current_password or ""):
        raise AccountError(Code.wrong_password)
    check_password(new_password)
    user.password_hash = _hasher.hash(new_password)
    user.session_version += 1
    db.session.commit()


# --- Password links: "forgotten password" and the invitation of a new account ---

def _link_max_ages():
    return {RESET_LINK: current_app.config["PASSWORD_RESET_MAX_AGE"],
            INVITATION_LINK: current_app.config["ACCOUNT_INVITATION_MAX_AGE"]}


def password_token(user, purpose=RESET_LINK):
    """The signed token of a link to choose a new password (valid until used, or until the
    account's session version changes, and for PASSWORD_RESET_MAX_AGE or ACCOUNT_INVITATION_MAX_AGE)."""
    return tokens.make_token(purpose, user.id, user.session_version)


def user_from_password_token(token):
    """The account whose password the link may set, or InvalidLink ('expired' when it is too old;
    'invalid' when forged, already used or revoked)."""
    for purpose, max_age in _link_max_ages().items():
        try:
            values = tokens.read_token(purpose, token, max_age=max_age.total_seconds())
        except tokens.InvalidLink as exc:
            if exc.reason == "expired":
                raise
            continue  # maybe a link of the other purpose
        if len(values) != 2:
            break
        user = db.session.get(User, values[0])
        if user is None or not user.active or user.session_version != values[1]:
            break
        return user
    raise tokens.InvalidLink("invalid")


def reset_password(token, new_password):
    """Set the password chosen through a password link; the link is then used up, and the
    account's sessions end. Raises InvalidLink or AccountError; commits. Of two uses of the same
    link at once, only one wins (conditional UPDATE on the session version)."""
    user = user_from_password_token(token)
    check_password(new_password)
    version = user.session_version
    won = update_where(User, User.id == user.id, User.session_version == version,
                       password_hash=_hasher.hash(new_password), session_version=version + 1)
    db.session.commit()
    if not won:
        raise tokens.InvalidLink("invalid")
    db.session.refresh(user)
    return user


def request_password_reset(email, language="fr"):
    """Mail a "forgotten password" link to the active account with this address, if there is
    one (at most one mail per account and RESET_MAIL_WINDOW_SECONDS). Runs in a worker, so that
    the web answer takes the same time whether the account exists or not. Commits; returns the id
    of the outbox row, or None."""
    user = user_by_email(email)
    if user is None or not user.active:
        return None
    window = int(utcnow().timestamp()) // RESET_MAIL_WINDOW_SECONDS
    row_id = queue_mail("password_reset", user.email, f"password-reset:{user.id}:{user.session_version}:{window}",
                        language=language, payload={"user_id": user.id})
    db.session.commit()
    return row_id


# --- Who runs which event ---

def events_visible_to(user):
    """The events this account may see: every event for an admin, the assigned ones otherwise
    (the latest first)."""
    query = select(Event).order_by(Event.starts_at.desc(), Event.id)
    if not user.is_admin:
        query = query.where(Event.organisers.any(User.id == user.id))
    return db.session.scalars(query).all()


def may_see_event(user, event):
    return user.is_admin or any(organiser.id == user.id for organiser in event.organisers)


def assign_organiser(event, user, by):
    """Give `user` access to the event (journalled as done by `by`). Commits."""
    if not user.active:
        raise AccountError(Code.account_disabled)
    if user not in event.organisers:
        event.organisers.append(user)
        journal.record(event, by, JournalAction.organiser_assigned, email=user.email)
    db.session.commit()


def unassign_organiser(event, user, by):
    """Take the event away from `user` (journalled as done by `by`). Commits."""
    if user in event.organisers:
        event.organisers.remove(user)
        journal.record(event, by, JournalAction.organiser_unassigned, email=user.email)
    db.session.commit()
