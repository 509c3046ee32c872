"""`emgav dev` (what `make run` ends with): the whole service on one machine.

It starts, as child processes, the web server (`emgav run`), a Celery worker and Celery
beat, with a local mail catcher in this process, then watches them: Ctrl-C (or SIGTERM)
stops everything cleanly, and if one child dies the others are stopped too.

The broker is chosen in this order (`--broker auto`, the default):
1. Redis at `REDIS_URL`, when it answers;
2. else a private `redis-server` on a free port (data in `instance/redis/`), when installed;
3. else an embedded broker that is still a real queue across processes: kombu's SQLAlchemy
   transport on `instance/broker.sqlite`.

The children inherit this process's environment (with `.env` already read by the `emgav`
command), plus the mail catcher as SMTP server, `BASE_URL` of the web server and the broker.
"""
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .mailcatcher import MailCatcher

BROKER_MODES = ("auto", "redis", "private", "embedded")
START_TIMEOUT = 60  # seconds for a server to listen
STOP_TIMEOUT = 20  # seconds for a child to stop before it is killed


def echo(message):
    click.echo(f"{'dev':<7}| {message}")


def port_is_free(host, port):
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_answers(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def redis_answers(url):
    import redis

    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except (redis.RedisError, OSError, ValueError):
        return False


def _script(name):
    """A console script of this virtual environment (`emgav`, `celery`)."""
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else shutil.which(name) or name


class Child:
    """One child process; a thread relays its output, each line prefixed with its name."""

    def __init__(self, name, args, env, print_lock):
        self.name = name
        self.process = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches `emgav dev` only: it stops the children in order
        )
        self._print_lock = print_lock
        self.output = threading.Thread(target=self._relay, name=f"output-{name}", daemon=True)
        self.output.start()

    def _relay(self):
        for line in iter(self.process.stdout.readline, b""):
            with self._print_lock:
                sys.stdout.write(f"{self.name:<7}| {line.decode(errors='replace')}")
                sys.stdout.flush()


class DevStack:
    """The child processes, started and stopped together."""

    def __init__(self):
        self.children = []
        self._print_lock = threading.Lock()

    def start(self, name, args, env=None):
        child = Child(name, args, env, self._print_lock)
        self.children.append(child)
        return child

    def wait_for_port(self, child, host, port):
        deadline = time.monotonic() + START_TIMEOUT
        while not port_answers(host, port):
            if child.process.poll() is not None:
                raise click.ClickException(f"{child.name} stopped while starting (exit code {child.process.returncode})")
            if time.monotonic() > deadline:
                raise click.ClickException(f"{child.name} did not listen on {host}:{port} in {START_TIMEOUT} s")
            time.sleep(0.1)

    def watch(self):
        """Block until Ctrl-C (returns 0) or until a child dies (returns 1)."""
        try:
            while True:
                for child in self.children:
                    if child.process.poll() is not None:
                        echo(f"{child.name} stopped (exit code {child.process.returncode}): stopping the others")
                        return 1
                time.sleep(0.3)
        except KeyboardInterrupt:
            echo("stopping…")
            return 0

    def stop(self):
        """Stop the children, last started first (the broker last)."""
        # A second Ctrl-C must not leave children behind: ignore it, they are killed after a while.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.terminate()  # the child stops its own processes (e.g. the worker's pool)
                try:
                    child.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    echo(f"{child.name} did not stop in {STOP_TIMEOUT} s: killing it")
            try:  # whatever is left in its process group
                os.killpg(child.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.process.wait()
            child.output.join(5)


@dataclass
class Broker:
    description: str
    env: dict  # variables for the children


def choose_broker(mode, stack, instance):
    """Pick the broker as the module docstring says; may start a private redis-server."""
    config = current_app.config
    redis_url = config["REDIS_URL"]
    if mode == "auto" and config["CELERY_BROKER_URL"]:
        url = config["CELERY_BROKER_URL"]
        return Broker(f"{url} (CELERY_BROKER_URL)", {"CELERY_BROKER_URL": url})
    if mode in ("auto", "redis") and redis_answers(redis_url):
        return Broker(f"Redis at {redis_url} (REDIS_URL)", {"CELERY_BROKER_URL": redis_url})
    if mode == "redis":
        raise click.ClickException(f"Redis does not answer at REDIS_URL={redis_url}")
    if mode == "auto":
        reason = f"nothing answers at REDIS_URL={redis_url}"
    else:
        reason = f"asked for with --broker {mode}"
    if mode in ("auto", "private") and shutil.which("redis-server"):
        return start_private_redis(stack, instance, reason)
    if mode == "private":
        raise click.ClickException("redis-server is not installed (sudo apt-get install redis-server)")
    if mode == "auto":
        reason += " and redis-server is not installed"
    return embedded_broker(instance, reason)


def start_private_redis(stack, instance, reason):
    port = free_port()
    directory = instance / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    child = stack.start("redis", [
        shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
        "--save", "60 1", "--appendonly", "no",
    ])
    stack.wait_for_port(child, "127.0.0.1", port)
    url = f"redis://127.0.0.1:{port}/0"
    return Broker(f"private redis-server at {url}, data in {directory} ({reason})",
                  {"REDIS_URL": url, "CELERY_BROKER_URL": url})


def embedded_broker(instance, reason):
    """kombu's SQLAlchemy transport on a SQLite file: a real queue shared by the processes."""
    from kombu import Connection

    path = instance / "broker.sqlite"
    with sqlite3.connect(path) as db:  # WAL: the web can publish while the worker polls
        db.execute("PRAGMA journal_mode=WAL")
    url = f"sqla+sqlite:///{path}"
    # Create the tables and the queue now, not concurrently from three processes.
    with Connection(url) as connection:
        connection.SimpleQueue("celery").close()
    return Broker(f"embedded SQLAlchemy broker on {path} ({reason})",
                  {"CELERY_BROKER_URL": url, "RATELIMIT_STORAGE_URI": "memory://"})


@click.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address of the web server.")
@click.option("--port", type=int, default=5000, show_default=True, envvar="PORT",
              help="Port of the web server (env PORT).")
@click.option("--smtp-port", type=int, default=1025, show_default=True, envvar="EMGAV_DEV_SMTP_PORT",
              help="SMTP port of the mail catcher (env EMGAV_DEV_SMTP_PORT).")
@click.option("--mail-port", type=int, default=8025, show_default=True, envvar="EMGAV_DEV_MAIL_PORT",
              help="Port of the mail catcher's web mailbox (env EMGAV_DEV_MAIL_PORT).")
@click.option("--broker", "broker_mode", type=click.Choice(BROKER_MODES), default="auto", show_default=True,
              envvar="EMGAV_DEV_BROKER", help="Which broker to use (env EMGAV_DEV_BROKER).")
@with_appcontext
def dev_command(host, port, smtp_port, mail_port, broker_mode):
    """Run the web server, a Celery worker, Celery beat and a local mail catcher."""
    for label, number in (("web server", port), ("SMTP", smtp_port), ("mailbox", mail_port)):
        if not port_is_free(host if label == "web server" else "127.0.0.1", number):
            raise click.ClickException(f"port {number} ({label}) is already in use: choose another one "
                                       f"(emgav dev --help), e.g. PORT=5001 make run")
    instance = Path(current_app.config["INSTANCE_DIR"])
    instance.mkdir(parents=True, exist_ok=True)
    site_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    site_url = f"http://{site_host}:{port}"

    # Ctrl-C (even when started in the background, where SIGINT is ignored) and SIGTERM both stop.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    mail = MailCatcher(instance / "mail", "127.0.0.1", smtp_port, mail_port)
    stack = DevStack()
    exit_code = 1
    try:
        mail.start()
        broker = choose_broker(broker_mode, stack, instance)
        env = dict(
            os.environ, **broker.env, PYTHONUNBUFFERED="1", EMGAV_INSTANCE_DIR=str(instance), BASE_URL=site_url,
            SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), SMTP_SECURITY="none", SMTP_USERNAME="",
            SMTP_PASSWORD="",
        )
        celery = [_script("celery"), "-A", "tasks:celery_app"]
        stack.start("worker", [*celery, "worker", "--loglevel=INFO", "--concurrency=2",
                               "--without-gossip", "--without-mingle", "--without-heartbeat"], env)
        stack.start("beat", [*celery, "beat", "--loglevel=INFO", "--schedule", str(instance / "celerybeat-schedule")],
                    env)
        web = stack.start("web", [_script("emgav"), "run", "--host", host, "--port", str(port), "--no-reload"], env)
        stack.wait_for_port(web, site_host, port)
        echo("Emgav is running:")
        echo(f"  site     {site_url}/")
        echo(f"  mailbox  {mail.web_url}  (SMTP 127.0.0.1:{smtp_port}, messages in {mail.store.directory})")
        echo(f"  broker   {broker.description}")
        echo("  " + ", ".join(f"{c.name} (pid {c.process.pid})" for c in stack.children))
        echo("Ctrl-C stops everything.")
        exit_code = stack.watch()
    except KeyboardInterrupt:
        echo("stopping…")
        exit_code = 0
    finally:
        stack.stop()
        mail.stop()
        echo("stopped.")
    sys.exit(exit_code)
