"""Back-office accounts: passwords (argon2id), logging in and out, sessions that end, the
"forgotten password" links (single-use, time-limited, signed), login rate limits, accounts and
teams managed by admins, the journal, and the `emgav users` commands."""
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from playwright.sync_api import expect
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Event, JournalAction, OutboxMail, User, UserRole
from webapp.services import accounts, journal, tokens
from webapp.services.errors import AccountError, AccountErrorCode
from webapp.typography import french

from . import support
from .support import PASSWORD, log_in, logged_in_as, make_user, outbox_message, page_text

NEW_PASSWORD = "un autre mot de passe assez long"
RESET_PATH = "organiser/password/reset"


def user(app, email):
    with app.app_context():
        found = accounts.user_by_email(email)
        db.session.expunge(found)
        return found


def without_tokens(response):
    """The page's HTML without its CSRF token (different in each session)."""
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", response.get_data(as_text=True))


def request_reset(app, email, language="fr"):
    """What the worker does for the "forgotten password" form; returns the path of the mailed link."""
    with app.app_context():
        assert accounts.request_password_reset(email, language) is not None
    return support.link_in(outbox_message(app, "password_reset"), RESET_PATH)


def choose_password(client, path, password=NEW_PASSWORD, confirm=None):
    return support.submit(client, path, password=password, confirm=confirm or password)


# --- Accounts and passwords -------------------------------------------------------------------

def test_an_account_keeps_an_argon2id_hash_and_a_lower_case_address(app_ctx):
    created = accounts.create_user("  Anne.Le-Goff@Example.ORG ", PASSWORD, role=UserRole.admin)

    assert created.email == "anne.le-goff@example.org"
    assert created.password_hash.startswith("$argon2id$")
    assert PASSWORD not in created.password_hash
    assert (created.role, created.active) == (UserRole.admin, True)


@pytest.mark.parametrize("email, password, code", [
    ("ANNE@example.org", PASSWORD, AccountErrorCode.duplicate_email),
    ("pas-une-adresse", PASSWORD, AccountErrorCode.invalid_email),
    ("yann@example.org", "onze carac", AccountErrorCode.password_too_short),
    ("yann@example.org", "", AccountErrorCode.password_too_short),
    ("yann@example.org", "x" * 257, AccountErrorCode.password_too_long),
])
def test_account_creation_refuses_bad_input_and_writes_nothing(app_ctx, email, password, code):
    make_user("anne@example.org")

    with pytest.raises(AccountError) as refused:
        accounts.create_user(email, password)

    assert refused.value.code == code
    assert db.session.scalars(select(User.email)).all() == ["anne@example.org"]


# --- Logging in and out -----------------------------------------------------------------------

def test_logging_in_renews_the_session_and_goes_back_to_the_page_asked_for(app, client):
    with app.app_context():
        make_user("anne@example.org")
    sent_away = client.get("/organiser/account/password")
    assert sent_away.headers["Location"] == "/organiser/login?next=/organiser/account/password"
    token_before = support.csrf_token(client, "/organiser/password/forgot")

    response = log_in(client, "ANNE@example.org ", next_path="/organiser/account/password")

    assert response.status_code == 302
    assert response.headers["Location"] == "/organiser/account/password"
    assert support.csrf_token(client, "/organiser/password/forgot") != token_before  # a new session
    assert client.get("/organiser/account/password").status_code == 200
    assert user(app, "anne@example.org").last_login_at is not None


@pytest.mark.parametrize("case", ["wrong_password", "disabled", "no_password_yet"])
def test_login_says_the_same_whether_the_account_exists_or_not(app, case):
    with app.app_context():
        make_user("anne@example.org", active=case != "disabled")
        if case == "no_password_yet":
            accounts.invite_user("anne.invitee@example.org")
    email = {"no_password_yet": "anne.invitee@example.org"}.get(case, "anne@example.org")
    password = "pas le bon mot de passe" if case == "wrong_password" else PASSWORD

    refused = log_in(app.test_client(), email, password)
    unknown = log_in(app.test_client(), "personne@example.org", password)

    assert refused.status_code == unknown.status_code == 422
    assert "L'adresse électronique ou le mot de passe est incorrect." in page_text(refused)
    assert without_tokens(refused).replace(email, "X") == without_tokens(unknown).replace("personne@example.org", "X")


def test_logging_out_ends_every_session_of_the_account(app, client):
    with app.app_context():
        make_user("anne@example.org")
    log_in(client, "anne@example.org")
    copied = app.test_client()  # the same cookie, e.g. copied before logging out
    copied.set_cookie("session", client.get_cookie("session").value)
    assert copied.get("/organiser/").status_code == 200

    token = support.csrf_token(client, "/organiser/")  # the logout button is on every page
    response = client.post("/organiser/logout", data={"csrf_token": token})

    assert response.headers["Location"] == "/organiser/login"
    assert client.get("/organiser/").status_code == 302
    assert copied.get("/organiser/").status_code == 302


def test_changing_ones_password_ends_the_other_sessions_only(app, client):
    with app.app_context():
        make_user("anne@example.org")
    elsewhere = app.test_client()
    log_in(client, "anne@example.org")
    log_in(elsewhere, "anne@example.org")

    wrong = support.submit(client, "/organiser/account/password", current_password="pas le bon",
                           password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert "Le mot de passe actuel n'est pas le bon." in page_text(wrong)
    mismatch = support.submit(client, "/organiser/account/password", current_password=PASSWORD,
                              password=NEW_PASSWORD, confirm=NEW_PASSWORD + "!")
    assert "Les deux mots de passe ne sont pas identiques." in page_text(mismatch)
    assert elsewhere.get("/organiser/").status_code == 200  # nothing changed so far

    changed = support.submit(client, "/organiser/account/password", current_password=PASSWORD,
                             password=NEW_PASSWORD, confirm=NEW_PASSWORD)

    assert changed.headers["Location"] == "/organiser/"
    assert client.get("/organiser/").status_code == 200
    assert elsewhere.get("/organiser/").status_code == 302
    assert log_in(app.test_client(), "anne@example.org", PASSWORD).status_code == 422  # refused
    assert log_in(app.test_client(), "anne@example.org", NEW_PASSWORD).status_code == 302


# --- Login rate limits ----------------------------------------------------------------------

def test_failed_logins_are_limited_per_account(app, limited_app):
    limited = limited_app(RATELIMIT_LOGIN_ACCOUNT="3 per minute", RATELIMIT_LOGIN_IP="100 per minute")
    with limited.app_context():
        make_user("anne@example.org")
    client = limited.test_client()

    statuses = [log_in(client, "anne@example.org", "pas le bon", REMOTE_ADDR=f"203.0.113.{i}").status_code
                for i in range(3)]
    assert statuses == [422, 422, 422]
    # Now even the right password is refused for this account, from any address; not for another.
    assert log_in(client, "Anne@example.org", REMOTE_ADDR="198.51.100.7").status_code == 429
    assert log_in(client, "personne@example.org", "x", REMOTE_ADDR="198.51.100.7").status_code == 422


def test_failed_logins_are_limited_per_address(app, limited_app):
    limited = limited_app(RATELIMIT_LOGIN_ACCOUNT="100 per minute", RATELIMIT_LOGIN_IP="3 per minute")
    with limited.app_context():
        make_user("anne@example.org")
    client = limited.test_client()

    statuses = [log_in(client, f"personne{i}@example.org", "x", REMOTE_ADDR="203.0.113.9").status_code
                for i in range(4)]

    assert statuses == [422, 422, 422, 429]
    refused = log_in(client, "anne@example.org", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    # The back office's page, as bare as the login page: no menu.
    assert 'class="back-office"' in refused.get_data(as_text=True) and "Trop de tentatives" in page_text(refused)
    assert "Se déconnecter" not in page_text(refused)
    assert log_in(client, "anne@example.org", REMOTE_ADDR="203.0.113.10").status_code == 302


def test_successful_logins_do_not_count_towards_the_limits(app, limited_app):
    limited = limited_app(RATELIMIT_LOGIN_ACCOUNT="2 per minute", RATELIMIT_LOGIN_IP="2 per minute")
    with limited.app_context():
        make_user("anne@example.org")

    statuses = [log_in(limited.test_client(), "anne@example.org").status_code for _ in range(4)]

    assert statuses == [302, 302, 302, 302]


# --- Forgotten password ------------------------------------------------------------------------

def test_a_reset_link_sets_a_new_password_once(app, client):
    with app.app_context():
        make_user("anne@example.org")
    path = request_reset(app, "anne@example.org")

    form = client.get(path)
    assert form.status_code == 200
    assert "Compte : anne@example.org" in page_text(form)
    too_short = choose_password(client, path, "court")
    assert "Le mot de passe doit compter au moins 12 caractères." in page_text(too_short)
    done = choose_password(client, path)

    assert done.headers["Location"] == "/organiser/login"
    assert log_in(app.test_client(), "anne@example.org", NEW_PASSWORD).status_code == 302
    assert log_in(app.test_client(), "anne@example.org", PASSWORD).status_code == 422
    # Used once: refused the second time, and nothing changes.
    hash_after = user(app, "anne@example.org").password_hash
    again = client.get(path)
    assert again.status_code == 404
    assert "Lien non valable" in page_text(again)
    reused = client.post(path, data={"password": "encore un mot de passe", "confirm": "encore un mot de passe",
                                     "csrf_token": support.csrf_token(client, "/organiser/password/forgot")})
    assert reused.status_code == 404
    assert user(app, "anne@example.org").password_hash == hash_after


def test_a_reset_link_used_twice_at_once_changes_the_password_once(app, client):
    with app.app_context():
        make_user("anne@example.org")
    path = request_reset(app, "anne@example.org")
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        accounts.reset_password(token, NEW_PASSWORD)  # the other click won meanwhile

    response = client.post(path, data={"password": "encore un mot de passe", "confirm": "encore un mot de passe",
                                       "csrf_token": support.csrf_token(client, "/organiser/password/forgot")})
    assert response.status_code == 404
    assert log_in(app.test_client(), "anne@example.org", NEW_PASSWORD).status_code == 302


def test_an_expired_reset_link_is_refused_and_changes_nothing(app, client):
    with app.app_context():
        make_user("anne@example.org")
    path = request_reset(app, "anne@example.org")
    hash_before = user(app, "anne@example.org").password_hash

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=61)):
        expired = client.get(path)
        assert expired.status_code == 410
        assert "Ce lien a expiré" in page_text(expired)
        assert "/organiser/password/forgot" in page_text(expired)  # the way to a new one
        posted = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                         "csrf_token": support.csrf_token(client, "/organiser/password/forgot")})
        assert posted.status_code == 410

    assert user(app, "anne@example.org").password_hash == hash_before
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=59)):
        assert client.get(path).status_code == 200


def test_a_forged_reset_link_is_refused(app, client):
    with app.app_context():
        make_user("anne@example.org")
        manage_like = tokens.make_token("manage", 1, 1)  # genuine, but for another purpose
    path = request_reset(app, "anne@example.org")

    for forged in (support.forge(path), f"/{RESET_PATH}/{manage_like}", f"/{RESET_PATH}/n'importe-quoi"):
        response = client.get(forged)
        assert response.status_code == 404, forged
        assert "Lien non valable" in page_text(response)


@pytest.mark.parametrize("change", ["password_changed", "account_disabled"])
def test_a_reset_link_dies_when_the_password_changes_or_the_account_is_disabled(app, client, change):
    with app.app_context():
        make_user("anne@example.org")
    path = request_reset(app, "anne@example.org")
    with app.app_context():
        anne = accounts.user_by_email("anne@example.org")
        if change == "password_changed":
            accounts.change_password(anne, PASSWORD, NEW_PASSWORD)
        else:
            accounts.disable_user(anne)

    assert client.get(path).status_code == 404


def test_the_forgotten_password_page_says_the_same_whatever_the_address(app, client):
    with app.app_context():
        make_user("anne@example.org")

    known = support.submit(client, "/organiser/password/forgot", email="anne@example.org")
    unknown = support.submit(client, "/organiser/password/forgot", email="personne@example.org")

    assert known.status_code == unknown.status_code == 200
    assert "Consultez votre messagerie" in page_text(known)
    assert without_tokens(known).replace("anne@example.org", "X") == \
        without_tokens(unknown).replace("personne@example.org", "X")
    with app.app_context():  # the web request wrote nothing: the worker does the rest
        assert db.session.scalars(select(OutboxMail)).all() == []


def test_the_reset_mail_arrives_through_the_worker_and_its_link_works(app, client, worker, smtp_server):
    with app.app_context():
        make_user("anne@example.org")
        make_user("disabled@example.org", active=False)

    for email in ("personne@example.org", "disabled@example.org", "anne@example.org"):
        assert support.submit(client, "/organiser/password/forgot?lang=en", email=email).status_code == 200
    [mail] = smtp_server.wait_for("anne@example.org", kind="password_reset")

    text = support.mail_text(mail)
    assert mail["Subject"] == "Choose a new password"
    assert mail["Content-Language"] == "en"
    assert "This link is valid for 60 minutes and works only once." in text
    support.wait_until(lambda: len(re.findall(r"emgav\.send_password_reset\[[^]]+\] succeeded", worker.log())) == 3,
                       message="the three password-reset tasks done")
    assert [message["To"] for message in smtp_server.messages] == ["anne@example.org"]
    path = support.link_in(mail, RESET_PATH)
    assert choose_password(client, path).headers["Location"] == "/organiser/login"
    assert log_in(app.test_client(), "anne@example.org", NEW_PASSWORD).status_code == 302


def test_one_reset_mail_per_account_and_window(app_ctx):
    make_user("anne@example.org")

    first = accounts.request_password_reset("anne@example.org")
    second = accounts.request_password_reset("ANNE@example.org")

    assert first == second
    assert accounts.request_password_reset("personne@example.org") is None


# --- Admin: accounts and teams ----------------------------------------------------------------

@pytest.fixture
def admin_client(app):
    with app.app_context():
        admin = make_user("admin@example.org", UserRole.admin)
        return logged_in_as(app.test_client(), admin)


def test_an_admin_creates_an_account_and_the_person_chooses_a_password(app, admin_client):
    response = support.submit(admin_client, "/organiser/accounts/new", email="Nolwenn@Example.org", role="organiser")

    assert response.headers["Location"] == "/organiser/accounts"
    listing = page_text(admin_client.get("/organiser/accounts"))
    assert "Le compte nolwenn@example.org est créé" in listing
    assert "mot de passe à choisir" in listing
    invitation = outbox_message(app, "account_invitation")
    assert invitation["To"] == "nolwenn@example.org"
    assert "Ce lien est valable 72 heures." in support.mail_text(invitation)
    assert log_in(app.test_client(), "nolwenn@example.org", "").status_code == 422  # no password yet
    path = support.link_in(invitation, RESET_PATH)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=71)):  # valid longer than a reset link
        assert choose_password(app.test_client(), path).status_code == 302
    assert log_in(app.test_client(), "nolwenn@example.org", NEW_PASSWORD).status_code == 302


def test_an_address_that_has_an_account_cannot_get_a_second_one(app, admin_client):
    with app.app_context():
        make_user("anne@example.org")

    response = support.submit(admin_client, "/organiser/accounts/new", email="ANNE@example.org", role="admin")

    assert response.status_code == 422
    assert "Un compte existe déjà avec cette adresse électronique." in page_text(response)
    with app.app_context():
        assert len(accounts.list_users()) == 2


def test_a_disabled_account_loses_its_session_and_cannot_log_in(app, admin_client):
    with app.app_context():
        anne = make_user("anne@example.org")
    client = app.test_client()
    log_in(client, "anne@example.org")

    token = support.csrf_token(admin_client, "/organiser/accounts")
    response = admin_client.post(f"/organiser/accounts/{anne}/disable", data={"csrf_token": token})

    assert response.headers["Location"] == "/organiser/accounts"
    assert "désactivé" in page_text(admin_client.get("/organiser/accounts"))
    assert client.get("/organiser/").status_code == 302
    assert log_in(app.test_client(), "anne@example.org").status_code == 422  # refused


def test_a_disabled_account_is_enabled_again_and_logs_in_with_its_password(app, admin_client, make_event):
    event_id = make_event(title="Journée régionale")
    with app.app_context():
        anne = make_user("anne@example.org", events=[event_id], active=False)
    accounts_page = admin_client.get("/organiser/accounts").get_data(as_text=True)
    assert f'action="/organiser/accounts/{anne}/enable"' in accounts_page
    assert f'action="/organiser/accounts/{anne}/disable"' not in accounts_page
    assert log_in(app.test_client(), "anne@example.org").status_code == 422

    token = support.csrf_token(admin_client, "/organiser/accounts")
    response = admin_client.post(f"/organiser/accounts/{anne}/enable", data={"csrf_token": token})

    assert response.headers["Location"] == "/organiser/accounts"
    assert "Le compte anne@example.org est de nouveau actif." in page_text(admin_client.get("/organiser/accounts"))
    assert user(app, "anne@example.org").active
    client = app.test_client()
    assert log_in(client, "anne@example.org").status_code == 302
    assert client.get(f"/organiser/events/{event_id}").status_code == 200  # the events it ran before


def test_an_admin_cannot_disable_their_own_account(app, admin_client):
    admin = user(app, "admin@example.org")
    token = support.csrf_token(admin_client, "/organiser/accounts")

    admin_client.post(f"/organiser/accounts/{admin.id}/disable", data={"csrf_token": token})

    assert "Vous ne pouvez pas désactiver votre propre compte." in page_text(admin_client.get("/organiser/accounts"))
    assert user(app, "admin@example.org").active


def test_giving_and_taking_access_to_an_event_is_journalled(app, admin_client, make_event):
    event_id = make_event(title="Journée régionale")
    for name in ("Yann", "Gwen"):
        support.person_id(app, event_id, name)
    support.person_id(app, event_id, "Loeiz", confirm=False)
    with app.app_context():
        anne = make_user("anne@example.org")
        anne_client = logged_in_as(app.test_client(), anne)
    assert anne_client.get(f"/organiser/events/{event_id}").status_code == 404

    team = f"/organiser/events/{event_id}/team"
    assert support.submit(admin_client, team, user_id=str(anne)).headers["Location"] == team

    dashboard = page_text(anne_client.get("/organiser/"))
    assert "Journée régionale" in dashboard
    assert "places réservées : 2" in dashboard
    assert "adresse à confirmer : 1" in dashboard
    home = page_text(anne_client.get(f"/organiser/events/{event_id}"))
    assert "Accès à l'événement donné à anne@example.org." in home
    assert "admin@example.org" in home

    token = support.csrf_token(admin_client, team)
    admin_client.post(f"{team}/{anne}/remove", data={"csrf_token": token})

    assert anne_client.get(f"/organiser/events/{event_id}").status_code == 404
    with app.app_context():
        entries = journal.entries(db.session.get(Event, event_id))
        assert [(entry.action, entry.details) for entry in entries] == [
            (JournalAction.organiser_unassigned, {"email": "anne@example.org"}),
            (JournalAction.organiser_assigned, {"email": "anne@example.org"}),
        ]
        assert all(entry.user.email == "admin@example.org" for entry in entries)


def test_the_journal_names_the_service_for_what_it_did_by_itself(app, admin_client, make_event):
    event_id = make_event()
    with app.app_context():
        event = db.session.get(Event, event_id)
        journal.record(event, None, JournalAction.organiser_assigned, email="anne@example.org")
        db.session.commit()

    home = page_text(admin_client.get(f"/organiser/events/{event_id}"))

    assert "Emgav (automatique)" in home
    assert "Accès à l'événement donné à anne@example.org." in home


def test_a_disabled_account_cannot_be_given_an_event(app_ctx, make_event):
    event = db.session.get(Event, make_event())
    admin = db.session.get(User, make_user("admin@example.org", UserRole.admin))
    disabled = db.session.get(User, make_user("anne@example.org", active=False))

    with pytest.raises(AccountError) as refused:
        accounts.assign_organiser(event, disabled, by=admin)

    assert refused.value.code == AccountErrorCode.account_disabled
    assert event.organisers == []


# --- Pages in English ---------------------------------------------------------------------------

def test_the_back_office_speaks_english_when_asked(app, client):
    with app.app_context():
        make_user("anne@example.org")
    login = page_text(client.get("/organiser/login?lang=en"))
    assert "<h1>Log in</h1>" in login
    assert "Forgotten password?" in login

    failed = page_text(log_in(client, "anne@example.org", "not the right one"))

    assert "The email address or the password is wrong." in failed


# --- emgav users ---------------------------------------------------------------------------------

def test_users_commands_create_list_disable_and_enable(app):
    runner = app.test_cli_runner()

    created = runner.invoke(args=["users", "create", "Admin@Example.org", "--admin"], input=PASSWORD + "\n")
    organiser = runner.invoke(args=["users", "create", "anne@example.org"], input=PASSWORD + "\n")
    assert created.exit_code == organiser.exit_code == 0, created.output + organiser.output
    assert "Compte créé : admin@example.org (administration)" in created.output
    listed = runner.invoke(args=["users", "list"])
    assert listed.output.splitlines() == ["admin@example.org\tadministration\tactif",
                                          "anne@example.org\torganisation\tactif"]

    disabled = runner.invoke(args=["users", "disable", "ANNE@example.org"])

    assert disabled.exit_code == 0
    assert "Compte désactivé : anne@example.org" in disabled.output
    assert runner.invoke(args=["users", "list"]).output.splitlines()[1] == "anne@example.org\torganisation\tdésactivé"
    assert log_in(app.test_client(), "admin@example.org").status_code == 302
    assert log_in(app.test_client(), "anne@example.org").status_code == 422

    enabled = runner.invoke(args=["users", "enable", "anne@example.org"])

    assert enabled.exit_code == 0
    assert "Compte réactivé : anne@example.org" in enabled.output
    assert runner.invoke(args=["users", "list"]).output.splitlines()[1] == "anne@example.org\torganisation\tactif"
    assert log_in(app.test_client(), "anne@example.org").status_code == 302


DUPLICATE = "Un compte existe déjà avec cette adresse électronique."


@pytest.mark.parametrize("args, input, message", [
    (["users", "create", "anne@example.org"], PASSWORD + "\n", DUPLICATE),
    (["users", "create", "yann@example.org"], "court\n", "Le mot de passe doit compter au moins 12 caractères."),
    (["users", "create", "yann@example.org"], "", "Le mot de passe doit compter au moins 12 caractères."),
    (["users", "create", "pas-une-adresse"], PASSWORD + "\n", "Saisissez une adresse électronique valide"),
    (["users", "disable", "personne@example.org"], None, "Aucun compte n'a cette adresse électronique."),
    (["users", "enable", "personne@example.org"], None, "Aucun compte n'a cette adresse électronique."),
])
def test_users_commands_say_what_is_wrong(app, args, input, message):
    with app.app_context():
        make_user("anne@example.org")

    result = app.test_cli_runner().invoke(args=args, input=input)

    assert result.exit_code == 1
    assert message in support.plain(result.output)
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalars(select(User.email)).all() == ["anne@example.org"]


def test_emgav_users_create_reads_the_password_from_standard_input(app, base_env):
    result = support.run_emgav(base_env, "users", "create", "admin@example.org", "--admin", input=PASSWORD + "\n")

    assert "Compte créé : admin@example.org (administration)" in result.stdout
    assert log_in(app.test_client(), "admin@example.org").status_code == 302
    duplicate = support.run_emgav(base_env, "users", "create", "admin@example.org", input=PASSWORD + "\n",
                                  check=False)
    assert duplicate.returncode == 1
    assert "Un compte existe déjà avec cette adresse électronique." in duplicate.stderr
    assert "Traceback" not in duplicate.stderr


# --- In a browser ---------------------------------------------------------------------------------

def test_log_in_with_the_keyboard_only(app, page, live_server):
    with app.app_context():
        make_user("anne@example.org")
    page.goto(f"{live_server}/organiser/")  # sent to the login page

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    page.get_by_label("Adresse électronique").focus()
    page.keyboard.type("anne@example.org")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Mot de passe", exact=True)).to_be_focused()
    page.keyboard.type("pas le bon mot de passe")
    page.keyboard.press("Enter")

    alert = page.get_by_role("alert")
    expect(alert).to_be_focused()
    expect(alert).to_contain_text(french("L'adresse électronique ou le mot de passe est incorrect."))
    page.get_by_label("Mot de passe", exact=True).focus()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Événements")
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    foreign = [url for url in page.requested if not url.startswith(live_server + "/")]
    assert foreign == []
