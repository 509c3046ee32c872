"""The back-office pages that change an event: create, edit, publish, unpublish, copy, cancel,
and its workshops (add, edit, remove).

Every change goes through the rules of events (`services.events`), the functions the import of
event files uses, so it has the same effects on the people registered (updated invites, offers
of freed seats, cancellation mails); a refusal (EventRuleError) lists its reasons in the form's
error summary (422), or in a message for a button. Each change is journalled.

Who does what: admins create events (they see every event: nobody is assigned; they give
organisers access on the event's team page). Admins and the event's organisers edit, publish,
unpublish, copy and cancel it; a copy has the same team as its event.
"""
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..models import EventStatus, JournalAction, RegistrationStatus
from ..services import accounts, events, journal, registrations
from ..services.events import EventRuleError
from ..web import render_form_page
from . import bp
from .access import admin_required, with_event
from .event_forms import (
    CopyEventForm,
    EditEventForm,
    NewEventForm,
    NewWorkshopForm,
    RemoveWorkshopForm,
    WorkshopForm,
)


def _form_page(template, form, **context):
    """The form's page, answered like every form (`render_form_page`); `preview` shows its description."""
    preview = form.is_submitted() and "preview" in request.form
    return render_form_page(template, form, preview=preview, **context)


def _to_save(form):
    """The form was sent to be saved (not to preview its text) and every field is valid."""
    return form.is_submitted() and "preview" not in request.form and form.validate()


def _refused(form, error):
    form.form_errors.extend(error.errors)


def _changed(obj, values):
    """The values that differ from `obj`'s. A date-time typed to the minute is the same as the
    stored one with seconds in that minute (an imported 09:00:30 stays, and moves nobody)."""
    def same(old, new):
        if not (isinstance(old, datetime) and isinstance(new, datetime)) or new.second:
            return old == new
        return old.replace(second=0, microsecond=0) == new
    return {name: value for name, value in values.items() if not same(getattr(obj, name), value)}


def _home(event):
    return redirect(url_for("organiser.event_home", event_id=event.id))


# --- The event ------------------------------------------------------------------------------

@bp.route("/events/new", methods=["GET", "POST"])
@admin_required
def new_event():
    """A new event, as a draft."""
    form = NewEventForm()
    if _to_save(form):
        try:
            event = events.create_event(**form.values_in(form.zone()))
        except EventRuleError as error:
            _refused(form, error)
        else:
            journal.record(event, current_user, JournalAction.event_created)
            db.session.commit()
            flash(_("L'événement est créé, en brouillon : ajoutez ses ateliers, puis publiez-le."), "success")
            return _home(event)
    return _form_page("organiser/event_new.html", form)


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@with_event
def edit_event(event):
    """Every field of the event but its address (slug) and status; its workshops move with its
    start when the organiser asks."""
    form = EditEventForm(data=EditEventForm.data_of(event, event.tz))
    if _to_save(form):
        changes = _changed(event, form.values_in(form.zone()))
        if not changes:
            flash(_("Rien n'a changé."), "info")
            return _home(event)
        workshops = None
        if form.move_workshops.data and "starts_at" in changes and event.workshops:
            workshops = events.workshops_moved_with(event, changes["starts_at"])
        fields = [*changes, *(["workshops"] if workshops else [])]
        journal.record(event, current_user, JournalAction.event_updated, fields=", ".join(fields))
        try:
            events.update_event(event, workshops=workshops, **changes)
        except EventRuleError as error:
            _refused(form, error)
        else:
            flash(_("Les modifications sont enregistrées."), "success")
            return _home(event)
    confirmed = registrations.counts_by_status([event.id])[event.id].get(RegistrationStatus.confirmed, 0)
    return _form_page("organiser/event_edit.html", form, event=event, confirmed=confirmed)


def _change_status(event, rule, action, done):
    """Run a rule that changes the status; the reasons of a refusal come back as messages."""
    journal.record(event, current_user, action)
    try:
        rule(event)
    except EventRuleError as error:
        for message in error.errors:
            flash(message, "error")
    else:
        flash(done, "success")
    return _home(event)


@bp.post("/events/<int:event_id>/publish")
@with_event
def publish_event(event):
    if event.status == EventStatus.published:
        flash(_("L'événement est déjà publié."), "info")
        return _home(event)
    return _change_status(event, events.publish_event, JournalAction.event_published,
                          _("L'événement est publié : sa page est visible de tout le monde."))


@bp.post("/events/<int:event_id>/unpublish")
@with_event
def unpublish_event(event):
    if event.status != EventStatus.published:
        flash(_("L'événement n'est pas publié."), "info")
        return _home(event)
    return _change_status(event, events.unpublish_event, JournalAction.event_unpublished,
                          _("L'événement est redevenu un brouillon : sa page n'est plus visible."))


@bp.route("/events/<int:event_id>/cancel", methods=["GET", "POST"])
@with_event
def cancel_event(event):
    """A page that says how many people will be mailed; its button cancels the event."""
    count = events.active_registration_count(event)
    if request.method == "GET":
        return render_template("organiser/event_cancel.html", event=event, count=count)
    if event.status == EventStatus.cancelled:
        flash(_("L'événement est déjà annulé."), "info")
        return _home(event)
    journal.record(event, current_user, JournalAction.event_cancelled, count=count)
    events.cancel_event(event)
    flash(_("L'événement est annulé. Personnes prévenues par courriel : %(count)s.", count=count), "success")
    return _home(event)


def _a_year_later(moment, tz):
    """The same time on the event's clock, a year later (28 February for a 29 February)."""
    local = moment.astimezone(tz).replace(tzinfo=None)
    try:
        return local.replace(year=local.year + 1)
    except ValueError:
        return local.replace(year=local.year + 1, day=28)


@bp.route("/events/<int:event_id>/copy", methods=["GET", "POST"])
@with_event
def copy_event(event):
    """Next year's edition: a draft with a new address and dates, the same workshops and team."""
    start = _a_year_later(event.starts_at, event.tz)
    form = CopyEventForm(data={"title": event.title, "starts_at": start,
                               "ends_at": start + (event.local_end - event.local_start)})
    if _to_save(form):
        try:
            copy = events.copy_event(event, **form.values_in(event.tz))
        except EventRuleError as error:
            _refused(form, error)
        else:
            for user in event.organisers:
                if user.active:
                    accounts.assign_organiser(copy, user, by=current_user)
            journal.record(copy, current_user, JournalAction.event_copied, source=event.title, source_slug=event.slug)
            journal.record(event, current_user, JournalAction.event_copied_to, copy=copy.title, copy_slug=copy.slug)
            db.session.commit()
            flash(_("La copie est créée, en brouillon. Vérifiez ses informations et ses ateliers avant de la "
                    "publier."), "success")
            return _home(copy)
    return _form_page("organiser/event_copy.html", form, event=event)


# --- Its workshops --------------------------------------------------------------------------

def _workshop_of(event, workshop_id):
    for workshop in event.workshops:
        if workshop.id == workshop_id:
            return workshop
    abort(404)


def _keys(event, but=None):
    """The event's workshops by key, as `update_event` takes them: unchanged (`but` left out)."""
    return [{"key": workshop.key} for workshop in event.workshops if workshop is not but]


@bp.get("/events/<int:event_id>/workshops")
@with_event
def event_workshops(event):
    return render_template("organiser/workshops.html", event=event)


@bp.route("/events/<int:event_id>/workshops/new", methods=["GET", "POST"])
@with_event
def new_workshop(event):
    form = NewWorkshopForm()
    if _to_save(form):
        values = form.values_in(event.tz)
        journal.record(event, current_user, JournalAction.workshop_added, key=values["key"])
        try:
            events.update_event(event, workshops=[*_keys(event), values])
        except EventRuleError as error:
            _refused(form, error)
        else:
            flash(_("L'atelier est ajouté."), "success")
            return redirect(url_for("organiser.event_workshops", event_id=event.id))
    return _form_page("organiser/workshop_new.html", form, event=event)


@bp.route("/events/<int:event_id>/workshops/<int:workshop_id>/edit", methods=["GET", "POST"])
@with_event
def edit_workshop(event, workshop_id):
    workshop = _workshop_of(event, workshop_id)
    form = WorkshopForm(data=WorkshopForm.data_of(workshop, event.tz))
    if _to_save(form):
        changes = _changed(workshop, form.values_in(event.tz))
        if not changes:
            flash(_("Rien n'a changé."), "info")
            return redirect(url_for("organiser.event_workshops", event_id=event.id))
        journal.record(event, current_user, JournalAction.workshop_updated, key=workshop.key,
                       fields=", ".join(changes))
        try:
            events.update_event(event, workshops=[
                changes | {"key": w.key} if w is workshop else {"key": w.key} for w in event.workshops])
        except EventRuleError as error:
            _refused(form, error)
        else:
            flash(_("Les modifications sont enregistrées."), "success")
            return redirect(url_for("organiser.event_workshops", event_id=event.id))
    return _form_page("organiser/workshop_edit.html", form, event=event, workshop=workshop)


@bp.route("/events/<int:event_id>/workshops/<int:workshop_id>/remove", methods=["GET", "POST"])
@with_event
def remove_workshop(event, workshop_id):
    """A confirmation page that says how many people will be mailed, then the removal. The form
    sends back the number the page showed: when it is missing or no longer true (someone booked
    meanwhile), nothing is removed and the page shows the new number (422)."""
    workshop = _workshop_of(event, workshop_id)
    people = events.workshop_people_count(workshop)
    form = RemoveWorkshopForm()
    if form.validate_on_submit():
        if form.people.data == str(people):
            return _removed(event, workshop, people)
        form.form_errors.append(_("Le nombre de personnes à prévenir a changé : vérifiez-le avant de confirmer."))
    return render_form_page("organiser/workshop_remove.html", form, refused=form.is_submitted(),
                            event=event, workshop=workshop, people=people)


def _removed(event, workshop, people):
    """Remove the workshop, confirmed with `people` to mail: through the rules of events, as the
    import of a file with its option does it."""
    key = workshop.key
    if people:
        journal.record(event, current_user, JournalAction.workshop_removed_booked, key=key, count=people)
    else:
        journal.record(event, current_user, JournalAction.workshop_removed, key=key)
    try:
        events.update_event(event, workshops=_keys(event, but=workshop), remove_booked_workshops=True)
    except EventRuleError as error:
        for message in error.errors:
            flash(message, "error")
    else:
        flash(_("L'atelier %(key)s est retiré. Personnes prévenues par courriel : %(count)s.",
                key=key, count=people), "success")
    return redirect(url_for("organiser.event_workshops", event_id=event.id))
