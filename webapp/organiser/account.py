"""One's own account: change the password."""
from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..services import accounts
from ..services.errors import AccountError
from ..web import render_form_page
from . import bp
from .auth import start_session
from .forms import ChangePasswordForm


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    """Change one's password; the account's other sessions end, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.change_password(user, form.current_password.data, form.password.data)
        except AccountError as exc:
            form.current_password.errors.append(accounts.error_message(exc))
        else:
            start_session(user)
            flash(_("Votre mot de passe est changé. Vos autres sessions ont été fermées."), "success")
            return redirect(url_for("organiser.dashboard"))
    return render_form_page("organiser/change_password.html", form)
