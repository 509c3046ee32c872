"""The results of an event's survey (« Résultats du questionnaire »): response rate, each question's
chart or answers, for every response, side by side by family of actors, for one family or one
workshop; the pictures as SVG files of their own route; the responses as CSV or Excel files."""
from flask import abort, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import charts, formatting, survey_charts
from ..services import survey_exports, survey_results, surveys
from ..services.exports import ExportFormat
from ..web import render_form_page
from . import bp
from .access import with_event
from .forms import SurveyResultsForm
from .registrations import CONTENT_TYPES


def _results(event):
    """(survey, form, results, question views) of the page asked for by the query string."""
    survey = surveys.survey_of(event)
    if survey is None:
        return None, None, None, []
    args = request.args
    family, workshop = args.get("families", ""), args.get("workshop", "")
    together = family in (SurveyResultsForm.TOGETHER, SurveyResultsForm.SIDE_BY_SIDE)
    results = survey_results.survey_results(survey, actor_type=None if together else family,
                                            workshop_id=int(workshop) if workshop.isdigit() else None)
    form = SurveyResultsForm(args, results.families, results.workshops)
    if form.validate() and not together and results.actor_type is None:
        form.families.data = SurveyResultsForm.TOGETHER  # dropped: one filter at a time (anonymous survey)
    side_by_side = form.families.data == SurveyResultsForm.SIDE_BY_SIDE
    return survey, form, results, survey_charts.question_views(results, side_by_side)


@bp.get("/events/<int:event_id>/survey/results")
@with_event
def survey_results_page(event):
    """The results, with the choice of what they show and the export links."""
    survey, form, results, views = _results(event)
    if survey is None:
        return render_form_page("organiser/survey_results.html", SurveyResultsForm(None, [], []), event=event,
                                survey=None)
    return render_form_page("organiser/survey_results.html", form, event=event, survey=survey, results=results,
                            views=views, overview=survey_charts.overview_charts(results),
                            arguments={key: value for key, value in request.args.items() if key != "lang"},
                            lang=str(get_locale()), actor_type_label=formatting.actor_type_label,
                            exportable=survey_exports.exportable(survey))


@bp.get("/events/<int:event_id>/survey/results/<name>.svg")
@with_event
def survey_results_chart(event, name):
    survey, _form, results, views = _results(event)
    chart = charts.find(survey_charts.result_charts(results, views), name) if survey else None
    if chart is None:
        abort(404)
    return charts.svg_response(chart)


@bp.post("/events/<int:event_id>/survey/responses.<any(csv, xlsx):file_format>")
@with_event
def export_survey_responses(event, file_format):
    """Every response as a CSV or Excel file (named: with the person; anonymous: the answers only);
    journalled."""
    survey = surveys.survey_of(event)
    if survey is None:
        abort(404)
    if not survey_exports.exportable(survey):
        flash(_("Trop peu de réponses pour exporter ce questionnaire anonyme sans risquer de reconnaître "
                "quelqu'un : il en faut au moins 3."), "error")
        return redirect(url_for("organiser.survey_results_page", event_id=event.id))
    file_format = ExportFormat(file_format)
    content = survey_exports.export(survey, current_user, file_format)
    return content, 200, {"Content-Type": CONTENT_TYPES[file_format],
                          "Content-Disposition": f'attachment; filename="reponses-{event.slug}.{file_format}"'}
