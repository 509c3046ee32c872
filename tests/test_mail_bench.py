"""The benchmark of `make bench-mailing` (not a test: it prints figures): a mailing to N synthetic
people (EMGAV_BENCH_RECIPIENTS, default 10,000) sent through the real pipeline (Redis, the bulk
worker as `make run` starts it, templates rendered per person) to a local aiosmtpd sink in its
own process; then, to the same sink, as many comparable messages (same size and MIME shape,
built one by one with the standard `email` package) sent by a bare smtplib loop in one process
over one connection. Prints both rates, their ratio, the worker's peak memory and the time to
the first mail. Database: the suite's SQLite file, or PostgreSQL with EMGAV_BENCH_DATABASE=postgresql."""
import multiprocessing
import os
import smtplib
import subprocess
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.mail.message import build_message
from webapp.models import OutboxMail
from webapp.models.base import utcnow
from webapp.services import mailings

from . import support
from .test_mail_delivery import mailing_to

RECIPIENTS = int(os.environ.get("EMGAV_BENCH_RECIPIENTS", "10000"))


class _CountingHandler:
    def __init__(self, count, first, last):
        self.count, self.first, self.last = count, first, last

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        with self.count.get_lock():
            if self.count.value == 0:
                self.first.value = now
            self.count.value += 1
            self.last.value = now
        return "250 OK"


def _run_sink(port, count, first, last, ready):
    from aiosmtpd.controller import Controller

    controller = Controller(_CountingHandler(count, first, last), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


class Sink:
    """aiosmtpd in a process of its own, counting the messages and the times of the first and last."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.port = support.free_port()
        self.count, self.first, self.last = context.Value("l", 0), context.Value("d", 0.0), context.Value("d", 0.0)
        ready = context.Event()
        self.process = context.Process(target=_run_sink, args=(self.port, self.count, self.first, self.last, ready),
                                       daemon=True)
        self.process.start()
        assert ready.wait(30)

    def reset(self):
        with self.count.get_lock():
            self.count.value = 0

    def wait_for(self, count, timeout=900):
        support.wait_until(lambda: self.count.value >= count, timeout=timeout, interval=0.02,
                           message=f"{count} messages at the sink")
        return self.first.value, self.last.value

    def stop(self):
        self.process.kill()
        self.process.join(10)


def peak_rss_kib(pid):
    """Peak resident memory (VmHWM, KiB) of a process and of its children: (largest, sum)."""
    pids = [pid] + [int(child) for child in
                    open(f"/proc/{pid}/task/{pid}/children").read().split()]
    peaks = []
    for each in pids:
        for line in open(f"/proc/{each}/status"):
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return max(peaks), sum(peaks)


def bare_message(number, sample):
    """A message of the sample's size and MIME shape (multipart/alternative: text, HTML), built
    with the standard email package only."""
    text, html = sample.get_body(("plain",)).get_content(), sample.get_body(("html",)).get_content()
    name = f"Prénom{number} Nom{number}"
    message = EmailMessage()
    message["Subject"] = sample["Subject"]
    message["From"] = sample["From"]
    message["To"] = f"{name} <personne{number}@example.org>"
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain="emgav.test")
    for header in ("Reply-To", "Auto-Submitted", "X-Emgav-Kind", "List-Unsubscribe", "List-Unsubscribe-Post",
                   "Precedence"):
        message[header] = sample[header]
    message.set_content(f"Bonjour {name},\n" + text[len(name) + 10:])
    message.add_alternative(f"<p>Bonjour {name},</p>" + html[len(name) + 17:], subtype="html")
    message["Content-Language"] = "fr"
    return message


@pytest.mark.bench
@pytest.mark.timeout(3600)
def test_mailing_rate_against_a_bare_smtplib_loop(request, app, base_env, capsys):
    target = app
    if os.environ.get("EMGAV_BENCH_DATABASE") == "postgresql":
        from webapp import create_app

        target = create_app({"TESTING": True,
                             "SQLALCHEMY_DATABASE_URI": request.getfixturevalue("pg_env")["DATABASE_URL"]})
    sink = Sink()
    env = dict(base_env, SMTP_PORT=str(sink.port), DATABASE_URL=target.config["SQLALCHEMY_DATABASE_URI"])
    worker = support.start_worker(env, concurrency=2, queues="bulk")  # as `make run` starts it
    try:
        with target.test_request_context():
            mailing = mailing_to(RECIPIENTS)
            target.config["SMTP_PORT"] = sink.port
            mailings.send_now(mailing, mailing.created_by)  # the worker fans it out, then sends the batches
            started = time.time()
            first, last = sink.wait_for(RECIPIENTS)
            pipeline_seconds = last - started
            peak, total = peak_rss_kib(worker.proc.pid)
            row = db.session.scalars(select(OutboxMail).where(OutboxMail.mailing_id == mailing.id)).first()
            sample = build_message(row)
            size = len(sample.as_bytes())
        sink.reset()

        began = time.time()
        with smtplib.SMTP("127.0.0.1", sink.port) as connection:
            for number in range(RECIPIENTS):
                connection.send_message(bare_message(number, sample))
        _, bare_last = sink.wait_for(RECIPIENTS)
        bare_seconds = bare_last - began
    finally:
        worker.stop()
        sink.stop()
        target.config["SMTP_PORT"] = int(base_env["SMTP_PORT"])

    pipeline_rate, bare_rate = RECIPIENTS / pipeline_seconds, RECIPIENTS / bare_seconds
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with capsys.disabled():
        print(f"\nmailing to {RECIPIENTS} people ({target.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}, "
              f"messages of {size} bytes):\n"
              f"  pipeline (fan-out, Redis, bulk worker -Q bulk --concurrency=2): {pipeline_rate:.0f} mails/s "
              f"({pipeline_seconds:.1f} s), first mail after {first - started:.2f} s\n"
              f"  bare smtplib loop, one process, one connection: {bare_rate:.0f} mails/s ({bare_seconds:.1f} s)\n"
              f"  ratio pipeline / bare loop: {pipeline_rate / bare_rate:.2f}\n"
              f"  bulk worker peak RSS: {peak / 1024:.0f} MiB in its largest process, "
              f"{total / 1024:.0f} MiB for the worker and its children\n"
              f"  machine: {load}")
