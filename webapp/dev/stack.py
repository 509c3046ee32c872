"""`emgav dev` (what `make run` ends with): the whole service on one machine.

honcho, a Procfile runner, runs the processes: the web server (`emgav run`), two Celery workers,
Celery beat, the mail catcher (`emgav mailcatcher`) and, when needed, a private redis-server.
The workers: `worker` for the default queue (transactional mail, every other task) and `bulk` for
batches of bulk mail, so that a large mailing never delays a confirmation.
It shows their output line by line under their names; Ctrl-C (or SIGTERM) stops them all, and
when one of them stops, it stops the others.

The broker is chosen in this order (`--broker auto`, the default):
1. `CELERY_BROKER_URL`, when set;
2. Redis at `REDIS_URL`, when it answers;
3. else a private `redis-server` on a free port (data in `instance/redis/`), when installed;
4. else an embedded broker that is still a real queue across processes: kombu's SQLAlchemy
   transport on `instance/broker.sqlite`.

The processes inherit this process's environment (with `.env` already read by the `emgav`
command), plus the mail catcher as SMTP server, `BASE_URL` of the web server and the broker.
"""
import os
import shlex
import shutil
import socket
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from honcho.manager import Manager
from honcho.printer import Message, Printer

from ..services.dispatch import BULK_QUEUE, DEFAULT_QUEUE

BROKER_MODES = ("auto", "redis", "private", "embedded")
WORKER_OPTIONS = ["--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
# honcho's exit code after SIGINT or SIGTERM; when a process stops by itself, it gives that one's.
STOPPED_BY_SIGNAL = (130, 143)


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


def own_line(text):
    """A line of `emgav dev` itself, printed among the processes' output."""
    return Message(type="line", data=text, time=datetime.now(), name="dev", colour=None)


@dataclass
class Broker:
    description: str
    env: dict  # variables for the processes
    server: list | None = None  # command line of the private redis-server to run with them


def choose_broker(mode, instance):
    """Pick the broker as the module docstring says."""
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
        return private_redis(instance, reason)
    if mode == "private":
        raise click.ClickException("redis-server is not installed (sudo apt-get install redis-server)")
    if mode == "auto":
        reason += " and redis-server is not installed"
    return embedded_broker(instance, reason)


def private_redis(instance, reason):
    """A redis-server on a free port, run by honcho with the others (Celery retries until it answers)."""
    port = free_port()
    directory = instance / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    url = f"redis://127.0.0.1:{port}/0"
    server = [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
              "--save", "60 1", "--appendonly", "no"]
    return Broker(f"private redis-server at {url}, data in {directory} ({reason})",
                  {"REDIS_URL": url, "CELERY_BROKER_URL": url}, server)


def embedded_broker(instance, reason):
    """kombu's SQLAlchemy transport on a SQLite file: a real queue shared by the processes."""
    from kombu import Connection

    path = instance / "broker.sqlite"
    with sqlite3.connect(path) as db:  # WAL: the web can publish while the worker polls
        db.execute("PRAGMA journal_mode=WAL")
    url = f"sqla+sqlite:///{path}"
    # Create the tables and the queues now, not concurrently from four processes.
    with Connection(url) as connection:
        for queue in (DEFAULT_QUEUE, BULK_QUEUE):
            connection.SimpleQueue(queue).close()
    return Broker(f"embedded SQLAlchemy broker on {path} ({reason})",
                  {"CELERY_BROKER_URL": url, "RATELIMIT_STORAGE_URI": "memory://"})


def announce_when_ready(manager, addresses, lines):
    """Print `lines` once every (host, port) of `addresses` answers (a daemon thread: gone on exit)."""
    while not all(port_answers(host, port) for host, port in addresses):
        time.sleep(0.2)
    for text in lines:
        manager.events.put(own_line(text))  # printed by honcho's loop, between whole lines


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
    """Run the web server, the Celery workers, Celery beat and a local mail catcher."""
    for label, number in (("web server", port), ("SMTP", smtp_port), ("mailbox", mail_port)):
        if not port_is_free(host if label == "web server" else "127.0.0.1", number):
            raise click.ClickException(f"port {number} ({label}) is already in use: choose another one "
                                       f"(emgav dev --help), e.g. PORT=5001 make run")
    instance = Path(current_app.config["INSTANCE_DIR"])
    instance.mkdir(parents=True, exist_ok=True)
    site_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    site_url = f"http://{site_host}:{port}"
    mail_directory = instance / "mail"

    broker = choose_broker(broker_mode, instance)
    env = dict(
        os.environ, **broker.env, PYTHONUNBUFFERED="1", EMGAV_INSTANCE_DIR=str(instance), BASE_URL=site_url,
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port), SMTP_SECURITY="none", SMTP_USERNAME="", SMTP_PASSWORD="",
    )
    celery = [_script("celery"), "-A", "tasks:celery_app"]
    processes = {
        "redis": broker.server,
        "mail": [_script("emgav"), "mailcatcher", "--smtp-port", str(smtp_port), "--http-port", str(mail_port),
                 "--directory", str(mail_directory)],
        # Transactional mail and the other tasks on the default queue; bulk mail on its own (see the
        # module docstring).
        "worker": [*celery, "worker", "-Q", DEFAULT_QUEUE, "--concurrency=1", *WORKER_OPTIONS],
        "bulk": [*celery, "worker", "-Q", BULK_QUEUE, "--concurrency=2", "--hostname=bulk@%h", *WORKER_OPTIONS],
        "beat": [*celery, "beat", "--loglevel=INFO", "--schedule", str(instance / "celerybeat-schedule")],
        "web": [_script("emgav"), "run", "--host", host, "--port", str(port), "--no-reload"],
    }
    printer = Printer(sys.stdout)
    manager = Manager(printer)
    for name, args in processes.items():
        if args:  # honcho runs a shell command; `exec`: the pid it shows is the program's own
            manager.add_process(name, "exec " + shlex.join(args), env=env)

    banner = [
        "Emgav is running:",
        f"  site     {site_url}/",
        f"  mailbox  http://127.0.0.1:{mail_port}/  (SMTP 127.0.0.1:{smtp_port}, messages in {mail_directory})",
        f"  broker   {broker.description}",
        "Ctrl-C stops everything.",
    ]
    ready = [(site_host, port), ("127.0.0.1", smtp_port), ("127.0.0.1", mail_port)]
    threading.Thread(target=announce_when_ready, args=(manager, ready, banner), daemon=True).start()
    manager.loop()  # until Ctrl-C, SIGTERM or one process stopping; then every process is stopped
    printer.write(own_line("stopped."))
    sys.exit(0 if manager.returncode in STOPPED_BY_SIGNAL else 1)
