"""The dashboards: an event's (its organisers and admins) and the network's view of a period (admins).
Each page shows its charts (webapp/charts.py), each with its data table; the pictures are SVG files
of their own routes, and the figures of a page can be downloaded as one CSV file."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, render_template, request
from flask_babel import get_locale

from .. import charts
from ..services import dashboards, exports
from ..web import render_form_page
from . import bp
from .access import admin_required, with_event
from .forms import NetworkPeriodForm

CSV_HEADERS = {"Content-Type": "text/csv; charset=utf-8"}


def _csv(content, filename):
    return content, 200, dict(CSV_HEADERS, **{"Content-Disposition": f'attachment; filename="{filename}"'})


def _event_charts(event):
    return charts.event_charts(dashboards.event_figures(event))


@bp.get("/events/<int:event_id>/dashboard")
@with_event
def event_dashboard(event):
    """The event's charts: registrations, seats, waiting list, attendance, families of actors."""
    figures = dashboards.event_figures(event)
    return render_template("organiser/event_dashboard.html", event=event, figures=figures,
                           charts=charts.event_charts(figures), lang=str(get_locale()))


@bp.get("/events/<int:event_id>/dashboard/<name>.svg")
@with_event
def event_dashboard_chart(event, name):
    chart = charts.find(_event_charts(event), name)
    if chart is None:
        abort(404)
    return charts.svg_response(chart)


@bp.get("/events/<int:event_id>/dashboard/figures.csv")
@with_event
def export_event_dashboard(event):
    """The tables of the event's dashboard, one after the other, in a CSV file."""
    return _csv(exports.csv_file(charts.csv_tables(_event_charts(event))), f"chiffres-{event.slug}.csv")


def _network_figures():
    """The period's figures and the form that chose it (its errors, if any: then the default period)."""
    form = NetworkPeriodForm(request.args)
    valid = form.validate()
    zone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    today = datetime.now(ZoneInfo(zone)).date()
    start, end = form.period(today) if valid else dashboards.default_period(today)
    return form, dashboards.network_figures(start, end, zone)


@bp.get("/network")
@admin_required
def network_dashboard():
    """The network's events of a period side by side: people, families of actors, newcomers."""
    form, figures = _network_figures()
    period = {"start": figures.start.isoformat(), "end": figures.end.isoformat()}
    return render_form_page("organiser/network_dashboard.html", form, figures=figures,
                            charts=charts.network_charts(figures), period=period, lang=str(get_locale()))


@bp.get("/network/<name>.svg")
@admin_required
def network_dashboard_chart(name):
    chart = charts.find(charts.network_charts(_network_figures()[1]), name)
    if chart is None:
        abort(404)
    return charts.svg_response(chart)


@bp.get("/network/figures.csv")
@admin_required
def export_network_dashboard():
    figures = _network_figures()[1]
    return _csv(exports.csv_file(charts.csv_tables(charts.network_charts(figures))),
                f"chiffres-reseau-{figures.start.isoformat()}-{figures.end.isoformat()}.csv")
