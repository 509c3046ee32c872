"""Organisers' descriptions: a safe Markdown subset (`webapp.rich_text`), written as HTML for pages
and mails and as plain text for text mails and calendar files. Hostile input never becomes markup
that runs, loads or styles anything; the page keeps its strict CSP in a real browser."""
import re
import tomllib
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from webapp.cli import DEMO_EVENT_FILE
from webapp.rich_text import to_html, to_text
from webapp.web import CONTENT_SECURITY_POLICY

from .support import START

ALLOWED = {"p": set(), "br": set(), "ul": set(), "ol": {"start"}, "li": set(), "em": set(), "strong": set(),
           "code": set(), "a": {"href", "rel"}, "h3": set(), "h4": set(), "h5": set(), "h6": set()}


class Elements(HTMLParser):
    """Every start tag of an HTML fragment, with its attributes."""

    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def assert_safe(html):
    """Only the allowed tags and attributes; links to http, https or mailto only, with rel."""
    for tag, attributes in Elements(html).found:
        assert tag in ALLOWED, f"<{tag}> in {html!r}"
        assert set(attributes) <= ALLOWED[tag], f"<{tag} {attributes}> in {html!r}"
        if tag == "a":
            assert re.match(r"(https?://|mailto:)", attributes["href"]), attributes
            assert attributes["rel"] == "noopener nofollow"


HOSTILE = {
    "script block": ("Avant\n\n<script>\nalert('x')\n</script>\n\nAprès", "<p>Avant</p>\n<p>Après</p>"),
    # A tag within a line is dropped; the words between stay, as harmless text.
    "script inline": ("Texte <script>alert(1)</script> fin", "<p>Texte alert(1) fin</p>"),
    "event handler": ('<img src="x" onerror="alert(1)"> Bonjour <b onclick="alert(2)">toi</b>', "<p> Bonjour toi</p>"),
    "raw HTML block": ('<div style="position:fixed" onmouseover="alert(1)">\n<p>piège</p>\n</div>\n\nSuite',
                       "<p>Suite</p>"),
    "raw link": ('<a href="javascript:alert(1)">clic</a>', "<p>clic</p>"),
    "iframe and style": ('<iframe src="https://evil.example"></iframe>\n\n<style>body{display:none}</style>', ""),
    "javascript link": ("[clic](javascript:alert(1))", "<p>[clic](javascript:alert(1))</p>"),
    "javascript link, mixed case": ("[clic](JaVaScRiPt:alert(1))", "<p>[clic](JaVaScRiPt:alert(1))</p>"),
    "javascript link, encoded": ("[clic](javascript&#58;alert(1))", "<p>[clic](javascript:alert(1))</p>"),
    "javascript autolink": ("<javascript:alert(1)>", "<p>&lt;javascript:alert(1)&gt;</p>"),
    "vbscript link": ("[clic](vbscript:msgbox(1))", "<p>[clic](vbscript:msgbox(1))</p>"),
    "data link": ("[clic](data:text/html;base64,PHNjcmlwdD4=)", "<p>[clic](data:text/html;base64,PHNjcmlwdD4=)</p>"),
    "relative link": ("[admin](/organiser/)", "<p>[admin](/organiser/)</p>"),
    "image": ("![logo](http://tracker.example/pixel.png) texte", "<p>logo texte</p>"),
    "data image": ("![x](data:image/svg+xml;base64,PHN2Zz4=)", "<p>![x](data:image/svg+xml;base64,PHN2Zz4=)</p>"),
    "image in a link": ("[![logo](http://tracker.example/p.png)](https://example.org)",
                        '<p><a href="https://example.org" rel="noopener nofollow">logo</a></p>'),
    "link title": ('[site](https://example.org "titre")',
                   '<p><a href="https://example.org" rel="noopener nofollow">site</a></p>'),
    "entities": ("&lt;script&gt;alert(1)&lt;/script&gt; &#60;b&#62;",
                 "<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;</p>"),
    "comment": ("Texte <!-- caché --> visible", "<p>Texte  visible</p>"),
    "attribute breakout": ('<https://example.org/"onmouseover="alert(1)>',
                           ('<p><a href="https://example.org/%22onmouseover=%22alert(1)" rel="noopener nofollow">'
                            'https://example.org/"onmouseover="alert(1)</a></p>')),
}


@pytest.mark.parametrize("text, expected", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_never_becomes_active_markup(text, expected):
    html = to_html(text)
    assert_safe(html)
    assert html == expected


def test_links_open_safely():
    html = to_html("Écrire à <contact@example.org>, lire [le programme](https://example.org/programme?a=1&b=2) "
                   "ou [écrire](mailto:equipe@example.org).")
    assert html == (
        '<p>Écrire à <a href="mailto:contact@example.org" rel="noopener nofollow">contact@example.org</a>, '
        'lire <a href="https://example.org/programme?a=1&amp;b=2" rel="noopener nofollow">le programme</a> '
        'ou <a href="mailto:equipe@example.org" rel="noopener nofollow">écrire</a>.</p>'
    )


def test_headings_never_outrank_the_page():
    text = "# Un\n## Deux\n### Trois\n#### Quatre\n###### Six\n\nTitre souligné\n=="
    assert to_html(text) == ("<h3>Un</h3>\n<h3>Deux</h3>\n<h3>Trois</h3>\n<h4>Quatre</h4>\n<h6>Six</h6>\n"
                             "<h3>Titre souligné</h3>")
    # Under a workshop's <h3>, its description starts at <h4>.
    assert to_html("# Un\n#### Quatre", heading_level=4) == "<h4>Un</h4>\n<h4>Quatre</h4>"


def test_paragraphs_lists_and_emphasis():
    text = ("Premier paragraphe,\nsur deux lignes.\n\nUne *liste* **imbriquée** :\n\n- un\n  - un bis\n    - un ter\n"
            "- deux\n\n3. trois\n4. quatre")
    assert to_html(text) == (
        "<p>Premier paragraphe,<br>\nsur deux lignes.</p>\n<p>Une <em>liste</em> <strong>imbriquée</strong> :</p>\n"
        "<ul>\n<li>un\n<ul>\n<li>un bis\n<ul>\n<li>un ter</li>\n</ul>\n</li>\n</ul>\n</li>\n<li>deux</li>\n</ul>\n"
        '<ol start="3">\n<li>trois</li>\n<li>quatre</li>\n</ol>'
    )
    assert to_text(text) == ("Premier paragraphe,\nsur deux lignes.\n\nUne liste imbriquée :\n\n"
                             "- un\n  - un bis\n    - un ter\n- deux\n\n3. trois\n4. quatre")


def test_the_demo_event_description_has_a_real_list():
    with open(DEMO_EVENT_FILE, "rb") as file:
        description = tomllib.load(file)["description"]
    html = to_html(description)
    assert_safe(html)
    items = re.findall(r"<li>(.*?)</li>", html)
    assert html.count("<ul>") == 1 and len(items) == 3
    assert items[0].startswith("la coopération entre Xylm et STADD")
    assert "<p>- " not in html and "<br>" not in html


def test_plain_text_has_no_markup():
    text = ("## Programme\n\n**Matin** : plénière, *voir* [le site](https://example.org) ou <https://example.org>.\n"
            "Contact : [écrire](mailto:equipe@example.org) <contact@example.org>\n\n"
            "<script>alert(1)</script>\n\n1. accueil\n2. ateliers\n   - Salle 1\n\n![plan](http://x.example/plan.png)")
    assert to_text(text) == (
        "Programme\n\n"
        "Matin : plénière, voir le site (https://example.org) ou https://example.org.\n"
        "Contact : écrire (equipe@example.org) contact@example.org\n\n"
        "1. accueil\n2. ateliers\n   - Salle 1\n\n"
        "plan"
    )
    assert to_text("") == "" and to_html("") == ""


# --- In pages ---

def test_event_page_shows_the_description_formatted_and_safe(client, make_event):
    make_event(slug="desc", title="Rencontre <em>spéciale</em>",
               description="Le matin :\n\n- une plénière ;\n- des *ateliers*.\n\n<script>alert('x')</script>\n\n"
                           "[Programme](https://example.org/programme) ![x](http://tracker.example/p.png)",
               workshops=[dict(key="a", title="Atelier", description="# Déroulé\n\n1. accueil",
                               starts_at=START, ends_at=START + timedelta(hours=1))],
               starts_at=START, ends_at=START + timedelta(hours=8))
    response = client.get("/events/desc")
    page = response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "<ul>\n<li>une plénière ;</li>\n<li>des <em>ateliers</em>.</li>\n</ul>" in page
    assert '<a href="https://example.org/programme" rel="noopener nofollow">Programme</a>' in page
    assert "<h4>Déroulé</h4>\n<ol>\n<li>accueil</li>\n</ol>" in page  # below the workshop's <h3>
    assert "<script" not in page and "alert(" not in page and "tracker.example" not in page
    assert "Rencontre &lt;em&gt;spéciale&lt;/em&gt;" in page  # titles stay plain text


def test_a_browser_runs_nothing_and_reports_no_csp_violation(page, live_server, make_event):
    make_event(slug="piege", description=(
        "Bienvenue.\n\n<script>window.pwned = 1</script>\n\n<img src=x onerror=\"window.pwned = 2\">\n\n"
        "<p style=\"color:red\" onclick=\"window.pwned = 3\">Texte</p>\n\n- [lien](javascript:window.pwned=4)\n"
        "- ![image](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)"))
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(f"{live_server}/events/piege")
    page.get_by_text("[lien](javascript:").click()  # left as text: clicking it does nothing
    assert page.evaluate("window.pwned") is None
    assert not [m for m in messages if "Content Security Policy" in m or "Refused" in m]
    assert page.locator("main img, main script, main [style], main [onclick]").count() == 0
    assert all(url.startswith(live_server + "/") for url in page.requested)
