"""Logging in and out, and getting a new password through a link sent by mail.

Flask keeps the session in a signed cookie, with no id on the server to renew. At login the
session is emptied (a new CSRF token comes with it) before the account is put in it; the
account's part of the session carries its `session_version`, which logout, a password change or
reset and disabling the account raise: every cookie issued before then stops working.
"""
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..extensions import post_limit, public_post_limit
from ..services import accounts, tokens
from ..services.dispatch import SEND_PASSWORD_RESET, send_task
from ..web import render_form_page
from . import bp
from .access import safe_next
from .forms import ForgotPasswordForm, LoginForm, NewPasswordForm


def _fresh_session():
    """Empty the session, keeping the chosen language only."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def start_session(user):
    """A new session for `user`."""
    _fresh_session()
    login_user(user)


def _failed_login(response):
    """Only failed attempts count towards the login limits (a success redirects)."""
    return response.status_code != 302


def _typed_email():
    return "login:" + request.form.get("email", "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@post_limit("RATELIMIT_LOGIN_IP", deduct_when=_failed_login)
@post_limit("RATELIMIT_LOGIN_ACCOUNT", key_func=_typed_email, deduct_when=_failed_login)
def login():
    next_path = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_path or url_for("organiser.dashboard"))
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            start_session(user)
            return redirect(next_path or url_for("organiser.dashboard"))
        failed = True
    return render_form_page("organiser/login.html", form, refused=failed, failed=failed, next_path=next_path)


@bp.post("/logout")
def logout():
    """Log out: every session of the account ends."""
    accounts.end_sessions(current_user)
    logout_user()
    _fresh_session()
    flash(_("Déconnexion effectuée."), "success")
    return redirect(url_for("organiser.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@public_post_limit()
def forgot_password():
    """Ask for a link to choose a new password. The answer is the same whether an account has this
    address or not, and so is the work: a worker looks the address up and mails the link."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        send_task(SEND_PASSWORD_RESET, form.email.data, str(get_locale()))
        return render_template("organiser/forgot_password_sent.html", email=form.email.data)
    return render_form_page("organiser/forgot_password.html", form)


def _link_refused(reason):
    link = {"link_url": url_for("organiser.forgot_password"), "link_text": _("Demander un nouveau lien")}
    if reason == "expired":
        return render_template(
            "message.html", heading=_("Ce lien a expiré"),
            message=_("Pour votre sécurité, un lien pour choisir un mot de passe n'est valable que peu de temps. "
                      "Demandez-en un nouveau."), **link), 410
    return render_template(
        "message.html", heading=_("Lien non valable"),
        message=_("Ce lien n'est pas (ou plus) valable : il a peut-être déjà servi, ou il est incomplet. "
                  "Vérifiez que vous avez copié l'adresse en entier, ou demandez un nouveau lien."), **link), 404


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    """Choose a new password through the link of a "forgotten password" or invitation mail."""
    try:
        user = accounts.user_from_password_token(token)
    except tokens.InvalidLink as exc:
        return _link_refused(exc.reason)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except tokens.InvalidLink as exc:  # used meanwhile, by another click
            return _link_refused(exc.reason)
        flash(_("Votre mot de passe est enregistré : vous pouvez vous connecter."), "success")
        return redirect(url_for("organiser.login"))
    return render_form_page("organiser/reset_password.html", form, token=token, account=user)
