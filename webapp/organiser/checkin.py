"""Welcome at the door on the day: the check-in page (find a person by code or by name, check in,
undo), people who came without registering, and the attendance sheets to print.

The page works as plain forms (GET to find, POST then redirect to act); static/checkin.js adds the
camera scanner and a queue of check-ins kept while the connection is down. A check-in sent with
`Accept: application/json` is answered in JSON (the script's requests), otherwise by a redirect.
"""
import uuid

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..formatting import back_office_status_label, short_datetime, workshop_slot
from ..models import RegistrationStatus
from ..services import checkin, registration_list, registrations
from ..services.checkin import CheckInWarning, Outcome
from ..services.errors import RegistrationError
from ..services.errors import RegistrationErrorCode as Code
from ..web import PERMISSIONS_POLICY, render_form_page
from . import bp
from .access import with_event
from .forms import CheckInForm, CheckInLookupForm, WalkInForm

# The scanner needs the camera of this page (and of no other).
CHECKIN_PERMISSIONS_POLICY = PERMISSIONS_POLICY.replace("camera=()", "camera=(self)")


def _wants_json():
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json"


def warning_texts(registration):
    """What the page says about the person's state, one sentence per warning."""
    event = registration.event
    texts = []
    for warning in checkin.warnings(registration):
        if warning == CheckInWarning.pending:
            texts.append(_("Adresse jamais confirmée : cette personne n'a pas de place."))
        elif warning == CheckInWarning.waiting:
            texts.append(_("Sur la liste d'attente (position %(position)s) : cette personne n'a pas de place.",
                           position=registrations.waiting_position(registration)))
        elif warning == CheckInWarning.offered:
            texts.append(_("Une place lui est proposée, pas encore acceptée : cette personne n'a pas de place."))
        elif warning == CheckInWarning.awaiting_approval:
            texts.append(_("Demande d'inscription pas encore validée : cette personne n'a pas de place."))
        elif warning == CheckInWarning.declined:
            texts.append(_("Demande d'inscription refusée : cette personne n'a pas de place."))
        elif warning == CheckInWarning.cancelled:
            texts.append(_("Inscription annulée le %(moment)s.",
                           moment=short_datetime(event, registration.cancelled_at or registration.updated_at)))
        else:
            texts.append(checked_in_text(registration))
    return texts


def checked_in_text(registration):
    """« Arrivée déjà enregistrée le … par … »: when, and by which account."""
    arrival = registration.checkin
    who = arrival.checked_in_by.email if arrival.checked_in_by else _("un compte supprimé")
    return _("Arrivée déjà enregistrée le %(moment)s par %(who)s.",
             moment=short_datetime(registration.event, arrival.checked_in_at), who=who)


def _card_url(registration):
    return url_for("organiser.checkin", event_id=registration.event_id, registration=registration.id)


def _person(registration):
    """The person as the script shows them (JSON)."""
    return {
        "id": registration.id,
        "name": registration.full_name,
        "organisation": registration.organisation,
        "status": back_office_status_label(registration.status),
        "workshops": [f"{w.title} ({workshop_slot(w)})" for w in checkin.booked_workshops(registration)],
        "checked_in": registration.checkin is not None,
        "warnings": warning_texts(registration),
        "url": _card_url(registration),
    }


@bp.get("/events/<int:event_id>/checkin", endpoint="checkin")
@with_event
def checkin_page(event):
    """Find a person (code or name), see their card, check them in or undo."""
    form = CheckInLookupForm(request.args)
    valid = form.validate()
    person, results, total = None, None, 0
    if valid and form.code.data:
        person = checkin.find_by_code(event, form.code.data)
        if person is None:
            form.code.errors.append(_("Aucune inscription à cet événement n'a ce code."))
    elif valid and form.q.data:
        results, total = checkin.search(event, form.q.data)
    elif request.args.get("registration", type=int):
        person = registration_list.registration_of(event, request.args.get("registration", type=int))
    page, status = render_form_page(
        "organiser/checkin.html", form, event=event, person=person, results=results, total=total,
        warnings=warning_texts(person) if person else [], request_id=uuid.uuid4().hex,
        present=checkin.present_count(event), confirmed=RegistrationStatus.confirmed,
        person_workshops=checkin.booked_workshops,
    )
    return page, status, {"Permissions-Policy": CHECKIN_PERMISSIONS_POLICY}


@bp.post("/events/<int:event_id>/checkin", endpoint="check_in")
@with_event
def check_in(event):
    """Record an arrival by code; the same request sent again (same `request_id`) is a success."""
    form = CheckInForm()
    person = checkin.find_by_code(event, form.code.data) if form.validate() else None
    if person is None:
        message = _("Aucune inscription à cet événement n'a ce code.")
        if _wants_json():
            return jsonify(outcome="not_found", message=message), 404
        flash(message, "error")
        return redirect(url_for("organiser.checkin", event_id=event.id))
    result = checkin.check_in(person, current_user, form.request_id.data)
    if result.outcome == Outcome.checked_in:
        message, category = _("Arrivée enregistrée : %(name)s.", name=person.full_name), "success"
    elif result.outcome == Outcome.already_checked_in:
        message, category = f"{person.full_name} : {checked_in_text(person)}", "error"
    else:
        message = " ".join([_("Arrivée non enregistrée pour %(name)s.", name=person.full_name),
                            *warning_texts(person)])
        category = "error"
    if _wants_json():
        return jsonify(outcome=result.outcome.value, message=message, person=_person(person))
    flash(message, category)
    return redirect(_card_url(person))


@bp.post("/events/<int:event_id>/checkin/<int:registration_id>/undo")
@with_event
def undo_check_in(event, registration_id):
    """Undo an arrival recorded by mistake."""
    person = registration_list.registration_of(event, registration_id)
    if person is None:
        return redirect(url_for("organiser.checkin", event_id=event.id))
    if checkin.undo_check_in(person, current_user):
        flash(_("Arrivée annulée : %(name)s.", name=person.full_name), "success")
    else:
        flash(_("L'arrivée de %(name)s n'était pas enregistrée.", name=person.full_name), "info")
    return redirect(_card_url(person))


@bp.route("/events/<int:event_id>/checkin/walk-in", methods=["GET", "POST"])
@with_event
def walk_in(event):
    """Add a person who came without registering: checked in at once."""
    form = WalkInForm()
    refused = False
    if form.validate_on_submit():
        try:
            person = checkin.add_walk_in(
                event, current_user, first_name=form.first_name.data, last_name=form.last_name.data,
                email=form.email.data or None, organisation=form.organisation.data,
                actor_type=form.actor_type.data, language=str(get_locale()),
            )
        except RegistrationError as exc:
            refused = True
            if exc.code == Code.already_registered:
                form.email.errors.append(_("Cette adresse a déjà une inscription à cet événement : "
                                           "cherchez la personne par son nom."))
            elif exc.code == Code.full:
                flash(_("Plus aucune place libre (ou des personnes attendent une place) : pour accueillir "
                        "cette personne, augmentez d'abord la capacité de l'événement."), "error")
            else:
                flash(_("L'événement n'est pas publié, ou il est annulé : personne ne peut y être ajouté."), "error")
        else:
            flash(_("%(name)s : inscription ajoutée à l'accueil, arrivée enregistrée.", name=person.full_name),
                  "success")
            return redirect(_card_url(person))
    return render_form_page("organiser/walk_in.html", form, refused, event=event)


@bp.get("/events/<int:event_id>/attendance")
@with_event
def attendance_sheet(event):
    """The sheet to print and sign: the event's confirmed people, or a workshop's (`?workshop=`)."""
    workshop_id = request.args.get("workshop", type=int)
    workshop = next((w for w in event.workshops if w.id == workshop_id), None)
    people = checkin.attendance(event, workshop)
    return render_template("organiser/attendance.html", event=event, workshop=workshop, people=people,
                           booked_workshops=checkin.booked_workshops)
