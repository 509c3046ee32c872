"""How the forms and the participant pages are laid out, measured in Chromium at a desktop width
(1280 px) and a phone width (390 px): labels beside their boxes, details lists styled, the main
action and the other choice told apart. Reflow and axe-core checks of every page state are in
test_accessibility.py."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Registration, SeatOffer
from webapp.services import registrations, seats

from .support import START, offer_link, person_id, personal_link

WIDTHS = [1280, 390]


def box(locator):
    return locator.bounding_box()


def style(locator, name):
    return locator.evaluate(f"element => getComputedStyle(element).{name}")


def text_left(locator):
    """Where the element's text starts, in px from the left of the page."""
    return locator.evaluate("element => { const range = document.createRange(); range.selectNodeContents(element);"
                            " return range.getBoundingClientRect().x; }")


def event_with_workshops(make_event, capacity=None):
    return make_event(slug="journee", starts_at=START, ends_at=START + timedelta(hours=8), capacity=capacity,
                      workshops=[dict(key=key, title=title, starts_at=START + timedelta(hours=5),
                                      ends_at=START + timedelta(hours=6)) for key, title in
                                 [("xylm", "Bretagne – Togo"), ("riaa", "Réseau RIAA : agroécologie")]])


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("with_error", [False, True], ids=["blank", "with error"])
def test_the_consent_label_sits_beside_its_box(page, live_server, make_event, width, with_error):
    event_with_workshops(make_event)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server}/events/journee/register")
    if with_error:
        with page.expect_navigation():  # to the page's load event: its stylesheet is applied
            page.locator("main form button[type=submit]").click()
        expect(page.locator("#privacy_consent-error")).to_be_visible()
    checkbox = box(page.locator("#privacy_consent"))
    label = box(page.locator("label[for=privacy_consent]"))
    assert label["x"] >= checkbox["x"] + checkbox["width"], "the label is not beside its box"
    assert label["y"] < checkbox["y"] + checkbox["height"], "the label starts below its box"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_workshops_legend_lines_up_with_the_labels(page, live_server, make_event, width):
    event_with_workshops(make_event)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server}/events/journee/register")
    legend, label = (text_left(page.locator(selector)) for selector in ("legend >> nth=0", "label[for=organisation]"))
    assert abs(legend - label) < 0.5, f"the legend's text starts at {legend} px, the labels' at {label} px"


def assert_details_lists_styled(page):
    lists = page.locator("main dl")
    assert lists.count() > 0
    for term in lists.locator("dt").all():
        assert int(style(term, "fontWeight")) >= 700, "a label of a details list is not bold"
    for value in lists.locator("dd").all():
        assert style(value, "marginLeft") == "0px", "a value of a details list is indented"


def seat_offer_link(app, make_event):
    """A seat freed and offered to the second person on the waiting list: the offer link."""
    event_id = make_event(capacity=1)
    holder = person_id(app, event_id, "Yann")
    waiting = person_id(app, event_id, "Bleuenn")
    with app.app_context():
        registrations.cancel_registration(db.session.get(Registration, holder))
        seats.offer_free_seats(event_id)
        assert db.session.scalars(select(SeatOffer)).one()
    return offer_link(app, waiting)


@pytest.mark.parametrize("width", WIDTHS)
def test_details_lists_of_the_participant_pages_are_styled(app, page, live_server, make_event, width):
    page.set_viewport_size({"width": width, "height": 900})
    registration_id = person_id(app, event_with_workshops(make_event), confirm=False)
    page.goto(live_server + personal_link(app, "confirm", registration_id))
    assert_details_lists_styled(page)
    manage = live_server + personal_link(app, "manage", registration_id)
    for path in (manage, manage + "/cancel", live_server + seat_offer_link(app, make_event)):
        page.goto(path)
        assert_details_lists_styled(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_manage_form_looks_like_the_registration_form(app, page, live_server, make_event, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + personal_link(app, "manage", person_id(app, event_with_workshops(make_event))))
    form = page.locator("#change-form")
    for fieldset in form.locator("fieldset").all():
        assert style(fieldset, "borderTopStyle") == "none", "a fieldset keeps the browser's grey frame"
    for choice in form.locator("input[type=radio], input[type=checkbox]").all():
        assert box(choice)["width"] >= 20, "a radio button or checkbox keeps the browser's small size"
    button = box(form.locator("button[type=submit]"))
    fieldset = box(form.locator("fieldset").last)
    assert button["y"] - (fieldset["y"] + fieldset["height"]) >= 16, "the save button touches the fieldset above"


@pytest.mark.parametrize("width", WIDTHS)
def test_accepting_and_declining_an_offer_look_different(app, page, live_server, make_event, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + seat_offer_link(app, make_event))
    accept, decline = page.locator("button[value=accept]"), page.locator("button[value=decline]")
    assert style(accept, "backgroundColor") != style(decline, "backgroundColor")
    assert style(accept, "color") != style(decline, "color")
    first, second = box(accept), box(decline)
    side_by_side = second["y"] < first["y"] + first["height"]
    gap = second["x"] - (first["x"] + first["width"]) if side_by_side else second["y"] - (first["y"] + first["height"])
    assert gap >= 8, "the two buttons touch"
