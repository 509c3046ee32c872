"""An event's mail log: counts by kind and status, mails in trouble, sending failed ones again."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..models import OutboxStatus
from ..services import mail_log
from . import bp
from .access import safe_next, with_event


@bp.get("/events/<int:event_id>/mails", endpoint="mail_log")
@with_event
def mail_log_page(event):
    counts = mail_log.counts(event)
    totals = {status: sum(by_status.get(status, 0) for by_status in counts.values()) for status in OutboxStatus}
    return render_template(
        "organiser/mail_log.html", event=event, counts=counts, totals=totals, statuses=list(OutboxStatus),
        failed=mail_log.mails_in(event, OutboxStatus.failed),
        retrying=mail_log.mails_in(event, OutboxStatus.retrying), limit=mail_log.TROUBLE_LIMIT,
    )


def _retried(requeued):
    if requeued:
        flash(ngettext("%(num)d courriel est remis en file d'envoi.", "%(num)d courriels sont remis en file d'envoi.",
                       len(requeued)), "success")
    else:
        flash(_("Aucun courriel en échec à renvoyer."), "info")


@bp.post("/events/<int:event_id>/mails/retry")
@with_event
def retry_failed_mails(event):
    """Send every failed mail of the event again."""
    _retried(mail_log.retry_failed(event, current_user))
    return redirect(url_for("organiser.mail_log", event_id=event.id))


@bp.post("/events/<int:event_id>/mails/<int:mail_id>/retry")
@with_event
def retry_mail(event, mail_id):
    """Send one failed mail again; back to the page the button was on (the mail log, or a person's page)."""
    _retried(mail_log.retry_failed(event, current_user, [mail_id]))
    return redirect(safe_next(request.form.get("next")) or url_for("organiser.mail_log", event_id=event.id))
