"""The dashboards' charts and tables, drawn from the figures of webapp/services/dashboards.py.

Each `Chart` has a heading, a short text summary, a data table (its text alternative, shown next to
the picture; the CSV export writes the same tables) and, when there is something to draw, an SVG
picture drawn by pygal on the server. The SVG has no script and nothing remote: pygal's scripts are
left out and its styles are inside the file, which is served as an image (`svg_response`).

Series are never told apart by colour alone: a line chart draws its second series dashed and says so
in its legend; the charts of several series are dot grids, where each row and column is named.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from xml.etree import ElementTree

import pygal
from flask_babel import format_date, format_percent
from flask_babel import gettext as _
from pygal.style import Style

from . import formatting

# Colours that contrast with white (4.5:1 or more), and a readable font.
STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1f1f1f", foreground_strong="#1f1f1f",
    foreground_subtle="#5c5c5c", font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    colors=("#1d4f91", "#a03c00", "#2f6b2f", "#6b3fa0", "#8a5a00", "#a0213f", "#00657a", "#4d4d4d"),
    label_font_size=14, major_label_font_size=14, value_font_size=14, legend_font_size=15, tooltip_font_size=14,
    title_font_size=16, opacity="1", opacity_hover="1", dot_opacity="1", value_colors=("#ffffff",),
)
PERCENT_AXIS = [0, 25, 50, 75, 100]
# Longer labels (event titles) are cut in the pictures (`short`): the tables give them in full.
LABEL_LENGTH = 50
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
# The SVG response: an image, so no script would run; this policy says so again and allows only
# the styles written inside the file.
SVG_HEADERS = {"Content-Type": "image/svg+xml; charset=utf-8",
               "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


@dataclass(frozen=True)
class Table:
    """A data table: the header of each column, then rows (their first cell names the row). Cells
    are texts, numbers or dates: a page writes dates in words (`shown_rows`), the CSV file as ISO
    dates (`csv_tables`)."""
    headers: list
    rows: list

    @property
    def shown_rows(self):
        return [[day_label(cell, "medium") if isinstance(cell, date) else cell for cell in row] for row in self.rows]

    @property
    def wide(self):
        """Too many columns for a page of ordinary width: shown as blocks (emgav.css)."""
        return len(self.headers) > 6


@dataclass(frozen=True)
class Chart:
    name: str                # its part of the picture's URL
    title: str
    summary: str
    table: Table
    draw: Callable | None = field(default=None, compare=False)  # () -> a pygal chart; None: nothing to draw
    height: int = 420

    def svg(self):
        """The picture (bytes): pygal's SVG without its script."""
        chart = self.draw()
        chart.config(js=[], style=STYLE, height=self.height, width=800, explicit_size=True,
                     disable_xml_declaration=True, truncate_label=-1, truncate_legend=-1)
        root = chart.render_tree()
        for parent in root.iter():
            for child in list(parent):
                if isinstance(child.tag, str) and child.tag.removeprefix(SVG_NAMESPACE) == "script":
                    parent.remove(child)
        return b"<?xml version='1.0' encoding='utf-8'?>\n" + ElementTree.tostring(root, encoding="utf-8",
                                                                                 xml_declaration=False)


def short(label, length=LABEL_LENGTH):
    """A label of a picture: cut after `length` characters, with « … »."""
    return label if len(label) <= length else label[:length - 1].rstrip() + "…"


def percent(value):
    """A whole percentage (given out of 100) as the reader's language writes it; « – » for none."""
    return "–" if value is None else format_percent(value / 100)


def day_label(day, length="d MMM"):
    """A day (in the event's time zone already) in words: « 1 juin » in a picture."""
    return format_date(day, length, rebase=False)


def dot_grid(rows, columns, values):
    """A grid of dots: one row per name of `rows`, one column per name of `columns`, each dot as
    large as its value (the numbers are in the chart's table). `values[i][j]` is row i, column j."""
    def draw():
        chart = pygal.Dot(show_legend=False, x_label_rotation=0 if len(columns) < 5 else 30)
        chart.x_labels = [short(column) for column in columns]
        for name, row in zip(rows, values, strict=True):
            chart.add(short(name), row)
        return chart
    return draw


def _actor_labels(mix):
    return [formatting.actor_type_label(row.actor_type) for row in mix]


# --- One event ---

def _registrations_chart(figures):
    days = figures.days
    headers = [_("Jour"), _("Inscriptions (cumul)"), _("Places réservées (cumul)")]
    rows = [[day.day, day.registrations, day.seats] for day in days]
    if not days:
        return Chart("registrations", _("Inscriptions au fil du temps"), _("Aucune inscription pour l'instant."),
                     Table(headers, rows))
    last = days[-1]

    def draw():
        chart = pygal.Line(legend_at_bottom=True, show_minor_x_labels=False, x_labels_major_count=8,
                           x_label_rotation=30, dots_size=3, min_scale=1)
        chart.x_labels = [day_label(day.day) for day in days]
        chart.add(_("Inscriptions (cumul, trait plein)"), [day.registrations for day in days])
        chart.add(_("Places réservées (cumul, tirets)"), [day.seats for day in days],
                  stroke_style={"width": 3, "dasharray": "9, 6"})
        return chart

    summary = _("Inscriptions faites du %(first)s au %(last)s, annulées ensuite comprises : %(registrations)s, "
                "dont %(seats)s avec une place obtenue. Jour par jour, dans le fuseau horaire de l'événement.",
                registrations=last.registrations, seats=last.seats, first=day_label(days[0].day),
                last=day_label(last.day))
    return Chart("registrations", _("Inscriptions au fil du temps"), summary, Table(headers, rows), draw)


def _seats_chart(figures):
    pools = [figures.pool, *figures.workshops]
    headers = [_("Événement ou atelier"), _("Places prises"), _("Capacité"), _("Part prise"), _("Liste d'attente")]
    rows = [[pool.title, pool.taken, _("sans limite") if pool.capacity is None else pool.capacity,
             percent(pool.percent_taken), pool.waiting] for pool in pools]
    limited = [pool for pool in pools if pool.capacity]

    def draw():
        return _percent_bars(_("Part des places prises"), limited, [pool.percent_taken for pool in limited])

    summary = _("Places prises (réservées ou proposées) par rapport à la capacité : %(taken)s sur %(capacity)s "
                "pour l'événement.", taken=figures.pool.taken,
                capacity=figures.pool.capacity if figures.pool.capacity is not None else _("sans limite"))
    return Chart("seats", _("Places prises et capacité"), summary, Table(headers, rows),
                 draw if limited else None, height=max(220, 90 + 60 * len(limited)))


def _percent_bars(label, pools, values):
    """Horizontal bars of percentages, one per pool (the event, its workshops), named by its title."""
    chart = pygal.HorizontalBar(show_legend=False, print_values=True, range=(0, 100), y_labels=PERCENT_AXIS,
                                value_formatter=lambda value: percent(value))
    chart.x_labels = [short(pool.title) for pool in pools]
    chart.add(label, values)
    return chart


def _waiting_chart(figures):
    days = figures.days
    headers = [_("Jour"), _("Personnes en liste d'attente le soir")]
    rows = [[day.day, day.waiting] for day in days]
    title = _("Liste d'attente au fil du temps")
    if not any(day.waiting for day in days):
        return Chart("waiting", title, _("Personne n'a attendu une place de l'événement."), Table(headers, rows))

    def draw():
        chart = pygal.Line(show_legend=False, show_minor_x_labels=False, x_labels_major_count=8, x_label_rotation=30,
                           dots_size=3, min_scale=1, fill=False)
        chart.x_labels = [day_label(day.day) for day in days]
        chart.add(_("Personnes en liste d'attente"), [day.waiting for day in days])
        return chart

    summary = _("Nombre de personnes sur la liste d'attente de l'événement à la fin de chaque jour : on y entre "
                "en attendant une place, on en sort quand une place est proposée ou à l'annulation. "
                "Le plus haut : %(peak)s ; aujourd'hui : %(now)s.",
                peak=max(day.waiting for day in days), now=figures.pool.waiting)
    return Chart("waiting", title, summary, Table(headers, rows), draw)


def _attendance_chart(figures):
    pools = [figures.pool, *figures.workshops]
    headers = [_("Événement ou atelier"), _("Places réservées"), _("Personnes présentes"), _("Taux de présence")]
    rows = [[pool.title, pool.confirmed, pool.present, percent(pool.attendance_rate)] for pool in pools]
    rated = [pool for pool in pools if pool.attendance_rate is not None]

    def draw():
        return _percent_bars(_("Taux de présence"), rated, [pool.attendance_rate for pool in rated])

    summary = _("Personnes enregistrées à l'accueil par rapport aux places réservées : %(present)s sur "
                "%(confirmed)s pour l'événement (%(rate)s). Pour un atelier : ses personnes inscrites "
                "enregistrées à l'accueil de l'événement.", present=figures.pool.present,
                confirmed=figures.pool.confirmed, rate=percent(figures.pool.attendance_rate))
    return Chart("attendance", _("Taux de présence"), summary, Table(headers, rows), draw if rated else None,
                 height=max(220, 90 + 60 * len(rated)))


def _mix_chart(name, title, pool, booked_label):
    columns = [_("Inscrites"), booked_label, _("Présentes")]
    mix = pool.mix
    headers = [_("À quel titre"), *columns]
    rows = [[label, row.registered, row.confirmed, row.present] for label, row in zip(_actor_labels(mix), mix,
                                                                                         strict=True)]
    summary = _("Familles d'acteurs parmi les personnes inscrites (%(registered)s), celles qui ont une place "
                "(%(confirmed)s) et les présentes (%(present)s).", registered=pool.registered, confirmed=pool.confirmed,
                present=pool.present)
    draw = dot_grid(_actor_labels(mix), columns, [[row.registered, row.confirmed, row.present] for row in mix])
    return Chart(name, title, summary, Table(headers, rows), draw if pool.registered else None, height=560)


def event_charts(figures):
    """The charts of an event's dashboard, in the page's order; the attendance once the event is over."""
    charts = [_registrations_chart(figures), _seats_chart(figures), _waiting_chart(figures)]
    if figures.ended:
        charts.append(_attendance_chart(figures))
    charts.append(_mix_chart("mix", _("Familles d'acteurs"), figures.pool, _("Places réservées")))
    for pool in figures.workshops:
        charts.append(_mix_chart(f"workshop-{pool.workshop_id}", _("Atelier « %(title)s » : familles d'acteurs",
                                                                     title=pool.title), pool, _("Places réservées")))
    return charts


# --- The network ---

def _event_date(item):
    return format_date(item.event.local_start, "short", rebase=False)


def _event_name(item):
    return f"{item.event.title} ({_event_date(item)})"


def _event_label(item):
    """An event in a picture: its title (cut if long) and its date."""
    return f"{short(item.event.title, LABEL_LENGTH - 13)} ({_event_date(item)})"


def _people_chart(figures):
    headers = [_("Événement"), _("Inscrites"), _("Places réservées"), _("Présentes")]
    rows = [[_event_name(item), item.pool.registered, item.pool.confirmed,
             item.pool.present if item.ended else _("après le jour J")] for item in figures.events]

    def draw():
        chart = pygal.HorizontalBar(show_legend=False, print_values=True, include_x_axis=True)
        chart.x_labels = [_event_label(item) for item in figures.events]
        chart.add(_("Personnes inscrites"), [item.pool.registered for item in figures.events])
        return chart

    summary = _("Adresses électroniques différentes inscrites (inscriptions annulées ou refusées exclues) : "
                "%(people)s ; à plusieurs événements de la période : %(several)s.", people=figures.people,
                several=figures.several)
    return Chart("people", _("Personnes inscrites par événement"), summary, Table(headers, rows),
                 draw if figures.events else None, height=max(220, 90 + 50 * len(figures.events)))


def _share(part, whole):
    """`part` in % of `whole` (a whole number; None when `whole` is 0)."""
    return round(100 * part / whole) if whole else None


def _network_mix_chart(figures):
    keys = figures.actor_types()
    labels = [formatting.actor_type_label(key) for key in keys]
    counts = {}  # (event id, actor type) -> people registered
    for item in figures.events:
        counts.update({(item.event.id, row.actor_type): row.registered for row in item.pool.mix})

    def count(item, key):
        return counts.get((item.event.id, key), 0)

    headers = [_("Événement"), *labels]
    rows = [[_event_name(item)] + [f"{count(item, key)} ({percent(_share(count(item, key), item.pool.registered))})"
                                   for key in keys] for item in figures.events]
    summary = _("Part de chaque famille d'acteurs parmi les personnes inscrites à chaque événement, en "
                "pourcentage : une ligne par famille, une colonne par événement (à sa date). Le tableau donne "
                "aussi le nombre de personnes.")
    draw = dot_grid(labels, [_event_date(item) for item in figures.events],
                     [[_share(count(item, key), item.pool.registered) or 0 for item in figures.events] for key in keys])
    return Chart("mix", _("Familles d'acteurs par événement"), summary, Table(headers, rows),
                 draw if figures.events else None, height=560)


def _returning_chart(figures):
    columns = [_("Déjà venues"), _("Nouvelles")]
    headers = [_("Événement"), *columns]
    rows = [[_event_name(item), item.returning, item.newcomers] for item in figures.events]
    summary = _("Parmi les personnes inscrites à chaque événement : celles dont l'adresse électronique était "
                "déjà inscrite à un événement précédent du réseau, et les nouvelles.")
    draw = dot_grid([_event_label(item) for item in figures.events], columns,
                     [[item.returning, item.newcomers] for item in figures.events])
    return Chart("returning", _("Personnes revenues et nouvelles"), summary, Table(headers, rows),
                 draw if figures.events else None, height=max(220, 150 + 50 * len(figures.events)))


def network_charts(figures):
    """The charts of the network's view, in the page's order."""
    return [_people_chart(figures), _network_mix_chart(figures), _returning_chart(figures)]


def find(charts, name):
    """The chart called `name`, when it has a picture; None otherwise."""
    return next((chart for chart in charts if chart.name == name and chart.draw is not None), None)


def svg_response(chart):
    """The (body, status, headers) of a chart's picture."""
    return chart.svg(), 200, SVG_HEADERS


def csv_tables(charts):
    """The rows of the CSV export: each chart's title, its table (dates as 2030-06-12), an empty line."""
    rows = []
    for chart in charts:
        rows += [[chart.title], chart.table.headers,
                 *([cell.isoformat() if isinstance(cell, date) else cell for cell in row] for row in chart.table.rows),
                 []]
    return rows
