"""The back office's menus. An entry shows once its page exists (its endpoint is registered),
so a section planned here appears when its page is added; `admin_only` entries only to admins."""
from dataclasses import dataclass

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import formatting
from ..services import questions as registration_questions
from ..services import surveys
from . import bp


@dataclass(frozen=True)
class Section:
    endpoint: str
    label: str
    admin_only: bool = False


# The header's menu (pages without an event).
MAIN_SECTIONS = [
    Section("organiser.dashboard", _l("Événements")),
    Section("organiser.network_dashboard", _l("Vue du réseau"), admin_only=True),
    Section("organiser.account_list", _l("Comptes"), admin_only=True),
    Section("organiser.suppression_lists", _l("Désabonnements")),
    Section("organiser.change_password", _l("Mon mot de passe")),
]

# The menu of an event's pages; each endpoint takes `event_id`.
EVENT_SECTIONS = [
    Section("organiser.event_home", _l("Vue d'ensemble")),
    Section("organiser.event_dashboard", _l("Tableau de bord")),
    Section("organiser.edit_event", _l("Informations")),
    Section("organiser.event_workshops", _l("Ateliers")),
    Section("organiser.event_questions", _l("Questions")),
    Section("organiser.registrations", _l("Inscriptions")),
    Section("organiser.mail_log", _l("Courriels")),
    Section("organiser.mailings", _l("Envois aux personnes inscrites")),
    Section("organiser.reminders", _l("Rappels")),
    Section("organiser.surveys", _l("Questionnaire")),
    Section("organiser.checkin", _l("Accueil le jour J")),
    Section("organiser.event_team", _l("Équipe"), admin_only=True),
]


def visible(sections):
    """The sections whose page exists and that the current account may open, each with
    `current` true for the page shown."""
    return [(section, section.endpoint == request.endpoint) for section in sections
            if section.endpoint in current_app.view_functions
            and (current_user.is_admin or not section.admin_only)]


@bp.app_context_processor
def _back_office_helpers():
    """For the back office's templates; for every request, so that an error page under /organiser/
    that no route answers (a mistyped address: no blueprint) has its menu too."""
    return {
        "back_office_sections": lambda: visible(MAIN_SECTIONS),
        "event_sections": lambda: visible(EVENT_SECTIONS),
        "event_status_label": formatting.event_status_label,
        "user_role_label": formatting.user_role_label,
        "journal_entry_text": formatting.journal_entry_text,
        "registration_count_labels": formatting.REGISTRATION_COUNT_LABELS,
        "approval_statuses": formatting.APPROVAL_STATUSES,
        "status_label": formatting.back_office_status_label,
        "booking_status_label": formatting.booking_status_label,
        "offer_status_label": formatting.offer_status_label,
        "outbox_status_label": formatting.outbox_status_label,
        "mail_kind_label": formatting.mail_kind_label,
        "mailing_status_label": formatting.mailing_status_label,
        "suppression_reason_label": formatting.suppression_reason_label,
        "short_datetime": formatting.short_datetime,
        "answer_text": registration_questions.answer_text,
        "question_kind_label": registration_questions.kind_label,
        "survey_kind_label": surveys.kind_label,
        "survey_status_label": surveys.status_label,
    }
