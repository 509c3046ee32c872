"""Exports of an event's registration list: CSV and Excel (.xlsx) files (the CSV writer also
writes the dashboards' figures).

CSV: UTF-8 with a byte order mark, so that spreadsheets read accents right, and `;` between
fields, because French-locale spreadsheets use the comma as the decimal separator and expect
`;` in a CSV file; lines end with CRLF (RFC 4180).

Formula injection: a text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
could be run as a formula by a spreadsheet. Such a cell gets a leading apostrophe, so that it is
shown as the text it is (OWASP's advice); in the .xlsx file it is then a plain text cell too.

The columns are a list of `Column`s (a header and the value of one registration): the usual
ones, then one per question of the event with the answers (the choices of a multiple choice
joined by « ; »).
"""
import csv
import enum
import io
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from .. import formatting
from ..extensions import db
from ..models import BookingStatus, DataAccessAction, JournalAction
from . import journal, privacy, registration_list
from . import questions as registration_questions


class ExportFormat(enum.StrEnum):
    csv = "csv"
    xlsx = "xlsx"


FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CSV_SEPARATOR = ";"
XLSX_DATE_FORMAT = "yyyy-mm-dd hh:mm"


def neutralise(value):
    """A text cell that a spreadsheet could read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Column:
    header: str
    # registration -> a text, a datetime (aware; written in the event's zone) or None
    value: Callable


def _workshops(registration):
    parts = []
    for booking in registration.bookings:
        if booking.status in (BookingStatus.booked, BookingStatus.requested):
            parts.append(booking.workshop.title)
        elif booking.status in (BookingStatus.waiting, BookingStatus.offered):
            parts.append(formatting.waiting_for(booking.workshop.title))
    return " ; ".join(parts)


COLUMNS = [
    Column(_l("Nom"), lambda r: r.last_name),
    Column(_l("Prénom"), lambda r: r.first_name),
    Column(_l("Adresse électronique"), lambda r: r.email),
    Column(_l("Structure"), lambda r: r.organisation),
    Column(_l("À quel titre"), lambda r: formatting.actor_type_label(r.actor_type)),
    Column(_l("Statut"), lambda r: formatting.back_office_status_label(r.status)),
    Column(_l("Ateliers"), _workshops),
    Column(_l("Inscription"), lambda r: r.created_at),
    Column(_l("Confirmation"), lambda r: r.confirmed_at),
    Column(_l("Annulation"), lambda r: r.cancelled_at),
    Column(_l("Langue"), lambda r: formatting.LANGUAGE_NAMES.get(r.language, r.language)),
]


def _answer(question):
    def value(registration):
        return registration_questions.answer_text(
            next((answer for answer in registration.answers if answer.question_id == question.id), None))
    return value


def columns_of(event):
    """The usual columns, then one per question of the event (loaded: `questions.load`)."""
    return COLUMNS + [Column(question.label, _answer(question)) for question in event.questions]


def _rows(event, registrations, columns, date_value):
    yield [neutralise(str(column.header)) for column in columns]  # a question is the organisers' text
    for registration in registrations:
        row = []
        for column in columns:
            value = column.value(registration)
            if hasattr(value, "astimezone"):
                value = date_value(value.astimezone(event.tz))
            row.append(neutralise(value if value is not None else ""))
        yield row


def csv_file(rows):
    """A CSV file (bytes) of `rows` (lists of cells) as described above; text cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_SEPARATOR, lineterminator="\r\n")
    writer.writerows([neutralise(value) for value in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def to_csv(event, registrations, columns=COLUMNS):
    """The CSV file (bytes) of these registrations."""
    return csv_file(_rows(event, registrations, columns, lambda local: local.strftime("%Y-%m-%d %H:%M")))


def xlsx_file(rows, sheet_title):
    """An Excel workbook (bytes) of one sheet: `rows` (lists of cells), the first one in bold;
    datetimes as dates; text cells neutralised."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    bold = Font(bold=True)

    def cell(value):
        cell = WriteOnlyCell(sheet, value=neutralise(value))
        if hasattr(value, "hour"):
            cell.number_format = XLSX_DATE_FORMAT
        return cell

    for index, row in enumerate(rows):
        cells = [cell(value) for value in row]
        if index == 0:
            for header in cells:
                header.font = bold
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def to_xlsx(event, registrations, columns=COLUMNS):
    """The Excel workbook (bytes) of these registrations: one sheet, dates as dates."""
    return xlsx_file(_rows(event, registrations, columns, lambda local: local.replace(tzinfo=None)),
                     str(_l("Inscriptions")))


def export(event, by, filters, order, file_format):
    """The registrations matching `filters`, in `order`, as a file of `file_format` (bytes);
    journalled as done by `by`. Commits."""
    registration_questions.load(event)
    matching = registration_list.all_matching(event, filters, order)
    write = to_csv if file_format == ExportFormat.csv else to_xlsx
    content = write(event, matching, columns_of(event))
    journal.record(event, by, JournalAction.registrations_exported, format=file_format.value.upper(),
                   count=len(matching))
    privacy.record_access(by, DataAccessAction.exported, event, count=len(matching))
    db.session.commit()
    return content
