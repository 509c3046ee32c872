"""An event's reminders: their moments and states, adding and removing one, switching them off
and on. Every change goes through the rules of events (`services.events.update_event`), which
keep the moments in step with the event, and is journalled."""
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..models import EventStatus, JournalAction
from ..services import events, journal
from ..services.events import EventRuleError
from ..web import render_form_page
from . import bp
from .access import with_event
from .event_forms import ReminderForm


def _page(event):
    return redirect(url_for("organiser.reminders", event_id=event.id))


def _change(event, action, details, done, form=None, **changes):
    """Journal and make the change; a refusal goes to the form's errors, or to a message."""
    journal.record(event, current_user, action, **details)
    try:
        events.update_event(event, **changes)
    except EventRuleError as error:
        if form is None:
            for message in error.errors:
                flash(message, "error")
            return _page(event)
        form.form_errors.extend(error.errors)
        return None
    flash(done, "success")
    return _page(event)


def _cancelled(event):
    if event.status == EventStatus.cancelled:
        flash(_("L'événement est annulé : ses rappels ne partiront pas."), "info")
        return True
    return False


@bp.route("/events/<int:event_id>/reminders", methods=["GET", "POST"])
@with_event
def reminders(event):
    """The reminders and their states; the form adds one."""
    form = ReminderForm()
    if form.is_submitted() and _cancelled(event):
        return _page(event)
    if form.validate_on_submit():
        days = form.days_before.data
        if days in [reminder.days_before for reminder in event.reminders]:
            form.days_before.errors.append(_("Il existe déjà un rappel ce nombre de jours avant l'événement."))
        else:
            answer = _change(event, JournalAction.reminder_added, {"days": days}, _("Le rappel est ajouté."),
                             form=form, reminders=[*(r.days_before for r in event.reminders), days])
            if answer is not None:
                return answer
    return render_form_page("organiser/reminders.html", form, event=event)


@bp.post("/events/<int:event_id>/reminders/<int:days_before>/remove")
@with_event
def remove_reminder(event, days_before):
    if _cancelled(event):
        return _page(event)
    kept = [reminder.days_before for reminder in event.reminders if reminder.days_before != days_before]
    if len(kept) == len(event.reminders):
        flash(_("Ce rappel n'existe plus."), "info")
        return _page(event)
    return _change(event, JournalAction.reminder_removed, {"days": days_before}, _("Le rappel est retiré."),
                   reminders=kept)


@bp.post("/events/<int:event_id>/reminders/switch")
@with_event
def switch_reminders(event):
    """Switch the reminders on (`?enabled=1`) or off (`?enabled=0`); the offsets are kept."""
    enabled = request.args.get("enabled") == "1"
    if _cancelled(event):
        return _page(event)
    if enabled == event.reminders_enabled:
        flash(_("Les rappels sont déjà activés.") if enabled else _("Les rappels sont déjà désactivés."), "info")
        return _page(event)
    if enabled:
        return _change(event, JournalAction.reminders_switched_on, {}, _("Les rappels sont activés."),
                       reminders_enabled=True)
    return _change(event, JournalAction.reminders_switched_off, {}, _("Les rappels sont désactivés."),
                   reminders_enabled=False)
