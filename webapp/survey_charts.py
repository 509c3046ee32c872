"""The charts of a survey's results (webapp/services/survey_results.py), drawn as the dashboards'
(webapp/charts.py): each with its heading, its summary, its data table (the text alternative) and,
when there is something to draw, an SVG picture drawn on the server.

Free-text answers have no chart: the page lists them (`texts`).
"""
from dataclasses import dataclass

import pygal
from flask_babel import format_decimal
from flask_babel import gettext as _

from . import formatting
from .charts import PERCENT_AXIS, Chart, Table, day_label, dot_grid, percent, short
from .models.surveys import SurveyQuestionKind
from .services.survey_results import OTHER_FAMILIES, TEXT_KINDS


def number(value):
    """A mean or a median as the reader's language writes it; « – » for none."""
    return "–" if value is None else format_decimal(value, format="#,##0.##")


def group_label(group):
    """A family of actors, or the pooled small families, named."""
    if group.key == OTHER_FAMILIES:
        return _("Autres familles (%(names)s)",
                 names=", ".join(formatting.actor_type_label(key) for key in group.actor_types))
    return formatting.actor_type_label(group.key)


def _share(count, whole):
    return round(100 * count / whole) if whole else None


def _count_and_share(count, whole):
    return f"{count} ({percent(_share(count, whole))})"


# --- The response rate ---

def _rate_chart(results):
    days = results.days
    headers = [_("Jour"), _("Réponses ce jour-là"), _("Réponses (cumul)"), _("Taux de réponse")]
    rows = [[day.day, day.responses, day.total, percent(day.rate)] for day in days]
    title = _("Taux de réponse au fil du temps")
    if not days:
        return Chart("rate", title, _("Aucune réponse pour l'instant."), Table(headers, rows))

    def draw():
        chart = pygal.Line(show_legend=False, show_minor_x_labels=False, x_labels_major_count=8, x_label_rotation=30,
                           dots_size=3, range=(0, 100), y_labels=PERCENT_AXIS,
                           value_formatter=lambda value: percent(value))
        chart.x_labels = [day_label(day.day) for day in days]
        chart.add(_("Taux de réponse (cumul)"), [day.rate or 0 for day in days])
        return chart

    summary = _("Réponses : %(responses)s pour %(invited)s personnes invitées (%(rate)s), jour par jour du "
                "%(first)s au %(last)s. Seul le jour d'une réponse est gardé.", responses=days[-1].total,
                invited=results.invited, rate=percent(days[-1].rate), first=day_label(days[0].day),
                last=day_label(days[-1].day))
    return Chart("rate", title, summary, Table(headers, rows), draw if results.invited else None)


def _families_chart(results):
    groups = results.groups
    headers = [_("À quel titre"), _("Personnes invitées"), _("Réponses"), _("Taux de réponse")]
    rows = [[group_label(group), group.invited, group.respondents, percent(_share(group.respondents, group.invited))]
            for group in groups]
    rated = [group for group in groups if group.invited]

    def draw():
        chart = pygal.HorizontalBar(show_legend=False, print_values=True, range=(0, 100), y_labels=PERCENT_AXIS,
                                    value_formatter=lambda value: percent(value))
        chart.x_labels = [short(group_label(group)) for group in rated]
        chart.add(_("Taux de réponse"), [_share(group.respondents, group.invited) for group in rated])
        return chart

    summary = _("Réponses de chaque famille d'acteurs par rapport aux personnes invitées de cette famille.")
    return Chart("families", _("Réponses par famille d'acteurs"), summary, Table(headers, rows),
                 draw if rated else None, height=max(220, 90 + 60 * len(rated)))


# --- One question ---

def _numbers_summary(figures):
    summary = _("Réponses : %(count)s ; moyenne : %(mean)s ; médiane : %(median)s.", count=figures.count,
                mean=number(figures.mean), median=number(figures.median))
    if figures.nps is not None:
        summary += " " + _("NPS : %(nps)s (personnes qui recommandent, 9 ou 10 : %(promoters)s ; neutres, 7 ou 8 : "
                           "%(passives)s ; qui ne recommandent pas, 0 à 6 : %(detractors)s). Le NPS est la part des "
                           "premières moins celle des dernières, en points de pourcentage.", nps=figures.nps,
                           promoters=figures.promoters, passives=figures.passives, detractors=figures.detractors)
    return summary


def _numbers_chart(name, title, result):
    figures = result.numbers
    headers = [_("Note"), _("Réponses"), _("Part")]
    rows = [[str(value), count, percent(result.share(count))] for value, count in figures.distribution]

    def draw():
        chart = pygal.Bar(show_legend=False, print_values=True, include_x_axis=True, min_scale=1)
        chart.x_labels = [str(value) for value, _count in figures.distribution]
        chart.add(_("Réponses"), [count for _value, count in figures.distribution])
        return chart

    return Chart(name, title, _numbers_summary(figures), Table(headers, rows), draw if figures.count else None,
                 height=380)


def _counts_chart(name, title, result):
    headers = [_("Réponse"), _("Réponses"), _("Part")]
    rows = [[label, count, percent(result.share(count))] for label, count in result.counts]
    summary = _("Personnes qui ont répondu : %(count)s.", count=result.answered)
    if result.question.kind == SurveyQuestionKind.multiple_choice:
        summary += " " + _("Plusieurs choix possibles : les parts ne font pas 100 %.")

    def draw():
        chart = pygal.HorizontalBar(show_legend=False, print_values=True, include_x_axis=True)
        chart.x_labels = [short(label) for label, _count in result.counts]
        chart.add(_("Réponses"), [count for _label, count in result.counts])
        return chart

    return Chart(name, title, summary, Table(headers, rows), draw if result.answered else None,
                 height=max(220, 90 + 60 * len(result.counts)))


def _split_numbers_chart(name, title, question, group_results):
    """A rating or a scale side by side: one row per family, its distribution, mean, median (NPS)."""
    values = [value for value, _count in group_results[0][1].numbers.distribution]
    scale = question.kind == SurveyQuestionKind.scale
    headers = [_("À quel titre"), _("Réponses"), _("Moyenne"), _("Médiane")] + ([_("NPS")] if scale else []) + \
        [_("Réponses par note")]
    rows = []
    for label, result in group_results:
        figures = result.numbers
        spread = " ; ".join(_("%(value)s : %(count)s", value=value, count=count)
                            for value, count in figures.distribution)
        rows.append([label, figures.count, number(figures.mean), number(figures.median)]
                    + ([figures.nps if figures.nps is not None else "–"] if scale else []) + [spread])
    summary = _("Pour chaque famille d'acteurs : le nombre de réponses par note (la taille de chaque point), "
                "la moyenne et la médiane.")
    draw = dot_grid([label for label, _result in group_results], [str(value) for value in values],
                    [[count for _value, count in result.numbers.distribution] for _label, result in group_results])
    answered = any(result.answered for _label, result in group_results)
    return Chart(name, title, summary, Table(headers, rows), draw if answered else None,
                 height=max(260, 120 + 60 * len(group_results)))


def _split_counts_chart(name, title, question, group_results):
    """Choices (or yes and no) side by side: one row per choice, one column per family."""
    labels = [label for label, _count in group_results[0][1].counts]
    headers = [_("Réponse")] + [label for label, _result in group_results]
    rows = [[choice] + [_count_and_share(result.counts[index][1], result.answered) for _label, result in group_results]
            for index, choice in enumerate(labels)]
    summary = _("Pour chaque famille d'acteurs, la part de ses réponses qui donnent chaque choix (la taille de "
                "chaque point) ; le tableau donne aussi leur nombre.")
    draw = dot_grid(labels, [label for label, _result in group_results],
                    [[result.share(result.counts[index][1]) or 0 for _label, result in group_results]
                     for index in range(len(labels))])
    answered = any(result.answered for _label, result in group_results)
    return Chart(name, title, summary, Table(headers, rows), draw if answered else None,
                 height=max(260, 120 + 60 * len(labels)))


@dataclass(frozen=True)
class QuestionView:
    """A question on the results page: its chart (None for a text question) and, for a text
    question, its answers: (group label or None, texts)."""
    question: object
    chart: Chart | None
    texts: list


def question_views(results, side_by_side=False):
    """Each question's chart (or answers), for every response or side by side by family of actors."""
    views = []
    per_group = [(group_label(group), results.group_results(group)) for group in results.groups] \
        if side_by_side else []
    for index, result in enumerate(results.questions):
        question = result.question
        name, title = f"question-{question.id}", question.label
        if question.kind in TEXT_KINDS:
            texts = [(label, group[index].texts) for label, group in per_group] if per_group \
                else [(None, result.texts)]
            views.append(QuestionView(question, None, texts))
            continue
        side = [(label, group[index]) for label, group in per_group]
        if result.numbers is not None:
            chart = _split_numbers_chart(name, title, question, side) if side else _numbers_chart(name, title, result)
        else:
            chart = _split_counts_chart(name, title, question, side) if side else _counts_chart(name, title, result)
        views.append(QuestionView(question, chart, []))
    return views


def overview_charts(results):
    """The response rate, and by family of actors (every workshop)."""
    charts = [_rate_chart(results)]
    if results.groups and results.workshop_id is None:
        charts.append(_families_chart(results))
    return charts


def result_charts(results, views):
    """Every chart of the page: the overview's, then the questions'."""
    return overview_charts(results) + [view.chart for view in views if view.chart is not None]
