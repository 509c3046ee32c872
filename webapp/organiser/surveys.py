"""The back-office pages of an event's survey (« Questionnaire »): create it from the template, its
settings (dates, anonymous or named, state), its questions (add, edit, move, delete). The rules
(what may still change once people answered) are in `services.surveys`."""
from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..services import surveys as survey_rules
from ..services.surveys import SurveyError
from ..web import render_form_page
from . import bp
from .access import with_event
from .event_forms import NewSurveyForm, SurveyQuestionForm, SurveySettingsForm


def _page(event):
    return redirect(url_for("organiser.surveys", event_id=event.id))


def _survey_of(event):
    survey = survey_rules.survey_of(event)
    if survey is None:
        abort(404)
    return survey


def _question_of(event, question_id):
    for question in _survey_of(event).questions:
        if question.id == question_id:
            return question
    abort(404)


@bp.route("/events/<int:event_id>/survey", methods=["GET", "POST"])
@with_event
def surveys(event):
    """No survey yet: the form that creates it from the template. Else its settings and questions."""
    survey = survey_rules.survey_of(event)
    if survey is None:
        return _new_survey(event)
    form = SurveySettingsForm(data=SurveySettingsForm.data_of(survey, event.tz))
    if form.validate_on_submit():
        try:
            survey_rules.update_settings(survey, current_user, **form.values_in(event.tz))
        except SurveyError as error:
            form.form_errors.extend(error.messages)
        else:
            flash(_("Les réglages du questionnaire sont enregistrés."), "success")
            return _page(event)
    invited, answered = survey_rules.participation(survey)
    return render_form_page(
        "organiser/survey.html", form, event=event, survey=survey, invited=invited, answered=answered,
        invitation_moment=survey_rules.invitation_moment(survey), reminder_moment=survey_rules.reminder_moment(survey),
        counts=survey_rules.answer_counts(survey))


def _new_survey(event):
    form = NewSurveyForm(data={"language": event.content_language})
    if form.validate_on_submit():
        try:
            survey_rules.create_from_template(event, form.language.data, current_user)
        except SurveyError as error:  # created meanwhile, in another tab
            flash(" ".join(error.messages), "info")
        else:
            flash(_("Le questionnaire est créé à partir du modèle : relisez-le, puis passez-le à l'état « actif »."),
                  "success")
        return _page(event)
    return render_form_page("organiser/survey_new.html", form, event=event)


def _question_page(event, form, question):
    return render_form_page("organiser/survey_question.html", form, event=event, question=question,
                            answered=survey_rules.answer_count(question) if question else 0)


@bp.route("/events/<int:event_id>/survey/questions/new", methods=["GET", "POST"])
@with_event
def new_survey_question(event):
    survey = _survey_of(event)
    form = SurveyQuestionForm(workshops=event.workshops)
    if form.validate_on_submit():
        try:
            survey_rules.add_question(survey, current_user, kind=form.kind.data, label=form.label.data,
                                      help_text=form.help_text.data, required=form.required.data,
                                      workshop_id=form.workshop_id.data, choices=(form.choices.data or "").splitlines())
        except SurveyError as error:
            form.form_errors.extend(error.messages)
        else:
            flash(_("La question est ajoutée à la fin du questionnaire."), "success")
            return _page(event)
    return _question_page(event, form, None)


@bp.route("/events/<int:event_id>/survey/questions/<int:question_id>/edit", methods=["GET", "POST"])
@with_event
def edit_survey_question(event, question_id):
    question = _question_of(event, question_id)
    form = SurveyQuestionForm(workshops=event.workshops, obj=question,
                              data={"choices": "\n".join(choice.label for choice in question.choices)})
    if form.validate_on_submit():
        try:
            survey_rules.update_question(question, current_user, kind=form.kind.data, label=form.label.data,
                                         help_text=form.help_text.data, required=form.required.data,
                                         workshop_id=form.workshop_id.data,
                                         choices=(form.choices.data or "").splitlines())
        except SurveyError as error:
            form.form_errors.extend(error.messages)
        else:
            flash(_("Les modifications sont enregistrées."), "success")
            return _page(event)
    return _question_page(event, form, question)


@bp.post("/events/<int:event_id>/survey/questions/<int:question_id>/move/<any(up, down):direction>")
@with_event
def move_survey_question(event, question_id, direction):
    question = _question_of(event, question_id)
    if survey_rules.move_question(question, current_user, -1 if direction == "up" else 1):
        flash(_("La question « %(label)s » a changé de place.", label=question.label), "success")
    return _page(event)


@bp.post("/events/<int:event_id>/survey/questions/<int:question_id>/delete")
@with_event
def delete_survey_question(event, question_id):
    question = _question_of(event, question_id)
    label = question.label
    try:
        survey_rules.delete_question(question, current_user)
    except SurveyError as error:
        for message in error.messages:
            flash(message, "error")
    else:
        flash(_("La question « %(label)s » est supprimée.", label=label), "success")
    return _page(event)
