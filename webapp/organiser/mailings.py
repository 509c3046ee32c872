"""An event's mailings to its registered people: the list, composing (audience filters and their
count, live with static/mailings.js), preview, a test to oneself, sending now or later,
cancelling, and the progress with the per-recipient log (updated without reloading by the same
script, from the JSON of `mailing_progress`)."""
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..formatting import mailing_status_label, short_datetime
from ..services import mailings
from ..services import questions as registration_questions
from ..services.errors import MailingError
from ..services.errors import MailingErrorCode as Code
from ..web import render_form_page
from . import bp
from .access import with_event
from .event_forms import ScheduleMailingForm
from .forms import MailingForm


def _refusal(error):
    return {
        Code.unknown_placeholder: lambda: mailings.unknown_placeholders_message(error.names),
        Code.not_editable: lambda: _("Ce courriel est déjà parti ou annulé : il ne peut plus changer."),
        Code.not_cancellable: lambda: _("Ce courriel est déjà entièrement envoyé ou annulé."),
        Code.no_recipient: lambda: _("Personne ne correspond à ces critères : l'essai a besoin des données d'une "
                                     "personne destinataire."),
        Code.past_moment: lambda: _("Ce moment est passé : choisissez une date et une heure à venir."),
    }[error.code]()


def _mailing_or_404(event, mailing_id):
    mailing = mailings.mailing_of(event, mailing_id)
    if mailing is None:
        abort(404)
    return mailing


def _mailing_url(mailing):
    return url_for("organiser.mailing", event_id=mailing.event_id, mailing_id=mailing.id)


def _form(event, **kwargs):
    return MailingForm(workshops=event.workshops, questions=registration_questions.load(event), **kwargs)


@bp.get("/events/<int:event_id>/mailings", endpoint="mailings")
@with_event
def mailing_list(event):
    return render_template("organiser/mailings.html", event=event, mailings=mailings.mailings_of(event))


@bp.route("/events/<int:event_id>/mailings/new", methods=["GET", "POST"])
@with_event
def new_mailing(event):
    form = _form(event)
    if form.validate_on_submit():
        try:
            mailing = mailings.create_draft(event, current_user, form.subject.data, form.body.data, form.audience())
        except MailingError as error:
            form.body.errors.append(_refusal(error))
        else:
            flash(_("Le brouillon est enregistré. Vérifiez l'aperçu, puis envoyez-le."), "success")
            return redirect(_mailing_url(mailing))
    return _compose_page(event, form, None)


@bp.route("/events/<int:event_id>/mailings/<int:mailing_id>/edit", methods=["GET", "POST"])
@with_event
def edit_mailing(event, mailing_id):
    mailing = _mailing_or_404(event, mailing_id)
    if mailing.status not in mailings.EDITABLE:
        flash(_refusal(MailingError(Code.not_editable)), "error")
        return redirect(_mailing_url(mailing))
    form = _form(event, data=MailingForm.data_of(mailing))
    if form.validate_on_submit():
        try:
            mailings.update_draft(mailing, form.subject.data, form.body.data, form.audience())
        except MailingError as error:
            form.body.errors.append(_refusal(error))
        else:
            flash(_("Les modifications sont enregistrées."), "success")
            return redirect(_mailing_url(mailing))
    return _compose_page(event, form, mailing)


def _compose_page(event, form, mailing):
    count_text = _count_text(mailings.audience_count(event, form.audience())) if not form.errors else ""
    return render_form_page("organiser/mailing_form.html", form, event=event, mailing=mailing, count_text=count_text)


@bp.get("/events/<int:event_id>/mailings/count")
@with_event
def mailing_audience_count(event):
    """How many people the compose form's filters select (JSON, for static/mailings.js)."""
    form = _form(event, formdata=request.args, meta={"csrf": False})
    for field in (form.status, form.actor_type, form.workshop, form.answer, form.presence):
        if not field.validate(form):
            abort(400)
    count = mailings.audience_count(event, form.audience())
    return jsonify(dict(count, text=_count_text(count)))


def _count_text(count):
    text = ngettext("%(num)d personne recevra ce courriel.", "%(num)d personnes recevront ce courriel.",
                    count["recipients"])
    if count["excluded"]:
        text += " " + ngettext(
            "%(num)d autre est laissée de côté : son adresse est désabonnée ou refusée par son serveur.",
            "%(num)d autres sont laissées de côté : leur adresse est désabonnée ou refusée par leur serveur.",
            count["excluded"])
    return text


@bp.get("/events/<int:event_id>/mailings/<int:mailing_id>")
@with_event
def mailing(event, mailing_id):
    """A draft or scheduled mailing: its preview and what can be done; one that left: its progress
    and the per-recipient log."""
    mailing = _mailing_or_404(event, mailing_id)
    progress = mailings.progress(mailing)
    context = dict(event=event, mailing=mailing, progress=progress, editable=mailing.status in mailings.EDITABLE)
    if context["editable"]:
        count = mailings.audience_count(event, mailings.Audience.from_dict(mailing.audience))
        context.update(preview=mailings.preview(mailing), count_text=_count_text(count), count=count)
    else:
        context.update(log=mailings.recipient_log(mailing), limit=mailings.LOG_LIMIT)
    form = ScheduleMailingForm()
    return render_form_page("organiser/mailing.html", form, **context)


@bp.get("/events/<int:event_id>/mailings/<int:mailing_id>/progress")
@with_event
def mailing_progress(event, mailing_id):
    """The progress as JSON (static/mailings.js polls it)."""
    mailing = _mailing_or_404(event, mailing_id)
    progress = mailings.progress(mailing)
    texts = _progress_texts(event, progress)
    return jsonify(dict(progress.to_json(), texts=texts))


def _progress_texts(event, progress):
    """The figures of the progress as the page writes them (the script puts them in place)."""
    return {
        "status": mailing_status_label(progress.status),
        "per_minute": (_("%(rate)s par minute", rate=round(progress.per_minute))
                       if progress.per_minute is not None else "—"),
        "estimated_end": short_datetime(event, progress.estimated_end) if progress.estimated_end else "—",
    }


def _action(event, mailing_id, action, done):
    mailing = _mailing_or_404(event, mailing_id)
    try:
        result = action(mailing)
    except MailingError as error:
        flash(_refusal(error), "error")
    else:
        flash(done(result), "success")
    return redirect(_mailing_url(mailing))


@bp.post("/events/<int:event_id>/mailings/<int:mailing_id>/test")
@with_event
def test_mailing(event, mailing_id):
    return _action(event, mailing_id, lambda mailing: mailings.send_test(mailing, current_user), lambda _row_id: _(
        "Un essai part vers votre adresse (%(email)s), avec les données d'une personne destinataire.",
        email=current_user.email))


@bp.post("/events/<int:event_id>/mailings/<int:mailing_id>/send")
@with_event
def send_mailing(event, mailing_id):
    return _action(event, mailing_id, lambda mailing: mailings.send_now(mailing, current_user),
                   lambda result: _("Le courriel part maintenant ; suivez l'envoi sur cette page."))


@bp.post("/events/<int:event_id>/mailings/<int:mailing_id>/schedule")
@with_event
def schedule_mailing(event, mailing_id):
    mailing = _mailing_or_404(event, mailing_id)
    form = ScheduleMailingForm()
    if not form.validate_on_submit():
        for message in form.send_at.errors:
            flash(message, "error")
        return redirect(_mailing_url(mailing))
    moment = form.send_at.data.replace(tzinfo=event.tz)
    return _action(event, mailing_id, lambda mailing: mailings.schedule(mailing, current_user, moment),
                   lambda result: _("Le courriel partira le %(moment)s.", moment=short_datetime(event, moment)))


@bp.post("/events/<int:event_id>/mailings/<int:mailing_id>/cancel")
@with_event
def cancel_mailing(event, mailing_id):
    return _action(event, mailing_id, lambda mailing: mailings.cancel(mailing, current_user), lambda count: ngettext(
        "Le courriel est annulé ; %(num)d courriel qui n'était pas encore parti ne partira pas.",
        "Le courriel est annulé ; %(num)d courriels qui n'étaient pas encore partis ne partiront pas.", count))


def _retried(requeued):
    return ngettext("%(num)d courriel est remis en file d'envoi.", "%(num)d courriels sont remis en file d'envoi.",
                    len(requeued)) if requeued else _("Aucun courriel en échec à renvoyer.")


@bp.post("/events/<int:event_id>/mailings/<int:mailing_id>/retry")
@with_event
def retry_mailing(event, mailing_id):
    return _action(event, mailing_id, lambda mailing: mailings.retry_failed(mailing, current_user), _retried)


@bp.post("/events/<int:event_id>/mailings/<int:mailing_id>/rows/<int:row_id>/retry")
@with_event
def retry_mailing_row(event, mailing_id, row_id):
    return _action(event, mailing_id, lambda mailing: mailings.retry_failed(mailing, current_user, [row_id]),
                   _retried)

