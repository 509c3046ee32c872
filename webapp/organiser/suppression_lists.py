"""The unsubscribe and undeliverable lists of bulk mail, as an organiser may see them: the entries
matching addresses of their events (the lists keep only hashes), how many others there are, and
lifting a mark."""
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..models import SuppressionReason
from ..services import accounts, suppressions
from . import bp


@bp.get("/lists", endpoint="suppression_lists")
def suppression_lists_page():
    view = suppressions.lists_seen_for(accounts.events_visible_to(current_user))
    return render_template("organiser/suppression_lists.html", view=view, reasons=list(SuppressionReason))


@bp.post("/lists/<int:entry_id>/lift")
def lift_suppression(entry_id):
    """Take an address off its list (404 for an entry the account cannot see)."""
    lifted = suppressions.lift_seen_for(accounts.events_visible_to(current_user), current_user, entry_id)
    if lifted is None:
        abort(404)
    flash(_("L'adresse %(email)s peut de nouveau recevoir les envois aux personnes inscrites.",
            email=lifted.address), "success")
    return redirect(url_for("organiser.suppression_lists"))
