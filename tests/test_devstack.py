"""`emgav dev` (what `make run` ends with) and the local mail catcher, run as a person would:
start the stack in a subprocess, register on the printed site address, read the mails in the
mail catcher's web mailbox and click their links; Ctrl-C stops everything; a process that dies
stops the others. Each broker of the fallback chain is used once. The development tooling is
not loaded by the app, its web server or its workers."""
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from . import support
from .support import DEMO_SLUG

# Every test here starts `emgav dev` or the mail catcher as a subprocess.
pytestmark = pytest.mark.slow


class DevProcess:
    """`emgav dev` on free ports, started in `cwd`, its output kept in a log file."""

    def __init__(self, env, cwd, *args):
        self.port, self.smtp_port, self.mail_port = support.free_port(), support.free_port(), support.free_port()
        self.site = f"http://127.0.0.1:{self.port}"
        self.mailbox = f"http://127.0.0.1:{self.mail_port}"
        self.log_path = Path(tempfile.mkstemp(prefix="emgav-dev-", suffix=".log")[1])
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(support.VENV_BIN / "emgav"), "dev", "--port", str(self.port), "--smtp-port", str(self.smtp_port),
                 "--mail-port", str(self.mail_port), *args],
                env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self):
        support.wait_until(lambda: "Ctrl-C stops everything." in self.log() or self.proc.poll() is not None,
                           timeout=90, message="emgav dev to start")
        assert self.proc.poll() is None, self.log()
        return self

    def pids(self):
        """{process name: pid}, from honcho's "<name> started (pid=<pid>)" lines."""
        return {name: int(pid) for name, pid in re.findall(r"(\w+) started \(pid=(\d+)\)", self.log())}

    def interrupt(self):
        """Ctrl-C; returns the exit code."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(60)

    def kill_all(self):
        """Last resort after a failed test: nothing is left running."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for pid in self.pids().values():
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def dev_env(base_env, tmp_path):
    """A development environment as `make run` has it: migrated database and demo event in a
    fresh instance directory, no SMTP/BASE_URL settings (emgav dev provides them)."""
    env = {k: v for k, v in base_env.items()
           if k not in ("DATABASE_URL", "SMTP_HOST", "SMTP_PORT", "BASE_URL", "MAIL_FROM")}
    # Away from the suite's Redis (whose worker would take the dev stack's tasks): nothing answers.
    env.update(EMGAV_ENV="development", EMGAV_INSTANCE_DIR=str(tmp_path / "instance"),
               REDIS_URL=f"redis://127.0.0.1:{support.free_port()}/0")
    support.run_emgav(env, "db", "upgrade")
    support.run_emgav(env, "seed-demo")
    return env


@pytest.fixture
def start_dev(tmp_path):
    started = []

    def start(env, *args, cwd=tmp_path):
        dev = DevProcess(env, cwd, *args)
        started.append(dev)
        return dev.wait_ready()

    yield start
    for dev in started:
        dev.kill_all()


def mailbox_message(dev, address, kind):
    """Wait for a mail of `kind` to `address` in the web mailbox; returns its page's HTML and URL."""

    def find():
        page = requests.get(dev.mailbox + "/", timeout=10).text
        for row in re.findall(r"<tr>(.*?)</tr>", page, re.DOTALL):
            if address in row and f'<td class="kind">{kind}</td>' in row:
                return re.search(r'href="(/messages/[^"]+)"', row).group(1)
        return None

    path = support.wait_until(find, timeout=60, message=f"a {kind} mail to {address} in the mailbox")
    return requests.get(dev.mailbox + path, timeout=10).text, dev.mailbox + path


def register_and_confirm(dev, address):
    """Register for the demo event on the site, then follow the link of the mail; returns the
    page of the registration_confirmed mail in the mailbox."""
    browser = requests.Session()
    form_url = f"{dev.site}/events/{DEMO_SLUG}/register"
    form = browser.get(form_url, timeout=10).text
    answer = browser.post(form_url, timeout=10,
                          data=support.registration_form(email=address, csrf_token=support.csrf_token_in(form)))
    assert answer.status_code == 200 and answer.url.endswith("/register/sent"), answer.text

    page, _ = mailbox_message(dev, address, "confirm_address")
    link = re.search(re.escape(dev.site) + r"/confirm/[\w.-]+", page).group(0)  # links use the site address
    confirmed = browser.get(link, timeout=10)
    assert confirmed.status_code == 200
    assert re.search(re.escape(dev.site) + r"/manage/[\w.-]+", confirmed.text)

    page, url = mailbox_message(dev, address, "registration_confirmed")
    return page, url


def assert_invite_downloads(dev, page):
    """The invite attached to the mail downloads from the mailbox as an .ics file."""
    parts = re.findall(r'<a href="(/messages/[^"]+/parts/\d+)">([^<]+\.ics)</a>', page)
    assert parts, page
    download = requests.get(dev.mailbox + parts[-1][0], timeout=10)
    assert download.headers["Content-Type"].startswith(("text/calendar", "application/ics"))
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.text.startswith("BEGIN:VCALENDAR") and "METHOD:REQUEST" in download.text


def assert_stops_cleanly(dev):
    pids = dev.pids()
    assert dev.interrupt() == 0, dev.log()
    assert "| stopped.\n" in dev.log()
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone (and reaped)
    for port in (dev.port, dev.smtp_port, dev.mail_port):
        assert not support.port_open(port)


def test_make_run_with_a_private_redis_server(dev_env, start_dev, tmp_path):
    # Nothing answers at REDIS_URL: a private redis-server is started. Settings come from .env.
    (tmp_path / ".env").write_text("MAIL_FROM=Réseau Bretagne Solidaire <rendez-vous@bretagne-solidaire.test>\n")

    dev = start_dev(dev_env)

    assert "broker   private redis-server at redis://127.0.0.1:" in dev.log()
    assert f"(nothing answers at REDIS_URL={dev_env['REDIS_URL']})" in dev.log()
    assert f"site     {dev.site}/" in dev.log()
    assert f"mailbox  {dev.mailbox}/" in dev.log()
    assert set(dev.pids()) == {"redis", "mail", "worker", "bulk", "beat", "web"}
    # One worker for the default queue (transactional mail), one for bulk mail.
    for name, queue in (("worker", "celery"), ("bulk", "bulk")):
        command_line = Path(f"/proc/{dev.pids()[name]}/cmdline").read_bytes().split(b"\0")
        assert command_line[command_line.index(b"-Q") + 1] == queue.encode()
    assert "Journée régionale" in requests.get(dev.site + "/", timeout=10).text

    page, _ = register_and_confirm(dev, "anne@example.org")

    assert "rendez-vous@bretagne-solidaire.test" in page  # the worker read MAIL_FROM from .env
    assert_invite_downloads(dev, page)
    assert Path(dev_env["EMGAV_INSTANCE_DIR"], "mail").glob("*.eml")
    assert_stops_cleanly(dev)


def test_make_run_with_the_embedded_broker(dev_env, start_dev):
    dev = start_dev(dict(dev_env, EMGAV_DEV_BROKER="embedded"))

    broker_file = Path(dev_env["EMGAV_INSTANCE_DIR"]) / "broker.sqlite"
    assert f"broker   embedded SQLAlchemy broker on {broker_file}" in dev.log()
    assert set(dev.pids()) == {"mail", "worker", "bulk", "beat", "web"}

    # The web process queues the mails in broker.sqlite; the worker process takes them from there.
    page, _ = register_and_confirm(dev, "bleunwenn@example.org")

    assert "deliver_mail" in dev.log() and "sqla+sqlite:" in dev.log()
    assert_invite_downloads(dev, page)
    assert_stops_cleanly(dev)


@pytest.fixture
def own_redis():
    """A Redis of this test's own, apart from the suite's broker (which the suite empties between tests)."""
    server = support.RedisServer()
    server.start()
    yield server
    server.stop()


def test_make_run_uses_redis_at_redis_url_when_it_answers(dev_env, start_dev, own_redis):
    dev = start_dev(dict(dev_env, REDIS_URL=own_redis.url))

    assert f"broker   Redis at {own_redis.url} (REDIS_URL)" in dev.log()
    mailbox_message_after_registering = register_and_confirm(dev, "corentin@example.org")
    assert "registration_confirmed" in mailbox_message_after_registering[0]
    assert_stops_cleanly(dev)


def test_without_redis_the_embedded_broker_is_the_fallback_and_a_dying_process_stops_the_others(
        dev_env, start_dev):
    # No Redis answers, and no redis-server on the PATH.
    dev = start_dev(dict(dev_env, PATH=str(support.VENV_BIN)))
    assert "redis-server is not installed)" in dev.log()
    assert "broker   embedded SQLAlchemy broker" in dev.log()
    pids = dev.pids()

    os.kill(pids["web"], signal.SIGKILL)

    assert dev.proc.wait(60) == 1
    assert "web stopped (rc=-9)" in dev.log()
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not support.port_open(dev.mail_port)


def test_the_app_its_web_server_and_its_workers_do_not_load_the_development_tooling(base_env):
    # What gunicorn (`webapp:create_app()`) and a Celery worker (`tasks:celery_app`) import, and the CLI module.
    code = ("import sys, webapp, tasks, webapp.cli; webapp.create_app(); "
            "print(sorted(m for m in sys.modules if m.startswith(('webapp.dev', 'honcho', 'aiosmtpd'))))")
    result = subprocess.run([sys.executable, "-c", code], env=base_env, cwd=support.ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_the_development_commands_are_listed_and_documented(base_env):
    assert {"dev", "mailcatcher"} <= set(re.findall(r"^  (\S+)", support.run_emgav(base_env, "--help").stdout, re.M))
    assert "[auto|redis|private|embedded]" in support.run_emgav(base_env, "dev", "--help").stdout
    assert "--http-port" in support.run_emgav(base_env, "mailcatcher", "--help").stdout


def test_without_the_development_packages_emgav_dev_says_what_to_install(base_env, tmp_path):
    # A server install (the Dockerfile's `[server]` extra) has no honcho: hide it from the command.
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['honcho'] = None\n")
    env = dict(base_env, PYTHONPATH=str(tmp_path))
    result = support.run_emgav(env, "dev", check=False)
    assert result.returncode == 1
    assert "needs the development packages (honcho is missing)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_a_clear_error(dev_env):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = support.run_emgav(dev_env, "dev", "--port", str(port), check=False)
    assert result.returncode == 1
    assert f"port {port} (web server) is already in use" in result.stderr
    assert "Traceback" not in result.stderr


# --- The mail catcher alone ---

def sample_message(number):
    message = EmailMessage()
    message["From"] = "Emgav <noreply@emgav.test>"
    message["To"] = "Anne Le Goff <anne@example.org>"
    message["Subject"] = f"Message n° {number}"
    message["X-Emgav-Kind"] = "registration_confirmed"
    message.set_content("Bonjour Anne,\nvotre lien : http://127.0.0.1:5000/manage/abc\n")
    message.add_alternative('<html><head><title>t</title></head><body><p>Bonjour <a href="http://127.0.0.1:5000/'
                            'manage/abc">Gérer</a></p><script>alert(1)</script></body></html>', subtype="html")
    message.add_attachment(b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n", maintype="text",
                           subtype="calendar", filename="invitation.ics")
    return message


def test_the_mail_catcher_keeps_and_shows_every_message(base_env, tmp_path):
    smtp_port, http_port = support.free_port(), support.free_port()
    catcher = support.Process(
        [str(support.VENV_BIN / "emgav"), "mailcatcher", "--smtp-port", str(smtp_port), "--http-port", str(http_port),
         "--directory", str(tmp_path / "mail")], base_env, "mailcatcher")
    try:
        support.wait_until(lambda: support.port_open(http_port) and support.port_open(smtp_port),
                           message="the mail catcher to listen")
        hostile = sample_message(3)
        hostile.replace_header("Subject", '<img src=x onerror="alert(3)">')
        with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
            smtp.send_message(sample_message(1))
            smtp.send_message(sample_message(2))
            smtp.send_message(hostile)
        mailbox = f"http://127.0.0.1:{http_port}"

        index = requests.get(mailbox + "/", timeout=10).text
        assert index.index("Message n° 2") < index.index("Message n° 1")  # newest first
        assert "Anne Le Goff &lt;anne@example.org&gt;" in index
        assert '<td class="kind">registration_confirmed</td>' in index
        assert len(list((tmp_path / "mail").glob("*.eml"))) == 3

        # Headers are shown as text, never as markup (autoescaped templates).
        escaped = "&lt;img src=x onerror=&#34;alert(3)&#34;&gt;"
        hostile_path = re.search(r'href="(/messages/[^"]+)">' + re.escape(escaped) + "<", index).group(1)
        hostile_page = requests.get(mailbox + hostile_path, timeout=10).text
        assert "<img" not in index + hostile_page
        assert f"<h1>{escaped}</h1>" in hostile_page

        path = re.search(r'href="(/messages/[^"]+)">Message n° 1<', index).group(1)
        page = requests.get(mailbox + path, timeout=10).text
        assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
        assert "votre lien : http://127.0.0.1:5000/manage/abc" in page  # the text part
        assert "<th scope=\"row\">X-Emgav-Kind</th>" in page  # the headers

        html = requests.get(mailbox + path + "/html", timeout=10)
        assert html.text.startswith('<html><head><base target="_blank">')  # links open in a new tab
        assert html.headers["Content-Security-Policy"].startswith("sandbox allow-popups")  # even opened alone

        [(part, filename)] = re.findall(r'<a href="(/messages/[^"]+/parts/\d+)">([^<]+)</a>', page)
        download = requests.get(mailbox + part, timeout=10)
        assert filename == "invitation.ics"
        assert download.headers["Content-Type"].startswith("text/calendar")
        assert download.headers["Content-Disposition"] == "attachment; filename=invitation.ics"
        assert download.content == b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"

        raw = requests.get(mailbox + path + ".eml", timeout=10)
        assert raw.headers["Content-Type"] == "message/rfc822"
        assert raw.content.startswith(b"From: Emgav <noreply@emgav.test>\r\nTo: Anne Le Goff")
        for bad in ("/messages/..%2f..%2fetc%2fpasswd", "/messages/123-deadbeef", path + "/parts/99"):
            assert requests.get(mailbox + bad, timeout=10).status_code == 404
    finally:
        catcher.stop()
    assert catcher.proc.returncode == 0, catcher.log()  # SIGTERM stops it cleanly
