"""The back-office pages of an event's registration questions: the list (with their order), add,
edit (with the choices), move up or down, delete. The rules (what a question people answered may
still become, choices hidden rather than deleted) are in `services.questions`; each change is
journalled there."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..services import questions as registration_questions
from ..services.questions import QuestionError
from ..web import render_form_page
from . import bp
from .access import with_event
from .event_forms import question_form


def _question_of(event, question_id):
    for question in registration_questions.load(event):
        if question.id == question_id:
            return question
    abort(404)


def _list(event):
    return redirect(url_for("organiser.event_questions", event_id=event.id))


@bp.get("/events/<int:event_id>/questions")
@with_event
def event_questions(event):
    return render_template("organiser/questions.html", event=event, questions=registration_questions.load(event),
                           counts=registration_questions.answer_counts(event))


@bp.route("/events/<int:event_id>/questions/new", methods=["GET", "POST"])
@with_event
def new_question(event):
    form = question_form()()
    if form.validate_on_submit():
        try:
            registration_questions.add_question(
                event, current_user, kind=form.kind.data, label=form.label.data, help_text=form.help_text.data,
                required=form.required.data, choices=(form.new_choices.data or "").splitlines())
        except QuestionError as error:
            form.form_errors.extend(error.errors)
        else:
            flash(_("La question est ajoutée à la fin du formulaire d'inscription."), "success")
            return _list(event)
    return render_form_page("organiser/question_form.html", form, event=event, question=None)


@bp.route("/events/<int:event_id>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@with_event
def edit_question(event, question_id):
    question = _question_of(event, question_id)
    answered = registration_questions.answer_count(question)
    form = question_form(question, kind_fixed=bool(answered))(obj=question)
    if form.validate_on_submit():
        try:
            hidden = registration_questions.update_question(
                question, current_user, kind=form.kind.data if form.kind else question.kind, label=form.label.data,
                help_text=form.help_text.data, required=form.required.data, choices=form.choice_changes(question))
        except QuestionError as error:
            form.form_errors.extend(error.errors)
        else:
            flash(_("Les modifications sont enregistrées."), "success")
            for label in hidden:
                flash(_("Le choix « %(label)s » a déjà été choisi : il n'est plus proposé, et les réponses déjà "
                        "données le gardent.", label=label), "info")
            return _list(event)
    return render_form_page("organiser/question_form.html", form, event=event, question=question,
                            answered=answered, choice_counts=registration_questions.choice_answer_counts(question))


@bp.post("/events/<int:event_id>/questions/<int:question_id>/move/<any(up, down):direction>")
@with_event
def move_question(event, question_id, direction):
    question = _question_of(event, question_id)
    if registration_questions.move_question(question, current_user, -1 if direction == "up" else 1):
        flash(_("La question « %(label)s » a changé de place.", label=question.label), "success")
    return _list(event)


@bp.route("/events/<int:event_id>/questions/<int:question_id>/delete", methods=["GET", "POST"])
@with_event
def delete_question(event, question_id):
    """A page that says how many answers will go, then the deletion."""
    question = _question_of(event, question_id)
    if request.method == "GET":
        return render_template("organiser/question_delete.html", event=event, question=question,
                               count=registration_questions.answer_count(question))
    label = question.label
    count = registration_questions.delete_question(question, current_user)
    flash(_("La question « %(label)s » est supprimée ; réponses effacées : %(count)s.", label=label, count=count),
          "success")
    return _list(event)
