"""Headers and text of every mail kind, built from real outbox rows and read back by parsers:
subjects that decode to exactly what was rendered, Content-Language, Reply-To, blank lines."""
import re
from datetime import timedelta
from email.header import decode_header, make_header

import pytest

from webapp.extensions import db
from webapp.formatting import event_when
from webapp.mail import outbox
from webapp.mail.rendering import render_mail, rendering_context
from webapp.models import Event, OutboxMail
from webapp.models.base import utcnow
from webapp.services import registrations, seats, tokens

from . import support
from .support import person, rows_of_every_kind, sent_and_parsed

TITLE = ("Rencontre du réseau : coopérations « Nord–Sud » et ESS en Bretagne : "
         "agroécologie, climat et solidarité internationale — édition 2027 : « coopérer » ensemble à Rennes, "
         "avec les collectivités, les universités, les organisations paysannes et les personnes engagées")


NOT_ABOUT_AN_EVENT = {"password_reset", "account_invitation"}


def raw_subject(raw):
    """The Subject header as written on the wire (folded lines joined)."""
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = headers.replace("\r\n ", " ").replace("\r\n\t", "\t")
    return next(line for line in unfolded.split("\r\n") if line.startswith("Subject:"))[len("Subject:"):].strip()


@pytest.mark.parametrize("length", [20, 45, 63, 64, 65, 66, 78, 90, 121, 160, 200])
def test_every_subject_decodes_to_exactly_the_rendered_text(app_ctx, make_event, length):
    """Accents, colons and « guillemets », at lengths that make the header fold where it once lost
    the space after a colon (« réseau :coopérations »)."""
    start = utcnow() + timedelta(days=30)
    workshop = dict(key="riaa", title="Réseau RIAA : agroécologie", starts_at=start,
                    ends_at=start + timedelta(hours=1))
    title = TITLE[:length].strip()
    registration = person(make_event(title=title, workshops=[workshop]), confirm=False)
    for row in rows_of_every_kind(registration, f"subject-{length}"):
        with rendering_context(row.language):
            expected = render_mail(row).subject
        raw, parsed = sent_and_parsed(row)
        assert parsed["Subject"] == expected, row.kind
        assert str(make_header(decode_header(raw_subject(raw)))) == expected, row.kind  # the older decoder
        assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")), row.kind


def test_every_mail_says_its_language(app_ctx, make_event):
    start = utcnow() + timedelta(days=30)
    workshop = dict(key="riaa", title="RIAA", starts_at=start, ends_at=start + timedelta(hours=1))
    event_id = make_event(workshops=[workshop])
    for language in ("fr", "en"):
        registration = person(event_id, email=f"{language}@example.org", language=language, confirm=False)
        for row in rows_of_every_kind(registration, f"language-{language}"):
            _raw, parsed = sent_and_parsed(row)
            assert parsed["Content-Language"] == language, row.kind
            assert f'<html lang="{language}">' in parsed.get_body(("html",)).get_content(), row.kind


def test_every_html_mail_marks_the_organisers_words_in_their_language(app_ctx, make_event):
    """An English mail about a French event: the title (and the workshop of an offer) carry
    lang="fr" in the HTML part; the text part has no markup. A French mail marks nothing."""
    start = utcnow() + timedelta(days=30)
    workshop = dict(key="riaa", title="Réseau RIAA", starts_at=start, ends_at=start + timedelta(hours=1))
    event_id = make_event(title="Rencontre régionale", workshops=[workshop])
    for language in ("en", "fr"):
        registration = person(event_id, email=f"{language}@example.org", language=language, confirm=False)
        for row in rows_of_every_kind(registration, f"content-language-{language}"):
            _raw, parsed = sent_and_parsed(row)
            html = parsed.get_body(("html",)).get_content()
            text = parsed.get_body(("plain",)).get_content()
            assert "lang=" not in text and "<span" not in text, row.kind
            marked = re.findall(r'<(?!html)\w+ lang="fr"[^>]*>(?:<strong>)?([^<]+)<', html)
            if language == "fr" or row.kind in NOT_ABOUT_AN_EVENT:
                assert marked == [], row.kind
                continue
            assert "Rencontre régionale" in text, row.kind
            assert "Rencontre régionale" in marked, row.kind
            if row.kind == "offer_expired":  # the offer was for the workshop
                assert "Réseau RIAA" in marked


def test_lost_links_mail_can_be_answered_to_the_organisers_of_each_event(app_ctx, make_event):
    first = person(make_event(), confirm=False)
    second = person(make_event(contact_email="ateliers@reseau.bzh"), confirm=False)
    third = person(make_event(), confirm=False)  # same contact as the first: named once
    row_id = outbox.queue_mail("lost_links", "anne@example.org", "lost-links:test",
                               payload={"registration_ids": [first.id, second.id, third.id]})
    db.session.commit()
    _raw, parsed = sent_and_parsed(db.session.get(OutboxMail, row_id))
    assert [a.addr_spec for a in parsed["Reply-To"].addresses] == ["contact@bretagne-solidaire.bzh",
                                                                  "ateliers@reseau.bzh"]


@pytest.mark.parametrize("kind", ["registration_confirmed", "invite_updated"])
def test_plain_text_keeps_its_paragraphs(app_ctx, make_event, kind):
    registration = person(make_event(), confirm=False)
    registrations.confirm_address(tokens.confirm_token(registration))
    row_id = outbox.queue_mail(kind, registration.email, f"paragraphs:{kind}", registration=registration,
                               payload={"sequence": 0})
    db.session.commit()
    _raw, parsed = sent_and_parsed(db.session.get(OutboxMail, row_id))
    text = support.mail_text(parsed).replace("\r\n", "\n")
    paragraphs = [block.strip() for block in text.split("\n\n")]
    intro = {"registration_confirmed": "Votre adresse est confirmée et votre place est réservée :",
             "invite_updated": "Votre inscription a changé. Voici ce qui est désormais prévu pour vous :"}[kind]
    note = {"registration_confirmed": "L'invitation jointe ajoute l'événement à votre agenda.",
            "invite_updated": "L'invitation jointe met à jour l'événement dans votre agenda."}[kind]
    assert intro in paragraphs  # a paragraph of its own, not glued to the event's details
    assert note in paragraphs


def test_moved_event_mail_says_what_changed(app_ctx, make_event):
    """The updated invite of a moved event shows the old and the new time and place."""
    event_id = make_event(starts_at=utcnow().replace(microsecond=0) + timedelta(days=30))
    registration = person(event_id, confirm=False)
    registrations.confirm_address(tokens.confirm_token(registration))
    event = db.session.get(Event, event_id)
    previous = {"starts_at": event.starts_at.isoformat(), "ends_at": event.ends_at.isoformat(),
                "venue_name": event.venue_name, "venue_address": event.venue_address}
    event.starts_at += timedelta(days=1, hours=2)
    event.ends_at += timedelta(days=1, hours=2)
    event.venue_name = "Maison de quartier de Villejean"
    db.session.flush()
    seats.raise_revision(registration)
    row_id = seats.queue_invite_updated(registration, previous=previous)
    db.session.commit()
    _raw, parsed = sent_and_parsed(db.session.get(OutboxMail, row_id))
    with rendering_context("fr"):
        moved_by = timedelta(days=1, hours=2)
        before = event_when(event, event.starts_at - moved_by, event.ends_at - moved_by)
        after = event_when(event)
    for part in ("plain", "html"):
        body = parsed.get_body((part,)).get_content()
        assert "Ce qui a changé" in body
        assert before in body and after in body, part
        assert "Espace Anne de Bretagne" in body and "Maison de quartier de Villejean" in body, part
