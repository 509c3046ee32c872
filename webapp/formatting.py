"""How dates, time slots, workshops and labels are written, the same way in pages, mails and
calendar files. Dates are always written in the event's own time zone, whatever the reader's.

Functions that write words (`format_*`, labels) use the current Flask-Babel locale: pages set
it from the request, mails from the recipient's language.

Organisers' words (titles, descriptions, places) are in their event's `content_language`; when
the reader's language differs, pages and HTML mails mark them with `lang` (`lang_attr`,
`in_language`) so that screen readers pronounce them in the right language.
"""
from babel.dates import get_timezone_location
from flask_babel import format_date, format_datetime, format_time, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from .models import (
    ACTOR_TYPES,
    BookingStatus,
    EventStatus,
    JournalAction,
    MailingStatus,
    OfferStatus,
    OutboxStatus,
    RegistrationStatus,
    SuppressionReason,
    UserRole,
)

# Language switch and language choices: each language named in itself.
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}
# The French "full" date pattern (EEEE d MMMM y), with « er » after the day: « 1er septembre ».
FRENCH_FIRST_OF_MONTH = "EEEE d'er' MMMM y"



def lang_attr(language):
    """` lang="…"` (Markup) for an element holding text in `language` when the reader's language
    is another one; nothing otherwise. In a template: `<h1{{ lang_attr(event.content_language) }}>`."""
    if not language or language == str(get_locale()):
        return Markup("")
    return Markup(' lang="%s"') % language


def in_language(text, language):
    """`text` (escaped) for a sentence or a line: in a `<span lang="…">` when `language` is not
    the reader's. A template's `_()` keeps it as it is; in Python, fill the sentence with `sentence`."""
    attribute = lang_attr(language)
    return Markup("<span%s>%s</span>") % (attribute, text) if attribute else escape(text)


def sentence(message, **values):
    """A translated `message` whose placeholders are not filled in yet (`_("… %(title)s …")`
    without values), as Markup filled in with `values`: plain text is escaped, Markup such as
    `in_language(…)` is kept."""
    return escape(message) % values


REGISTRATION_STATUS_LABELS = {
    RegistrationStatus.pending: _l("adresse à confirmer"),
    RegistrationStatus.confirmed: _l("place réservée"),
    RegistrationStatus.waiting: _l("sur la liste d'attente"),
    RegistrationStatus.offered: _l("une place vous est proposée"),
    RegistrationStatus.awaiting_approval: _l("demande en attente de validation"),
    RegistrationStatus.cancelled: _l("annulée"),
    RegistrationStatus.declined: _l("demande non retenue"),
}

# Registrations counted by status, as the back office shows them.
REGISTRATION_COUNT_LABELS = {
    RegistrationStatus.confirmed: _l("places réservées"),
    RegistrationStatus.offered: _l("places proposées"),
    RegistrationStatus.waiting: _l("en liste d'attente"),
    RegistrationStatus.awaiting_approval: _l("à valider"),
    RegistrationStatus.pending: _l("adresse à confirmer"),
    RegistrationStatus.cancelled: _l("annulées"),
    RegistrationStatus.declined: _l("refusées"),
}
# Statuses of the approval mode, counted only where they occur (or the event asks for approval).
APPROVAL_STATUSES = (RegistrationStatus.awaiting_approval, RegistrationStatus.declined)

# A registration's status as the back office writes it (in lists, on a person's page, in exports).
BACK_OFFICE_STATUS_LABELS = {
    RegistrationStatus.confirmed: _l("place réservée"),
    RegistrationStatus.offered: _l("place proposée"),
    RegistrationStatus.waiting: _l("liste d'attente"),
    RegistrationStatus.awaiting_approval: _l("à valider"),
    RegistrationStatus.pending: _l("adresse à confirmer"),
    RegistrationStatus.cancelled: _l("annulée"),
    RegistrationStatus.declined: _l("refusée"),
}

BOOKING_STATUS_LABELS = {
    BookingStatus.requested: _l("demandé"),
    BookingStatus.booked: _l("place réservée"),
    BookingStatus.waiting: _l("liste d'attente"),
    BookingStatus.offered: _l("place proposée"),
    BookingStatus.cancelled: _l("annulé"),
}

OFFER_STATUS_LABELS = {
    OfferStatus.open: _l("en attente de réponse"),
    OfferStatus.accepted: _l("acceptée"),
    OfferStatus.declined: _l("déclinée"),
    OfferStatus.expired: _l("expirée"),
    OfferStatus.withdrawn: _l("retirée"),
}

OUTBOX_STATUS_LABELS = {
    OutboxStatus.queued: _l("en file d'envoi"),
    OutboxStatus.sending: _l("en cours d'envoi"),
    OutboxStatus.sent: _l("envoyé"),
    OutboxStatus.retrying: _l("nouvel essai prévu"),
    OutboxStatus.failed: _l("échec"),
    OutboxStatus.cancelled: _l("annulé"),
}

# The kinds of mail (webapp/mail/kinds.py) as organisers know them; a kind missing here shows its key.
MAIL_KIND_LABELS = {
    "confirm_address": _l("Confirmation de l'adresse"),
    "manage_link": _l("Lien de l'inscription"),
    "registration_confirmed": _l("Place réservée (avec l'invitation)"),
    "waiting_list": _l("Inscription sur la liste d'attente"),
    "seat_offer": _l("Place proposée"),
    "offer_expired": _l("Offre de place expirée"),
    "invite_updated": _l("Invitation mise à jour"),
    "registration_cancelled": _l("Inscription annulée"),
    "approval_requested": _l("Demande reçue, en attente de validation"),
    "registration_declined": _l("Demande refusée"),
    "event_cancelled": _l("Événement annulé"),
    "event_reminder": _l("Rappel avant l'événement"),
    "workshop_removed": _l("Atelier retiré (avec l'invitation mise à jour)"),
    "lost_links": _l("Liens d'inscription perdus"),
    "password_reset": _l("Nouveau mot de passe"),
    "account_invitation": _l("Invitation à l'espace des personnes qui organisent"),
    "survey_invitation": _l("Invitation au questionnaire"),
    "survey_reminder": _l("Relance du questionnaire"),
    "organiser_mailing": _l("Courriel aux personnes inscrites"),
}

MAILING_STATUS_LABELS = {
    MailingStatus.draft: _l("brouillon"),
    MailingStatus.scheduled: _l("programmé"),
    MailingStatus.sending: _l("en cours d'envoi"),
    MailingStatus.sent: _l("envoyé"),
    MailingStatus.cancelled: _l("annulé"),
}

SUPPRESSION_REASON_LABELS = {
    SuppressionReason.unsubscribed: _l("désabonnées"),
    SuppressionReason.undeliverable: _l("refusées par leur serveur"),
}

EVENT_STATUS_LABELS = {
    EventStatus.draft: _l("brouillon"),
    EventStatus.published: _l("publié"),
    EventStatus.cancelled: _l("annulé"),
}

USER_ROLE_LABELS = {
    UserRole.admin: _l("administration"),
    UserRole.organiser: _l("organisation"),
}

# What each journal entry says; the placeholders come from the entry's details.
JOURNAL_ACTION_LABELS = {
    JournalAction.organiser_assigned: _l("Accès à l'événement donné à %(email)s."),
    JournalAction.organiser_unassigned: _l("Accès à l'événement retiré à %(email)s."),
    JournalAction.event_created: _l("Événement créé (brouillon)."),
    JournalAction.event_copied: _l("Événement créé (brouillon) en copiant « %(source)s » (%(source_slug)s)."),
    JournalAction.event_copied_to: _l("Événement copié pour créer « %(copy)s » (%(copy_slug)s)."),
    JournalAction.event_updated: _l("Informations modifiées : %(fields)s."),
    JournalAction.event_published: _l("Événement publié."),
    JournalAction.event_unpublished: _l("Événement repassé en brouillon."),
    JournalAction.event_cancelled: _l("Événement annulé ; inscriptions prévenues par courriel : %(count)s."),
    JournalAction.workshop_added: _l("Atelier ajouté : %(key)s."),
    JournalAction.workshop_updated: _l("Atelier %(key)s modifié : %(fields)s."),
    JournalAction.workshop_removed: _l("Atelier retiré : %(key)s."),
    JournalAction.workshop_removed_booked: _l("Atelier retiré : %(key)s ; ses inscriptions sont annulées et les "
                                              "personnes prévenues par courriel : %(count)s."),
    JournalAction.question_added: _l("Question ajoutée : « %(label)s »."),
    JournalAction.question_updated: _l("Question modifiée : « %(label)s »."),
    JournalAction.question_moved: _l("Question déplacée : « %(label)s »."),
    JournalAction.question_deleted: _l("Question supprimée : « %(label)s » ; réponses effacées : %(count)s."),
    JournalAction.registration_added: _l("Inscription ajoutée à la main : %(name)s (%(email)s)."),
    JournalAction.registration_updated: _l("Inscription modifiée : %(name)s (%(email)s)."),
    JournalAction.registration_cancelled: _l("Inscription annulée : %(name)s (%(email)s)."),
    JournalAction.registration_accepted: _l("Demande d'inscription acceptée : %(name)s (%(email)s)."),
    JournalAction.registration_declined: _l("Demande d'inscription refusée : %(name)s (%(email)s)."),
    JournalAction.waiting_priority_given: _l("Passage en tête de la liste d'attente : %(name)s (%(email)s)."),
    JournalAction.registrations_exported: _l("Liste des inscriptions exportée (%(format)s) ; lignes : %(count)s."),
    JournalAction.mails_requeued: _l("Courriels en échec renvoyés : %(count)s."),
    JournalAction.checked_in: _l("Arrivée enregistrée : %(name)s."),
    JournalAction.checkin_undone: _l("Arrivée annulée : %(name)s."),
    JournalAction.walk_in_added: _l("Personne venue sans inscription ajoutée à l'accueil : %(name)s."),
    JournalAction.reminder_added: _l("Rappel ajouté (jours avant l'événement : %(days)s)."),
    JournalAction.reminder_removed: _l("Rappel retiré (jours avant l'événement : %(days)s)."),
    JournalAction.reminders_switched_on: _l("Rappels activés."),
    JournalAction.reminders_switched_off: _l("Rappels désactivés."),
    JournalAction.mailing_sent: _l("Courriel aux personnes inscrites envoyé : « %(subject)s »."),
    JournalAction.mailing_scheduled: _l("Courriel aux personnes inscrites programmé : « %(subject)s »."),
    JournalAction.mailing_cancelled: _l("Courriel aux personnes inscrites annulé : « %(subject)s » ; "
                                        "courriels non envoyés : %(count)s."),
    JournalAction.suppression_lifted: _l("Adresse %(email)s retirée de la liste « %(list)s »."),
    JournalAction.survey_created: _l("Questionnaire créé à partir du modèle (%(language)s)."),
    JournalAction.survey_updated: _l("Réglages du questionnaire modifiés."),
    JournalAction.survey_question_added: _l("Question du questionnaire ajoutée : « %(label)s »."),
    JournalAction.survey_question_updated: _l("Question du questionnaire modifiée : « %(label)s »."),
    JournalAction.survey_question_moved: _l("Question du questionnaire déplacée : « %(label)s »."),
    JournalAction.survey_question_deleted: _l("Question du questionnaire supprimée : « %(label)s »."),
}

# The fields of an event or a workshop as journal entries name them: their `fields` detail lists
# column names ("starts_at, venue_name"), shown with these labels; an unknown name shows as it is.
CHANGED_FIELD_LABELS = {
    "title": _l("titre"),
    "description": _l("présentation"),
    "content_language": _l("langue des textes"),
    "timezone": _l("fuseau horaire"),
    "starts_at": _l("début"),
    "ends_at": _l("fin"),
    "venue_name": _l("lieu"),
    "venue_address": _l("adresse du lieu"),
    "online_url": _l("adresse de la réunion en ligne"),
    "practical_info": _l("informations pratiques"),
    "capacity": _l("nombre de places"),
    "registration_opens_at": _l("ouverture des inscriptions"),
    "registration_closes_at": _l("clôture des inscriptions"),
    "contact_email": _l("adresse de contact"),
    "room": _l("salle"),
    "workshops": _l("horaires des ateliers"),
}


def event_local(moment, event):
    """`moment` (an aware datetime) in the event's time zone."""
    return moment.astimezone(event.tz)


def format_event_date(moment, event):
    """e.g. « mercredi 12 juin 2030 », in the event's zone; in French, the first day of the month
    is written « 1er » (« dimanche 1er septembre 2030 »)."""
    local = event_local(moment, event)
    if local.day == 1 and get_locale().language == "fr":
        return format_date(local, FRENCH_FIRST_OF_MONTH, rebase=False)
    return format_date(local, "full", rebase=False)


def format_event_time(moment, event):
    """e.g. « 09:30 », in the event's zone."""
    return format_time(event_local(moment, event), "short", rebase=False)


def format_event_datetime(moment, event):
    """e.g. « mercredi 12 juin 2030 à 09:30 », in the event's zone."""
    return _("%(date)s à %(time)s", date=format_event_date(moment, event), time=format_event_time(moment, event))


def format_event_span(starts_at, ends_at, event, with_date=True):
    """A time slot in the event's zone: « mercredi 12 juin 2030, de 09:30 à 17:30 » (« de 09:30 à
    17:30 » without the date), or « du … à … au … à … » when it spans several days."""
    if event_local(starts_at, event).date() != event_local(ends_at, event).date():
        return _("du %(start)s au %(end)s", start=format_event_datetime(starts_at, event),
                 end=format_event_datetime(ends_at, event))
    hours = _("de %(start)s à %(end)s", start=format_event_time(starts_at, event),
              end=format_event_time(ends_at, event))
    if not with_date:
        return hours
    return _("%(date)s, %(hours)s", date=format_event_date(starts_at, event), hours=hours)


def short_datetime(event, moment):
    """A moment in the event's zone, short, for tables: « 12/06/2030 09:30 »."""
    return format_datetime(event_local(moment, event), "short", rebase=False)


def timezone_label(event):
    """e.g. « heure de Paris »: tells people elsewhere which clock the times follow."""
    city = get_timezone_location(event.tz, locale=get_locale(), return_city=True)
    return _("heure de %(city)s", city=city)


def is_single_day(event):
    return event.local_start.date() == event.local_end.date()


def event_when(event, starts_at=None, ends_at=None):
    """When the event takes place: « mercredi 12 juin 2030, de 09:30 à 17:30 (heure de Paris) ».
    `starts_at` and `ends_at` write another slot of the event (e.g. before it moved)."""
    span = format_event_span(starts_at or event.starts_at, ends_at or event.ends_at, event)
    return _("%(moment)s (%(zone)s)", moment=span, zone=timezone_label(event))


def local_datetime(event, moment):
    """A moment (registration opening, an offer's expiry…) in the event's zone:
    « mercredi 12 juin 2030 à 09:30 (heure de Paris) »."""
    return _("%(moment)s (%(zone)s)", moment=format_event_datetime(moment, event), zone=timezone_label(event))


def venue_line(venue_name, venue_address):
    """« Espace Anne de Bretagne, 15 rue Martenot, 35000 Rennes » (either part may be empty)."""
    return ", ".join(part for part in (venue_name, venue_address) if part)


def workshop_slot(workshop):
    """A workshop's time slot: « de 14:00 à 15:30 », with the day when the event lasts several days."""
    event = workshop.event
    return format_event_span(workshop.starts_at, workshop.ends_at, event, with_date=not is_single_day(event))


def workshop_line(workshop):
    """A workshop on one line: title, time slot in its event's zone, room."""
    line = f"{workshop.title} ({workshop_slot(workshop)})"
    if workshop.room:
        line += ", " + _("salle : %(room)s", room=workshop.room)
    return line


def actor_type_label(key):
    label = ACTOR_TYPES.get(key)
    return _(label) if label else key


def registration_status_label(status):
    return str(REGISTRATION_STATUS_LABELS[status])


def back_office_status_label(status):
    return str(BACK_OFFICE_STATUS_LABELS[status])


def mail_kind_label(kind):
    label = MAIL_KIND_LABELS.get(kind)
    return str(label) if label is not None else kind


def waiting_for(title):
    """A workshop one waits for: « Agroécologie (liste d'attente) »."""
    return _("%(title)s (liste d'attente)", title=title)


def booking_status_label(status):
    return str(BOOKING_STATUS_LABELS[status])


def offer_status_label(status):
    return str(OFFER_STATUS_LABELS[status])


def outbox_status_label(status):
    return str(OUTBOX_STATUS_LABELS[status])


def mailing_status_label(status):
    return str(MAILING_STATUS_LABELS[status])


def suppression_reason_label(reason):
    return str(SUPPRESSION_REASON_LABELS[reason])


def event_status_label(status):
    return str(EVENT_STATUS_LABELS[status])


def user_role_label(role):
    return str(USER_ROLE_LABELS[role])


def journal_entry_text(entry):
    """What a journal entry says, e.g. « Accès à l'événement donné à anne@example.org. » or
    « Informations modifiées : début, fin, lieu. »."""
    label = JOURNAL_ACTION_LABELS.get(entry.action)
    if label is None:
        return entry.action
    details = dict(entry.details)
    if details.get("reason") in SUPPRESSION_REASON_LABELS:
        details["list"] = suppression_reason_label(details["reason"])
    if details.get("fields"):
        names = details["fields"].split(", ")
        details["fields"] = ", ".join(str(CHANGED_FIELD_LABELS.get(name, name)) for name in names)
    return label % details
