"""The accessibility checks of page states, shared by tests/test_accessibility.py (public and
participant pages) and tests/test_accessibility_back_office.py: in Chromium, against the app under
gunicorn, each page state in French and in English must pass

- axe-core (tests/vendor/axe.min.js): no violation of WCAG 2.0 and 2.1, levels A and AA;
- reflow (WCAG 1.4.10): at 320 CSS px nothing scrolls sideways;
- text resized to 200 % (WCAG 1.4.4): at 1280 px nothing scrolls sideways either;
- at 1024 px nothing scrolls sideways either; at each of these sizes, no word of ordinary length is
  cut across two lines to fit (a narrow table column would).

A test module registers its states in a `States` registry, opens its tabs with `open_tabs` and
checks each state with `check_state`. With EMGAV_SCREENSHOT_DIR set, a full-page PNG of each state
at 1280 and 390 px is saved there.
"""
import os
from datetime import timedelta
from pathlib import Path
from pprint import pformat

from webapp.extensions import db
from webapp.models import Event

from . import support

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LANGUAGES = {"fr": "fr-FR", "en": "en-GB"}
DESKTOP = {"width": 1280, "height": 800}
LAPTOP = 1024  # the widest back-office pages fill the window from there down
NARROW = 320
SCREENSHOT_WIDTHS = (1280, 390)

# Long words that do not break by themselves: addresses and links as people type them.
CONTACT = "inscriptions-rencontres@reseau-bretagne-solidaire.bzh"
PARTICIPANT = "anne-le-goff.coordination@reseau-bretagne-solidaire.bzh"
ONLINE_URL = "https://visio.reseau-bretagne-solidaire.bzh/rencontres/2030/ess-et-solidarite-internationale"
DESCRIPTION = ("Une journée d'échanges entre les structures de l'économie sociale et solidaire et les actrices "
               "et acteurs de la solidarité internationale.\n\nAu programme : tables rondes, ateliers, "
               "et un temps convivial.\nDéjeuner sur place.")
MARKDOWN = ("## Programme\n\nA day of **exchanges** between the network's members:\n\n- round tables;\n"
            "- workshops, see [the programme](https://reseau-bretagne-solidaire.bzh/programme-de-la-journee-2030);\n"
            "- lunch on site.\n\n### Getting there\n\n1. Train to Rennes\n2. Bus C4, stop *Martenot*")
WORKSHOPS = (  # two at the same time, one later
    dict(key="xylm", title="Bretagne – Togo : coopérer entre ESS bretonne et togolaise", room="Salle Bréhat",
         hours=(5, 6.5), description="Retour d'expérience d'une coopération de dix ans."),
    dict(key="outaouais", title="Ille-et-Vilaine – Outaouais", room="Salle Ouessant", hours=(5, 6.5),
         description=""),
    dict(key="riaa", title="Réseau RIAA : agroécologie paysanne", room="", hours=(7, 8),
         description="Avec les organisations paysannes du réseau."),
)


QUESTIONS = (  # key, kind, label, help text, required, choices
    ("diet", "single_choice", "Régime alimentaire pour le déjeuner", "Le repas est préparé par un traiteur local.",
     True, ["Végétarien", "Sans gluten", "Aucune contrainte"]),
    ("evening", "multiple_choice", "Activités de la soirée", "", False,
     ["Visite de la coopérative", "Concert", "Repas partagé"]),
    ("certificate", "yes_no", "Avez-vous besoin d'une attestation de présence ?", "", False, []),
    ("role", "short_text", "Votre fonction dans la structure", "", False, []),
    ("notes", "long_text", "Remarques ou besoins particuliers (accessibilité, garde d'enfants…)",
     "Nous vous recontacterons si besoin.", False, []),
)


class States(dict):
    """Page states by name: (`function(visit)` that brings `visit.page` to it, the HTTP status its
    page must have). `@states.register(name, status)` adds one."""

    def register(self, name, status=200):
        def add(function):
            assert name not in self, name
            self[name] = (function, status)
            return function
        return add


class Visit:
    """One page state being reached: the data helpers and the browser tab, in one language."""

    def __init__(self, app, base_url, page, language, make_event, request):
        self.app, self.base_url, self.page, self.language = app, base_url, page, language
        self.make_event, self.request = make_event, request

    # Data, made through the services in this process (the app under gunicorn shares the database).

    def event(self, workshops=(), capacities=(), **fields):
        """A published event on support.START (09:30-17:30 in Paris) with a description, a long
        contact address and the `workshops` (keys of WORKSHOPS) of those `capacities`; returns its id."""
        chosen = [w for w in WORKSHOPS if w["key"] in workshops]
        capacities = list(capacities) or [None] * len(chosen)
        start = support.START
        values = dict(starts_at=start, ends_at=start + timedelta(hours=8), description=DESCRIPTION,
                      contact_email=CONTACT, capacity=100)
        values.update(fields)
        return self.make_event(
            workshops=[dict(key=w["key"], title=w["title"], room=w["room"], description=w["description"],
                            capacity=capacity, starts_at=start + timedelta(hours=w["hours"][0]),
                            ends_at=start + timedelta(hours=w["hours"][1]))
                       for w, capacity in zip(chosen, capacities, strict=True)],
            **values)

    def questions(self, event_id):
        """The event's own questions, one of each kind, long and with help texts as organisers write
        them; returns {key: (question id, [choice ids])}."""
        from webapp.services import questions

        made = {}
        with self.app.test_request_context():
            event = db.session.get(Event, event_id)
            for key, kind, label, help_text, required, choices in QUESTIONS:
                question = questions.add_question(event, None, kind=kind, label=label, help_text=help_text,
                                                  required=required, choices=choices)
                made[key] = (question.id, [choice.id for choice in question.choices])
        return made

    def person(self, event_id, name="Anne", confirm=True, **fields):
        """A registration in the visit's language; returns its id."""
        fields.setdefault("email", f"{name.lower()}@example.org")
        return support.person_id(self.app, event_id, name, confirm=confirm, language=self.language, **fields)

    def change(self, model, object_id, **fields):
        with self.app.app_context():
            row = db.session.get(model, object_id)
            for name, value in fields.items():
                setattr(row, name, value)
            db.session.commit()

    # The browser tab.

    def goto(self, path):
        self.page.goto(self.base_url + path)

    def send(self, button="main form button[type=submit]"):
        """Send the page's form with its submit `button` (a CSS selector), as a click does."""
        with self.page.expect_navigation():
            self.page.locator(button).click()

    def fill(self, **values):
        """Type into the fields of the page's forms by name (choose, for a select)."""
        for name, value in values.items():
            field = self.page.locator(f'main form [name="{name}"]')
            if field.evaluate("field => field.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)


def open_tabs(browser):
    """One tab per language, to reuse for every state: a browser whose language is French or English.
    The tab ignores the Content-Security-Policy so that the checks can add their styles. A generator,
    for a fixture: yields {language: page}, then closes them."""
    tabs = {}
    for language, locale in LANGUAGES.items():
        context = browser.new_context(locale=locale, viewport=DESKTOP, bypass_csp=True)
        page = context.new_page()
        page.statuses, page.failed = [], []
        page.on("response", lambda response, page=page: _record(page, response))
        tabs[language] = page
    yield tabs
    for page in tabs.values():
        page.context.close()


def _record(page, response):
    """The status of each page the tab opens, and the files of a page that failed to load."""
    if response.request.is_navigation_request() and response.frame == page.main_frame:
        page.statuses.append(response.status)
    elif response.status >= 400:
        page.failed.append(f"{response.status} {response.url}")


def axe_violations(page):
    """What axe-core (the copy of tests/vendor/) finds in the page. Run by the browser's developer
    protocol, it needs no exception to the page's Content-Security-Policy (a tab of `open_tabs` has
    one, for the checks' own styles; any other tab works too)."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
                           " resultTypes: ['violations']})", AXE_TAGS)
    return [f"{v['id']} ({v['help']}): {[node['target'] for node in v['nodes']]}" for v in result["violations"]]


WIDER_THAN_VIEWPORT = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > width + 0.5);
  return {scrollWidth: document.documentElement.scrollWidth,
          culprits: wide.slice(-5).map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")
                                            + " " + Math.round(e.getBoundingClientRect().right) + "px")};
}"""


def horizontal_overflow(page, width):
    """None when nothing is wider than `width`; otherwise the page width and its widest elements."""
    found = page.evaluate(WIDER_THAN_VIEWPORT)
    return None if found["scrollWidth"] <= width else found


# Words of ordinary length (a run of letters or digits in a string of up to 30 characters without
# spaces) that the layout cuts across two lines: only longer strings (addresses, links) may break
# anywhere.
CUT_WORDS = """() => {
  const cut = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const string of node.data.matchAll(/(?<!\\S)\\S{1,30}(?!\\S)/g)) {
      for (const word of string[0].matchAll(/[\\p{L}\\p{N}]+/gu)) {
        const range = document.createRange();
        range.setStart(node, string.index + word.index);
        range.setEnd(node, string.index + word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.bottom)));
        if (lines.size > 1) cut.push(`${word[0]} (${node.parentElement.tagName.toLowerCase()})`);
      }
    }
  }
  return cut;
}"""


def cut_words(page):
    """The words of ordinary length that the page cuts across lines (see CUT_WORDS)."""
    return page.evaluate(CUT_WORDS)


def save_screenshots(page, folder, name):
    folder.mkdir(parents=True, exist_ok=True)
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def check_state(states, name, visit):
    """Bring the visit's tab to the state `name` of `states`, then check its HTTP status, its
    language, the files it loads, axe-core and reflow; fails with every problem found."""
    reach, status = states[name]
    page, language = visit.page, visit.language
    page.set_viewport_size(DESKTOP)
    page.statuses.clear()
    page.failed.clear()
    reach(visit)

    assert page.statuses and page.statuses[-1] == status, f"{name}: HTTP {page.statuses} instead of {status}"
    assert (found := page.evaluate("document.documentElement.lang")) == language, f"{name}: lang={found!r}"
    problems = {"files that failed to load": page.failed} if page.failed else {}
    if violations := axe_violations(page):
        problems["axe-core"] = violations
    page.set_viewport_size({"width": LAPTOP, "height": 768})
    if overflow := horizontal_overflow(page, LAPTOP):
        problems[f"scrolls sideways at {LAPTOP} px"] = overflow
    if words := cut_words(page):
        problems[f"words cut at {LAPTOP} px"] = words
    page.set_viewport_size({"width": NARROW, "height": 640})
    if overflow := horizontal_overflow(page, NARROW):
        problems[f"scrolls sideways at {NARROW} px"] = overflow
    if words := cut_words(page):
        problems[f"words cut at {NARROW} px"] = words
    page.set_viewport_size(DESKTOP)
    style = page.add_style_tag(content="html { font-size: 200% !important; }")
    if overflow := horizontal_overflow(page, DESKTOP["width"]):
        problems["scrolls sideways at 1280 px with the text at 200 %"] = overflow
    if words := cut_words(page):
        problems["words cut at 1280 px with the text at 200 %"] = words
    style.evaluate("element => element.remove()")
    if folder := os.environ.get("EMGAV_SCREENSHOT_DIR"):
        save_screenshots(page, Path(folder), f"{language}-{name}".replace(" ", "-").replace(":", "").replace(",", ""))
    assert not problems, f"{name}:\n{pformat(problems, width=120)}"

