"""Admin pages: the accounts, who runs which event, and the personal-data access journal."""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import User, UserRole
from ..services import accounts, privacy
from ..services.errors import AccountError
from ..web import render_form_page
from . import bp
from .access import admin_required, with_event
from .forms import AssignOrganiserForm, NewAccountForm


def _user_or_404(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/accounts")
@admin_required
def account_list():
    return render_template("organiser/accounts.html", users=accounts.list_users())


@bp.route("/accounts/new", methods=["GET", "POST"])
@admin_required
def new_account():
    """Create an account; the person receives a link to choose their password."""
    form = NewAccountForm()
    if form.validate_on_submit():
        try:
            user = accounts.invite_user(form.email.data, UserRole(form.role.data), language=str(get_locale()))
        except AccountError as exc:
            form.email.errors.append(accounts.error_message(exc))
        else:
            flash(_("Le compte %(email)s est créé : un courriel invite la personne à choisir son mot de passe.",
                    email=user.email), "success")
            return redirect(url_for("organiser.account_list"))
    return render_form_page("organiser/account_new.html", form)


@bp.post("/accounts/<int:user_id>/disable")
@admin_required
def disable_account(user_id):
    """Disable an account: it can no longer log in, and its sessions end at once."""
    user = _user_or_404(user_id)
    try:
        accounts.disable_user(user, by=current_user)
    except AccountError as exc:
        flash(accounts.error_message(exc), "error")
    else:
        flash(_("Le compte %(email)s est désactivé.", email=user.email), "success")
    return redirect(url_for("organiser.account_list"))


@bp.post("/accounts/<int:user_id>/enable")
@admin_required
def enable_account(user_id):
    """Enable a disabled account again."""
    user = _user_or_404(user_id)
    accounts.enable_user(user)
    flash(_("Le compte %(email)s est de nouveau actif.", email=user.email), "success")
    return redirect(url_for("organiser.account_list"))


def _candidates(event):
    """The active organiser accounts that do not run the event yet."""
    return [user for user in accounts.list_users()
            if user.active and user.role == UserRole.organiser and user not in event.organisers]


@bp.route("/events/<int:event_id>/team", methods=["GET", "POST"])
@admin_required
@with_event
def event_team(event):
    """The accounts that run the event: give one access, or take it away."""
    form = AssignOrganiserForm(candidates=_candidates(event))
    if form.validate_on_submit():
        user = _user_or_404(form.user_id.data)
        accounts.assign_organiser(event, user, by=current_user)
        flash(_("%(email)s a maintenant accès à cet événement.", email=user.email), "success")
        return redirect(url_for("organiser.event_team", event_id=event.id))
    return render_form_page("organiser/event_team.html", form, event=event)


@bp.post("/events/<int:event_id>/team/<int:user_id>/remove")
@admin_required
@with_event
def remove_organiser(event, user_id):
    user = _user_or_404(user_id)
    accounts.unassign_organiser(event, user, by=current_user)
    flash(_("%(email)s n'a plus accès à cet événement.", email=user.email), "success")
    return redirect(url_for("organiser.event_team", event_id=event.id))


@bp.get("/data-access-journal")
@admin_required
def data_access_journal():
    """Who looked at, exported or erased whose data in the back office, the newest first."""
    return render_template("organiser/data_access_journal.html", entries=privacy.access_journal())
