"""The survey page reached through a person's personal link: no account, the answers can be changed
until the survey closes. The rules (who is asked what, one response per person) live in
`services.survey_answers`."""
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import public_post_limit
from ..formatting import in_language, local_datetime, sentence
from ..models import SurveyStatus
from ..models.base import utcnow
from ..services import survey_answers, surveys, tokens
from ..services.survey_answers import AnswersError
from ..services.surveys import SurveyError, SurveyErrorCode
from ..web import render_form_page
from . import bp
from .forms import survey_form


@bp.url_value_preprocessor
def _speak_the_language_of_the_survey_link_owner(endpoint, values):
    """The survey page and its error pages are in the language of the person the link belongs to
    (the one of their mails), unless the visitor chose one with the language switch."""
    if endpoint == "participant.survey" and values and "token" in values:
        try:
            g.participant_language = survey_answers.participant_from_token(values["token"]).registration.language
        except tokens.InvalidLink:
            pass


def _invalid_link():
    page = render_template(
        "message.html", heading=_("Lien non valable"),
        message=_("Ce lien vers le questionnaire n'est pas (ou plus) valable : il est peut-être incomplet. "
                  "Vérifiez que vous avez copié l'adresse en entier depuis le dernier message reçu."))
    return page, 404


def _closed(survey):
    """A polite page: not open yet, or closed."""
    title = in_language(survey.event.title, survey.event.content_language)
    if survey.status == SurveyStatus.active and survey.opens_at is not None and utcnow() < survey.opens_at:
        message = sentence(_("Le questionnaire sur « %(title)s » n'est pas encore ouvert : revenez avec ce même "
                             "lien à partir du %(moment)s."), title=title,
                           moment=local_datetime(survey.event, survey.opens_at))
        return render_template("message.html", heading=_("Questionnaire pas encore ouvert"), message=message), 409
    return render_template(
        "message.html", heading=_("Questionnaire clos"),
        message=sentence(_("Le questionnaire sur « %(title)s » est clos : il ne prend plus de réponses. "
                           "Merci de l'intérêt que vous lui portez."), title=title),
        link_url=url_for("public.index"), link_text=_("Voir les événements")), 410


@bp.route("/surveys/<token>", methods=["GET", "POST"])
@public_post_limit()
def survey(token):
    """GET shows the form (with the person's answers when they gave some); POST saves the answers."""
    try:
        participant = survey_answers.participant_from_token(token)
    except tokens.InvalidLink:
        return _invalid_link()
    if not surveys.is_open(participant.survey):
        return _closed(participant.survey)
    questions = survey_answers.questions_for(participant)
    response = survey_answers.response_of(participant)
    form = survey_form(questions, survey_answers.raw_answers(response))()
    if request.method == "POST":
        survey_answers.mark_started(participant)
    if form.validate_on_submit():
        try:
            survey_answers.submit(participant, form.answers())
        except AnswersError as error:  # the questions changed while the form was open
            form.refuse_answers(error)
        except SurveyError as error:
            if error.code == SurveyErrorCode.closed:
                return _closed(participant.survey)
            form.form_errors.append(_("Le questionnaire a changé pendant que vous répondiez : vérifiez vos "
                                      "réponses et envoyez-les à nouveau."))
        else:
            flash(_("Merci ! Vos réponses sont enregistrées. Vous pouvez les modifier avec ce même lien "
                    "jusqu'à la clôture du questionnaire."), "success")
            return redirect(url_for("participant.survey", token=token))
    return render_form_page("participant/survey.html", form, survey=participant.survey, token=token,
                            answered=response is not None)
