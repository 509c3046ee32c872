"""Hostile input everywhere: generated requests (Hypothesis) to every route of the app's URL map,
public, participant and back office (as an admin, or logged out), with or without a valid CSRF
token. Each case starts from what the page's own form sends, then mangles it: random bytes, huge
fields, unicode edge cases (NUL, lone surrogates, right-to-left marks, combining characters),
control characters, header injections (\\r\\nBcc:), repeated or missing fields, wrong methods and
content types, forged, truncated or misplaced tokens, huge ids.

After each case: no 5xx; a case that must be refused (no valid CSRF token on a POST, a method the
route does not take, a forged link, an id that does not exist) adds no registration, outbox row or
journal entry; no mail is queued for an address nobody confirmed, except the mails that check an
address (« confirm your address », lost links, which count against the address's hourly cap);
nothing written carries a line break into a mail header.

`make test` runs a small fixed-seed part (FUZZ_EXAMPLES cases per test); `make fuzz` runs
10,000 cases (EMGAV_FUZZ_CASES), with a random seed printed on failure.
"""
import json
import os
import re
import unicodedata
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from webapp.extensions import db
from webapp.mail.kinds import KINDS
from webapp.models import JournalEntry, OutboxMail, Registration, SeatOffer, SurveyParticipant, User
from webapp.models.base import utcnow
from webapp.services import survey_answers, tokens

from . import support, test_organiser_access
from .support import logged_in_as

# The back office's events, accounts and people (tests/test_organiser_access.py).
world = test_organiser_access.world

TESTS = 3
FUZZ_CASES = int(os.environ.get("EMGAV_FUZZ_CASES", "0"))
FUZZ_EXAMPLES = 30
FUZZ_SETTINGS = settings(
    max_examples=-(-FUZZ_CASES // TESTS) if FUZZ_CASES else FUZZ_EXAMPLES,
    derandomize=not FUZZ_CASES,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
# Mails that check an address (sent to addresses nobody confirmed yet; capped per address and hour).
ADDRESS_CHECK_KINDS = {"confirm_address", "lost_links"}
# Back-office mails go to accounts, which an admin created.
ACCOUNT_KINDS = {"password_reset", "account_invitation"}
assert ADDRESS_CHECK_KINDS | ACCOUNT_KINDS <= set(KINDS)

RAW_CSRF = "f" * 40
# The kind of signed link each route with a <token> takes.
LINK_PURPOSES = {"participant.confirm": "confirm", "participant.manage": "manage", "participant.cancel": "manage",
                 "participant.leave_waiting_list": "manage", "participant.offer": "offer",
                 "participant.unsubscribe": "unsubscribe", "organiser.reset_password": "reset",
                 "participant.erase": "manage", "participant.data_access": "manage", "participant.my_data": "data",
                 "participant.news_consent": "news", "participant.survey": "survey"}
WRONG_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]

# --- Hostile values (bytes, as they travel) ---

# Numbers around the limits of 32- and 64-bit integers (random ones are mostly small).
HUGE_NUMBERS = [str(n) for n in (2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30)]
EDGE_CASES = [
    "\x00", "a\x00b", "\ud800", "\udfff", "x\ud83dy", "\u202eevil\u202c", "\u200f\u200e", "e" + "\u0301" * 200,
    "\u200b", "\ufeff", "\uffff", "\U0010ffff", "🙂" * 50, "İ", "ß" * 30, "\u2028\u2029", "\x1b[31m", "\x7f",
    "%00", "%0d%0a", "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --", "{{7*7}}", "%(name)s",
    "-1", "0", "1e309", "NaN", "9" * 400, "", " ", "\t", "y", "on", "true", *HUGE_NUMBERS,
]
HEADER_INJECTIONS = [
    "anne@example.org\r\nBcc: victim@example.org", "Anne\r\nBcc: victim@example.org", "Anne\nSubject: spam",
    "anne@example.org\nCc: victim@example.org", "victim@example.org%0d%0aBcc:x@example.org",
    "=?utf-8?q?Bcc=3A_victim=40example.org?=", "anne@example.org,victim@example.org",
    "anne@example.org\rTo: victim@example.org",
]


def _utf8(text):
    return text.encode("utf-8", "surrogatepass")


hostile_text = st.one_of(
    st.sampled_from(EDGE_CASES),
    st.sampled_from(HEADER_INJECTIONS),
    st.text(max_size=60),
    st.text(st.characters(codec=None, categories=["Cc", "Cf", "Cs", "Co", "Zl", "Zp", "Mn"]), max_size=40),
    st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=4), st.integers(200, 40_000)),
)
hostile_value = st.one_of(hostile_text.map(_utf8), st.binary(max_size=200))


def _token_variants(genuine):
    """A genuine token, forged (one character of its signature), truncated, or with garbage around."""
    return st.one_of(
        st.sampled_from(genuine).map(support.forge),
        st.builds(lambda t, cut: t[:cut], st.sampled_from(genuine), st.integers(0, 80)),
        st.builds(lambda t, extra: t + extra, st.sampled_from(genuine), st.text(min_size=1, max_size=10)),
    )


# --- What each route is sent ---

class FormFields(HTMLParser):
    """The fields of the POST forms of a page, as a browser would send them, form by form:
    {action: [(name, value)…]} (the first option of a select, ticked boxes)."""

    def __init__(self):
        super().__init__()
        self.forms, self._current, self._select = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._current = self.forms.setdefault(attrs.get("action") or "", [])
        elif self._current is None or "name" not in attrs:
            if tag == "option" and self._select and "value" in attrs:
                self._current.append((self._select, attrs["value"]))
                self._select = None
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "textarea":
            self._current.append((attrs["name"], "Un texte"))
        elif tag == "input" and attrs.get("type") not in ("submit", "button"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._current.append((attrs["name"], attrs.get("value") or "Yann"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


def page_form(client, path):
    """What the form of the page at `path` sends as it is shown (without its CSRF token), or []."""
    response = client.get(path)
    if response.status_code != 200 or "html" not in response.content_type:
        return []
    parser = FormFields()
    parser.feed(response.get_data(as_text=True))
    forms = parser.forms
    fields = forms.get(path) or forms.get("") or next(iter(forms.values()), [])
    return [(name, value) for name, value in fields if name != "csrf_token"]


class Target:
    """One rule of the URL map: its genuine values for each part of the path, and the form a
    browser sends to it."""

    def __init__(self, rule, genuine, form):
        self.rule, self.genuine, self.form = rule, genuine, form
        self.methods = sorted(rule.methods - {"HEAD", "OPTIONS"})

    def __repr__(self):
        return f"<{self.rule.endpoint} {self.rule.rule}>"

    def path(self, values):
        return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], self.rule.rule)


def path_values(rule, world, tokens_by_purpose):
    """{argument: [genuine values]} for the rule's path (the first ones are used to find its form)."""
    ids = [str(value) for value in world.values() if isinstance(value, int)]
    values = {}
    for name, converter in rule._converters.items():
        if name == "token":
            values[name] = tokens_by_purpose[LINK_PURPOSES[rule.endpoint]]
        elif name == "slug":
            values[name] = ["journee-1", "journee-4"]
        elif hasattr(converter, "items"):
            values[name] = sorted(converter.items)
        elif name == "name":
            values[name] = ["registrations", "people"]
        elif name == "filename":
            values[name] = ["emgav.css"]
        else:
            preferred = {"event_id": "people_event", "registration_id": "seated", "user_id": "target",
                         "workshop_id": "workshop", "question_id": "question", "mail_id": "failed_mail",
                         "days_before": None, "mailing_id": "sent_mailing", "row_id": "failed_mailing_row",
                         "entry_id": "suppressed"}[name]
            values[name] = ([str(world[preferred])] if preferred else ["7"]) + ids
    return values


class Routes:
    """Every rule of the URL map (`targets`), every genuine link (`tokens`), and the back office's
    `world` (ids of its events, accounts and people)."""

    def __init__(self, targets, all_tokens, world):
        self.targets, self.tokens, self.world = targets, all_tokens, world

    def __repr__(self):
        return f"<{len(self.targets)} routes>"


@pytest.fixture
def routes(app, world):
    """Every rule of the URL map, with genuine path values and its form; and the people's links."""
    with app.test_request_context():
        pending = support.person_id(app, world["event"], "Enora", confirm=False)
        registration = db.session.get(Registration, pending)
        seated = db.session.get(Registration, world["seated"])
        waiting = db.session.get(Registration, world["waiting"])
        offer = SeatOffer(registration=waiting, expires_at=utcnow() + timedelta(hours=48))
        db.session.add(offer)
        db.session.commit()
        tokens_by_purpose = {
            "confirm": [tokens.confirm_token(registration)],
            "manage": [tokens.manage_token(seated), tokens.manage_token(waiting)],
            "offer": [tokens.offer_token(offer)],
            "unsubscribe": [tokens.unsubscribe_token(seated.email)],
            "reset": [world["reset_token"]],
            "data": [tokens.data_access_token(seated)],
            "news": [tokens.news_consent_token(seated)],
            "survey": [survey_answers.survey_token(participant)
                       for participant in db.session.scalars(select(SurveyParticipant).limit(2))],
        }
    all_tokens = [token for values in tokens_by_purpose.values() for token in values]
    baseline = {route.endpoint: list(route.form(world).items()) for route in test_organiser_access.ROUTES}
    admin = organiser_client(app, world)
    found = []
    for rule in app.url_map.iter_rules():
        genuine = path_values(rule, world, tokens_by_purpose)
        target = Target(rule, genuine, baseline.get(rule.endpoint, []))
        if "GET" in rule.methods and not target.form:
            target.form = page_form(admin, target.path({name: values[0] for name, values in genuine.items()}))
        found.append(target)
    return Routes(found, all_tokens, world)


def organiser_client(app, world):
    client = app.test_client()
    with app.app_context():
        logged_in_as(client, world["admin"])
    with client.session_transaction() as session:
        session["csrf_token"] = RAW_CSRF
    return client


@st.composite
def cases(draw, targets, all_tokens):
    """One request: (target, method, path, query, body, headers, must_be_refused)."""
    target = draw(st.sampled_from(targets))
    refused = False
    values = {}
    hostile = draw(st.sampled_from([None, *target.genuine]))  # the part of the path to mangle, if any
    for name, genuine in target.genuine.items():
        if name != hostile:
            value = draw(st.sampled_from(genuine))
        elif name == "token":  # a real link of another kind, damaged, or anything
            value = draw(st.one_of(_token_variants(genuine), st.sampled_from(all_tokens), hostile_text))
        elif isinstance(target.rule._converters[name], IntegerConverter):
            value = draw(st.one_of(st.sampled_from(HUGE_NUMBERS), st.integers(0, 2**80).map(str), hostile_text))
        else:
            value = draw(hostile_text)
        refused = refused or value not in genuine
        values[name] = quote(_utf8(value), safe="") or "x"
    method = draw(st.sampled_from(target.methods + ["POST"] + [draw(st.sampled_from(WRONG_METHODS))]))
    refused = refused or method not in target.methods

    fields = [(_utf8(name), _utf8(value)) for name, value in target.form]
    mangled = []
    for name, value in fields:
        action = draw(st.sampled_from(["keep", "keep", "hostile", "drop", "repeat"]))
        if action == "keep":
            mangled.append((name, value))
        elif action == "hostile":
            mangled.append((name, draw(hostile_value)))
        elif action == "repeat":
            mangled += [(name, value), (name, draw(hostile_value))]
    mangled += draw(st.lists(st.tuples(hostile_text.map(_utf8), hostile_value), max_size=2))
    csrf = draw(st.sampled_from(["valid", "valid", "missing", "forged", "truncated", "repeated"]))
    signed = URLSafeTimedSerializer(os.environ["SECRET_KEY"], salt="wtf-csrf-token").dumps(RAW_CSRF)
    csrf_values = {"valid": [signed], "missing": [], "forged": [support.forge(signed)], "truncated": [signed[:20]],
                   "repeated": [support.forge(signed), signed]}[csrf]
    mangled += [(b"csrf_token", token.encode()) for token in csrf_values]

    encoding = draw(st.sampled_from(["form", "form", "form", "multipart", "json", "text", "none", "broken"]))
    headers = {}
    files = set()  # the fields sent as files (multipart): not form fields, so never a CSRF token
    if encoding == "form":
        body, headers["Content-Type"] = urlencode(mangled).encode(), "application/x-www-form-urlencoded"
    elif encoding == "multipart":
        boundary = "emgavfuzz"
        parts = []
        for index, (name, value) in enumerate(mangled):
            filename = draw(st.sampled_from([b"", b'; filename="a.txt"']))
            if filename:
                files.add(index)
            parts.append(b'--%s\r\nContent-Disposition: form-data; name="%s"%s\r\n\r\n%s\r\n' % (
                boundary.encode(), name.replace(b'"', b"%22"), filename, value))
        body = b"".join(parts) + b"--%s--\r\n" % boundary.encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif encoding == "json":
        body = json.dumps({name.decode(errors="replace"): value.decode(errors="replace") for name, value in mangled})
        body, headers["Content-Type"] = body.encode(), "application/json"
    elif encoding == "text":
        body, headers["Content-Type"] = urlencode(mangled).encode(), "text/plain"
    elif encoding == "broken":
        body = urlencode(mangled).encode()
        headers["Content-Type"] = draw(st.sampled_from(
            ["multipart/form-data", "multipart/form-data; boundary=", "application/x-www-form-urlencoded; charset=x",
             "multipart/form-data; boundary=\x00", "application/x-www-form-urlencoded; charset=utf-16"]))
        # Without a boundary, a multipart body has no fields (a urlencoded one ignores its charset).
        refused = refused or (method != "GET" and headers["Content-Type"].startswith("multipart"))
    else:
        body = urlencode(mangled).encode()
    if encoding in ("json", "text", "none"):  # a form that does not arrive as one
        refused = refused or method != "GET"
    # The first csrf_token form field decides: a forged one sent as a file leaves the genuine one.
    form_tokens = [value for index, (name, value) in enumerate(mangled) if name == b"csrf_token" and index not in files]
    refused = refused or (method != "GET" and form_tokens[:1] != [signed.encode()])
    if draw(st.booleans()):
        # HTTP cannot carry a line break or NUL in a header value.
        value = draw(hostile_text).encode("utf-8", "replace").decode("latin-1")
        headers["Accept-Language"] = re.sub(r"[\r\n\x00]", " ", value)
    query = urlencode(draw(st.lists(st.tuples(
        st.sampled_from([b"lang", b"next", b"start", b"end", b"enabled", b"status", b"q", b"page", b"sort"]),
        hostile_value), max_size=3)))
    return target, method, target.path(values), query, body, headers, refused


def counts():
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Registration, OutboxMail, JournalEntry))


def check_case(app, client, case):
    target, method, path, query, body, headers, refused = case
    with app.app_context():
        before = counts()
        last_mail = db.session.scalar(select(func.max(OutboxMail.id))) or 0
        last_registration = db.session.scalar(select(func.max(Registration.id))) or 0
    response = client.open(path, method=method, query_string=query, data=body, headers=headers)
    assert response.status_code < 500, f"{method} {path}: {response.status_code}"
    with app.app_context():
        if refused:
            assert counts() == before, f"{method} {path} (must be refused) wrote {before} -> {counts()}"
        for registration in db.session.scalars(select(Registration).where(Registration.id > last_registration)):
            for text in (registration.first_name, registration.last_name, registration.organisation,
                         registration.email or ""):
                assert not any(unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs") for ch in text), repr(text)
        confirmed = set(db.session.scalars(select(Registration.email).where(Registration.confirmed_at.is_not(None))))
        accounts = set(db.session.scalars(select(User.email)))
        for mail in db.session.scalars(select(OutboxMail).where(OutboxMail.id > last_mail)):
            assert not any(unicodedata.category(ch) == "Cc" for ch in mail.recipient), repr(mail.recipient)
            allowed = (mail.kind in ADDRESS_CHECK_KINDS or mail.recipient in confirmed
                       or (mail.kind in ACCOUNT_KINDS and mail.recipient in accounts))
            assert allowed, f"{method} {path}: {mail.kind} mail to {mail.recipient}, never confirmed"


def run_cases(app, routes, back_office, data):
    chosen = [t for t in routes.targets if t.rule.rule.startswith("/organiser/") == back_office]
    case = data.draw(cases(chosen, routes.tokens))
    logged_in = back_office and data.draw(st.booleans())
    client = organiser_client(app, routes.world) if logged_in else app.test_client()
    if not logged_in:
        with client.session_transaction() as session:
            session["csrf_token"] = RAW_CSRF
    check_case(app, client, case)


@FUZZ_SETTINGS
@given(data=st.data())
def test_public_and_participant_routes(app, routes, data):
    run_cases(app, routes, False, data)


@FUZZ_SETTINGS
@given(data=st.data())
def test_back_office_routes(app, routes, data):
    run_cases(app, routes, True, data)


@FUZZ_SETTINGS
@given(data=st.data())
def test_token_bearing_routes(app, routes, data):
    with_links = [t for t in routes.targets if "token" in t.genuine]
    check_case(app, organiser_client(app, routes.world), data.draw(cases(with_links, routes.tokens)))
