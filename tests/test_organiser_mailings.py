"""Organiser mailings, the pages: composing (unknown placeholders refused, the live count's JSON),
the preview with a real person's data, then the real path: the real worker fans the mailing out and
sends it to the test SMTP server, to exactly its audience, with the bulk headers; an address that
unsubscribes by the one-click POST is left out of the next mailing. The lists page, and lifting a mark."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from webapp.extensions import db
from webapp.mail import delivery
from webapp.models import Event, JournalEntry, Mailing, SuppressionReason
from webapp.services import mailings, suppressions

from . import support
from .support import logged_in_as, make_user, page_text, person, submit


def organiser_client(app, event_id, email="orga@bretagne-solidaire.bzh"):
    with app.app_context():
        return logged_in_as(app.test_client(), make_user(email, events=[event_id]))


def compose(client, event_id, **fields):
    values = dict(subject="Infos pratiques : {événement}", body="Bonjour {prénom},\n\nApportez **votre repas**.",
                  status="confirmed")
    values.update(fields)
    return submit(client, f"/organiser/events/{event_id}/mailings/new", **values)


def mailing_path(response):
    return re.fullmatch(r"(/organiser/events/\d+/mailings/\d+)", response.headers["Location"]).group(1)


def test_compose_refuses_unknown_placeholders_then_previews_with_a_real_person(app, make_event):
    event_id = make_event(venue_name="Salle Pierre Mendès")
    with app.test_request_context():
        person(event_id, "Anne")
        person(event_id, "Bob", confirm=False)
    client = organiser_client(app, event_id)

    refused = compose(client, event_id, body="Bonjour {prenom} et {salle}")
    assert refused.status_code == 422
    assert "Ces champs entre accolades n'existent pas : {prenom}, {salle}." in page_text(refused)
    with app.app_context():
        assert db.session.scalars(select(Mailing)).all() == []

    saved = compose(client, event_id)
    assert saved.status_code == 302
    page = client.get(mailing_path(saved))
    text = page_text(page)
    assert "1 personne recevra ce courriel." in text
    assert "Tel que le recevra Anne Le Goff (fr)" in text and "Bonjour Anne," in text
    assert "<strong>votre repas</strong>" in page.get_data(as_text=True)

    count = client.get(f"/organiser/events/{event_id}/mailings/count?status=&presence=present").get_json()
    assert (count["recipients"], count["excluded"]) == (0, 0)
    count = client.get(f"/organiser/events/{event_id}/mailings/count?status=").get_json()
    assert count["recipients"] == 2 and count["text"] == "2 personnes recevront ce courriel."
    assert client.get(f"/organiser/events/{event_id}/mailings/count?workshop=999").status_code == 400


def test_a_mailing_reaches_exactly_its_audience_and_an_unsubscribed_address_is_left_out_next_time(
        app, make_event, worker, smtp_server):
    event_id = make_event(title="Journée régionale")
    with app.test_request_context():
        for name, actor_type in (("Anne", "ess"), ("Bob", "ess"), ("Chloe", "ess"), ("Dora", "collectivite")):
            person(event_id, name, actor_type=actor_type)
        person(event_id, "Erwan", actor_type="ess", confirm=False)
        suppressions.suppress("chloe@example.org", SuppressionReason.unsubscribed)
        db.session.commit()
    client = organiser_client(app, event_id)

    path = mailing_path(compose(client, event_id, actor_type="ess"))
    assert "2 personnes recevront ce courriel. 1 autre est laissée de côté" in page_text(client.get(path))
    assert client.post(f"{path}/send", data={"csrf_token": support.csrf_token(client, path)}).status_code == 302

    anne = smtp_server.wait_for("anne@example.org", kind="organiser_mailing")[0]
    bob = smtp_server.wait_for("bob@example.org", kind="organiser_mailing")[0]
    support.wait_until(lambda: client.get(f"{path}/progress").get_json()["status"] == "sent",
                       message="the mailing to be sent")
    progress = client.get(f"{path}/progress").get_json()
    assert (progress["total"], progress["sent"], progress["left"], progress["failed"]) == (2, 2, 0, 0)
    mailing_mails = [m for m in smtp_server.messages if m["X-Emgav-Kind"] == "organiser_mailing"]
    assert sorted(str(m["To"].addresses[0].addr_spec) for m in mailing_mails) == ["anne@example.org",
                                                                                 "bob@example.org"]
    for message in (anne, bob):
        assert support.plain(message["Subject"]) == "Infos pratiques : Journée régionale"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["Precedence"] == "bulk"
    assert "Bonjour Bob," in support.mail_text(bob)
    assert "Envoyés" in page_text(client.get(path)) and "bob@example.org" in page_text(client.get(path))

    # Bob unsubscribes as a mail provider does: the one-click POST, no cookie, no CSRF token.
    link = re.match(r"<(https?://[^>]+)>", bob["List-Unsubscribe"]).group(1)
    assert app.test_client().post(link.removeprefix(app.config["BASE_URL"]),
                                  data={"List-Unsubscribe": "One-Click"}).status_code == 200
    second = mailing_path(compose(client, event_id, actor_type="ess", subject="Deuxième envoi"))
    client.post(f"{second}/send", data={"csrf_token": support.csrf_token(client, second)})
    smtp_server.wait_for("anne@example.org", count=2, kind="organiser_mailing")
    support.wait_until(lambda: client.get(f"{second}/progress").get_json()["status"] == "sent",
                       message="the second mailing to be sent")
    assert len(smtp_server.to("bob@example.org")) == len([m for m in smtp_server.to("bob@example.org")
                                                          if m["X-Emgav-Kind"] != "organiser_mailing"]) + 1
    with app.app_context():
        actions = db.session.scalars(select(JournalEntry.action).where(JournalEntry.event_id == event_id)).all()
    assert actions.count("mailing_sent") == 2


def test_the_lists_show_the_addresses_of_ones_events_and_a_mark_can_be_lifted(app, make_event):
    event_id = make_event()
    other_event = make_event(title="Atelier ESS")
    with app.test_request_context():
        person(event_id, "Anne")
        person(other_event, "Yann")
        suppressions.suppress("anne@example.org", SuppressionReason.undeliverable, "550 5.1.1 unknown")
        suppressions.suppress("yann@example.org", SuppressionReason.unsubscribed)
        suppressions.suppress("nobody@example.org", SuppressionReason.unsubscribed)
        db.session.commit()
    client = organiser_client(app, event_id)
    text = " ".join(page_text(client.get("/organiser/lists")).split())
    assert "anne@example.org" in text and "550 5.1.1 unknown" in text
    assert "yann@example.org" not in text  # another organiser's event
    assert "2 adresses sur cette liste. 2 ne correspondent à aucune personne inscrite à vos événements." in text

    with app.app_context():
        [known] = suppressions.lists_seen_for([db.session.get(Event, event_id)]).known
        entry_id = known.entry.id
    lifted = client.post(f"/organiser/lists/{entry_id}/lift",
                         data={"csrf_token": support.csrf_token(client, "/organiser/lists")})
    assert lifted.status_code == 302
    with app.app_context():
        assert suppressions.reasons_for("anne@example.org") == set()
        [entry] = db.session.scalars(select(JournalEntry).where(JournalEntry.action == "suppression_lifted")).all()
        assert entry.event_id == event_id and entry.details["email"] == "anne@example.org"
    assert "Adresse anne@example.org retirée de la liste « refusées par leur serveur »." in page_text(
        client.get(f"/organiser/events/{event_id}"))


def browser_tab(browser, app, base_url, event_id):
    """A tab of a browser in French, logged in as an organiser of the event."""
    with app.app_context():
        client = logged_in_as(app.test_client(), make_user(f"orga-{event_id}@example.org", events=[event_id]))
    cookie = client.get_cookie("session")
    context = browser.new_context(locale="fr-FR")
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])
    return context.new_page()


def test_in_the_browser_the_count_follows_the_filters_and_the_progress_updates_itself(
        app, browser, live_server, make_event, smtp_server):
    """The page's script: the compose form's count changes with a filter; the progress of a mailing
    being sent changes as its rows are sent (here by `delivery`, as a worker does), without a reload
    until the end, which shows the per-recipient log."""
    event_id = make_event()
    with app.test_request_context():
        for name, actor_type in (("Anne", "ess"), ("Bob", "ess"), ("Chloe", "collectivite")):
            person(event_id, name, actor_type=actor_type)
    tab = browser_tab(browser, app, live_server, event_id)
    tab.goto(f"{live_server}/organiser/events/{event_id}/mailings/new")
    expect(tab.locator("#audience-count")).to_have_text("3 personnes recevront ce courriel.")
    tab.select_option("#actor_type", "collectivite")
    expect(tab.locator("#audience-count")).to_have_text("1 personne recevra ce courriel.")

    with app.app_context():
        mailing = mailings.create_draft(db.session.get(Event, event_id), None, "Infos", "Bonjour",
                                        mailings.Audience())
        mailings.send_now(mailing, None)
        mailings.fan_out(mailing.id)
        rows = [row.id for row in mailings.recipient_log(mailing)]
        mailing_id = mailing.id
    tab.goto(f"{live_server}/organiser/events/{event_id}/mailings/{mailing_id}")
    expect(tab.locator('[data-field="left"]')).to_have_text("3")
    tab.evaluate("window.notReloaded = true")
    with app.app_context():
        delivery.deliver(rows[0])
    expect(tab.locator('[data-field="sent"]')).to_have_text("1")
    expect(tab.locator('[data-field="left"]')).to_have_text("2")
    assert tab.evaluate("window.notReloaded") is True
    with app.app_context():
        delivery.deliver_batch(rows[1:])
    tab.wait_for_function("() => window.notReloaded === undefined")  # reloaded once done: the log as it ended
    expect(tab.locator('[data-field="status"]')).to_have_text("envoyé")
    expect(tab.locator("table.data-table tbody td", has_text="envoyé")).to_have_count(3)
    tab.context.close()
