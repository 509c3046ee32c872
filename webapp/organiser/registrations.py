"""An event's registrations: the list (search, filters, sort, pages), exports, one person's page
and what organisers do for a person (add, edit, cancel, priority on the waiting list, accept or
decline a request when the event needs approval)."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..formatting import back_office_status_label
from ..forms import with_questions
from ..models import RegistrationStatus
from ..services import events, exports, mail_log, privacy, registration_list, registrations, seats
from ..services import questions as registration_questions
from ..services.errors import RegistrationError
from ..services.errors import RegistrationErrorCode as Code
from ..services.exports import ExportFormat
from ..services.questions import AnswersError
from ..web import render_form_page
from . import bp
from .access import admin_required, with_event
from .forms import AddRegistrationForm, RegistrationDetailsForm, RegistrationFilterForm

# Why an organiser's action was refused, as the page says it.
REFUSALS = {
    Code.closed: _l("Les inscriptions à cet événement sont closes (ou l'événement n'est pas publié) : "
                   "les places et les ateliers ne peuvent plus changer."),
    Code.event_cancelled: _l("L'événement est annulé."),
    Code.cancelled: _l("Cette inscription est annulée."),
    Code.already_cancelled: _l("Cette inscription est déjà annulée."),
    Code.not_waiting: _l("Cette personne n'est pas (ou plus) sur la liste d'attente."),
    Code.already_prioritised: _l("Cette personne est déjà en tête de la liste d'attente."),
    Code.not_awaiting: _l("Cette demande n'attend pas (ou plus) de décision : elle a peut-être déjà été acceptée "
                          "ou refusée."),
    Code.already_registered: _l("Cette adresse électronique a déjà une inscription en cours pour cet événement."),
    Code.unknown_workshop: _l("Ce choix d'ateliers n'est pas possible."),
    Code.workshops_overlap: _l("Ce choix d'ateliers n'est pas possible."),
}

CONTENT_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _refusal(code):
    return str(REFUSALS.get(code, _("Cette action n'est pas possible.")))


def _registration_or_404(event, registration_id):
    registration = registration_list.registration_of(event, registration_id)
    if registration is None:
        abort(404)
    return registration


def _person_url(registration):
    return url_for("organiser.registration", event_id=registration.event_id, registration_id=registration.id)


@bp.get("/events/<int:event_id>/registrations", endpoint="registrations")
@with_event
def registration_list_page(event):
    """The list: search, filters, sort and pages, with the counts by status at the top."""
    form = RegistrationFilterForm(request.args, workshops=event.workshops, questions=registration_questions.load(event))
    valid = form.validate()
    if valid:
        filters, order, page_size = form.filters(), form.order(), form.page_size()
    else:  # the list as it is, with what was wrong said at the top
        filters, order, page_size = (registration_list.Filters(), registration_list.SortOrder.name,
                                     registration_list.DEFAULT_PER_PAGE)
    page = registration_list.page_of(event, filters, order, request.args.get("page", 1, type=int), page_size)
    arguments = form.arguments() if valid else {}

    def page_url(number):
        return url_for("organiser.registrations", event_id=event.id, **arguments, page=number)

    counts = registrations.counts_by_status([event.id])[event.id]
    return render_form_page(
        "organiser/registrations.html", form, event=event, page=page, page_url=page_url,
        arguments=arguments, counts=counts, awaiting=counts.get(RegistrationStatus.awaiting_approval, 0),
    )


@bp.post("/events/<int:event_id>/registrations/export.<any(csv, xlsx):file_format>")
@with_event
def export_registrations(event, file_format):
    """The list (with the filters of the page) as a CSV or Excel file; journalled."""
    form = RegistrationFilterForm(request.form, workshops=event.workshops, questions=registration_questions.load(event))
    if not form.validate():
        abort(400)
    file_format = ExportFormat(file_format)
    content = exports.export(event, current_user, form.filters(), form.order(), file_format)
    filename = f"inscriptions-{event.slug}.{file_format}"
    return content, 200, {
        "Content-Type": CONTENT_TYPES[file_format],
        "Content-Disposition": f'attachment; filename="{filename}"',
    }


@bp.get("/events/<int:event_id>/registrations/<int:registration_id>")
@with_event
def registration(event, registration_id):
    """One person: details, workshops, history and every mail sent to them."""
    registration = _registration_or_404(event, registration_id)
    privacy.record_view(current_user, registration)
    answers = {answer.question_id: answer for answer in registration.answers}
    return render_template(
        "organiser/registration.html", event=event, registration=registration,
        questions=[(question, answers.get(question.id)) for question in registration_questions.load(event)],
        history=registration_list.history(registration), mails=mail_log.registration_mails(registration),
        position=registrations.waiting_position(registration),
    )


@bp.route("/events/<int:event_id>/registrations/new", methods=["GET", "POST"])
@with_event
def add_registration(event):
    """Register a person by hand: address to confirm, or confirmed at once."""
    form_class = with_questions(AddRegistrationForm, registration_questions.load(event), required=False)
    form = form_class(workshops=event.workshops)
    refused = False
    if form.validate_on_submit():
        try:
            registration = registrations.add_by_organiser(
                event, by=current_user, confirmed=form.confirmed.data == "yes",
                first_name=form.first_name.data, last_name=form.last_name.data, email=form.email.data,
                organisation=form.organisation.data, actor_type=form.actor_type.data,
                language=form.language.data, workshops=form.chosen_workshops(), answers=form.answers(),
            )
        except AnswersError as error:
            form.refuse_answers(error)
        except RegistrationError as exc:
            refused = True
            if exc.code != Code.already_registered:
                flash(_refusal(exc.code), "error")
            else:
                form.email.errors.append(_refusal(exc.code))
        else:
            flash(_("L'inscription de %(name)s est enregistrée : %(status)s.", name=registration.full_name,
                    status=back_office_status_label(registration.status)), "success")
            return redirect(_person_url(registration))
    return render_form_page("organiser/registration_form.html", form, refused, event=event, registration=None)


@bp.route("/events/<int:event_id>/registrations/<int:registration_id>/edit", methods=["GET", "POST"])
@with_event
def edit_registration(event, registration_id):
    """Change a person's details, language and workshops (moving them between workshops)."""
    registration = _registration_or_404(event, registration_id)
    if not registration.is_active:
        flash(_refusal(Code.cancelled), "error")
        return redirect(_person_url(registration))
    current_workshops = [booking.workshop for booking in registration.active_bookings()]
    form_class = with_questions(RegistrationDetailsForm, registration_questions.load(event),
                                answers=registration.answers, required=False)
    form = form_class(obj=registration, workshops=event.workshops)
    if not form.is_submitted():
        form.workshops.data = [workshop.id for workshop in current_workshops]
    refused = False
    if form.validate_on_submit():
        try:
            registrations.update_registration(
                registration, first_name=form.first_name.data, last_name=form.last_name.data,
                organisation=form.organisation.data, actor_type=form.actor_type.data, language=form.language.data,
                workshops=form.chosen_workshops(), by=current_user, answers=form.answers(),
            )
        except AnswersError as error:
            form.refuse_answers(error)
        except RegistrationError as exc:
            refused = True
            flash(_refusal(exc.code) + " " + _("Rien n'a été modifié."), "error")
        else:
            flash(_("Les modifications sont enregistrées."), "success")
            return redirect(_person_url(registration))
    return render_form_page("organiser/registration_form.html", form, refused, event=event,
                            registration=registration)


def _registration_action(event, registration_id, action, done):
    """Run `action` (a service taking the registration and `by`) on the event's registration; then
    back to the person's page with `done(registration)`, the message of success, or the refusal."""
    registration = _registration_or_404(event, registration_id)
    try:
        action(registration, by=current_user)
    except RegistrationError as exc:
        flash(_refusal(exc.code), "error")
    else:
        flash(done(registration), "success")
    return redirect(_person_url(registration))


@bp.post("/events/<int:event_id>/registrations/<int:registration_id>/cancel")
@with_event
def cancel_registration(event, registration_id):
    """Cancel: the seat goes to the waiting list, the person gets the cancellation (and CANCEL invite)."""
    return _registration_action(event, registration_id, registrations.cancel_registration, lambda registration: _(
        "L'inscription de %(name)s est annulée ; la personne en est informée par courriel.",
        name=registration.full_name))


@bp.post("/events/<int:event_id>/registrations/accept-all")
@with_event
def accept_all_requests(event):
    """Accept every request that awaits a decision, the oldest first."""
    accepted = registrations.accept_all_requests(event, by=current_user)
    seated = sum(registration.status == RegistrationStatus.confirmed for registration in accepted)
    flash(_("Demandes acceptées : %(count)s (places réservées : %(seated)s ; liste d'attente : %(waiting)s). "
            "Chaque personne en est informée par courriel.",
            count=len(accepted), seated=seated, waiting=len(accepted) - seated), "success")
    left = events.awaiting_approval_count(event)
    if left:
        flash(_("Demandes toujours à valider : %(count)s (les inscriptions sont peut-être closes).", count=left),
              "error")
    return redirect(url_for("organiser.registrations", event_id=event.id, status=RegistrationStatus.awaiting_approval))


@bp.post("/events/<int:event_id>/registrations/<int:registration_id>/accept")
@with_event
def accept_registration(event, registration_id):
    """Accept a request: a seat or the waiting list by the usual rules, and the usual mails."""
    return _registration_action(event, registration_id, registrations.accept_registration, lambda registration: _(
        "La demande de %(name)s est acceptée : %(status)s. La personne en est informée par courriel.",
        name=registration.full_name, status=back_office_status_label(registration.status)))


@bp.post("/events/<int:event_id>/registrations/<int:registration_id>/decline")
@with_event
def decline_registration(event, registration_id):
    """Decline a request: the registration ends, and the person gets a polite mail."""
    return _registration_action(event, registration_id, registrations.decline_registration, lambda registration: _(
        "La demande de %(name)s est refusée ; la personne en est informée par courriel.",
        name=registration.full_name))


@bp.post("/events/<int:event_id>/registrations/<int:registration_id>/priority")
@with_event
def give_priority(event, registration_id):
    """Put a person at the front of the waiting list: the next free seat is offered to them."""
    return _registration_action(event, registration_id, seats.give_priority, lambda registration: _(
        "%(name)s passe en tête de la liste d'attente : la prochaine place libre lui sera proposée.",
        name=registration.full_name))


@bp.post("/events/<int:event_id>/registrations/<int:registration_id>/erase")
@admin_required
@with_event
def erase_registration(event, registration_id):
    """Erase a person's data at their request: their registrations to come cancelled (mailed), then
    their data anonymised in every event; journalled in the personal-data access journal."""
    registration = _registration_or_404(event, registration_id)
    privacy.erase(registration, by=current_user)
    flash(_("Les données de la personne sont effacées ; ses inscriptions à venir sont annulées et elle en est "
            "informée par courriel."), "success")
    return redirect(_person_url(registration))
