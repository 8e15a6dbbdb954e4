"""Workers as real processes, a real SMTP server, outages and clean stops."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from approvalflow import (
    Approvals,
    BatchRequest,
    DocumentFacts,
    ReminderPolicy,
    connect,
)
from approvalflow.notifications.emails import EmailComposer
from approvalflow.notifications.mailers import SMTPMailer
from approvalflow.testing import ControllableClock, StaticLinks
from tests.helpers import eventually, make_directory
from tests.smtp_server import SMTPTestServer, free_port

ROOT = Path(__file__).resolve().parents[2]
DOCS = 30


def worker_command(db: Path, port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "approvalflow.cli",
        "worker",
        "--db",
        str(db),
        "--directory",
        "tests.helpers:make_directory",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--smtp-security",
        "none",
        "--sender",
        "cabinet@firm.example",
        "--firm-name",
        "Martin",
        "--portal-url",
        "https://portal.firm.example",
        *extra,
    ]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def populate(db: Path) -> None:
    """Requests recorded ten days ago, each now due for its one reminder."""
    directory = make_directory()
    for i in range(DOCS):
        directory.add_document(
            DocumentFacts(f"x{i}", "acme", f"Doc {i}", "pdf", "Anna")
        )
    past = ControllableClock(datetime.now(UTC) - timedelta(days=10))
    with connect(f"sqlite:///{db}", directory=directory, clock=past) as app:
        app.request_approvals(
            [
                BatchRequest(f"x{i}", reminders=ReminderPolicy(1, 1))
                for i in range(DOCS)
            ],
            by="f1",
        )


def delivered(app: Approvals) -> bool:
    """Every recorded event has been delivered."""
    backlog = app.delivery_backlog()
    return backlog.position == backlog.head


def test_two_worker_processes_send_each_reminder_and_email_once(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite3"
    populate(db)
    with SMTPTestServer() as server:
        command = worker_command(db, server.port, "--interval", "0.05")
        workers = [
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=environment(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            with connect(f"sqlite:///{db}") as app:
                eventually(
                    lambda: delivered(app) and len(server.messages()) >= 2 * DOCS,
                    "the workers never delivered every request and reminder",
                )
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            outputs = [worker.communicate(timeout=60) for worker in workers]
        for worker, (_, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err
            assert "worker stopped" in err
        ids = Counter(str(m["Message-ID"]) for m in server.messages())
        assert len(ids) == 2 * DOCS  # a request and a reminder per document...
        assert set(ids.values()) == {1}  # ...each exactly once
        kinds = Counter(str(m["X-Approvalflow-Kind"]) for m in server.messages())
        assert kinds == {"request": DOCS, "reminder": DOCS}

    with connect(f"sqlite:///{db}") as app:
        for i in range(DOCS):
            events = [e.event for e in app.history(f"x{i}")]
            assert events.count("Reminded") == 1
            assert events.count("Notified") == 2
        backlog = app.delivery_backlog()
        assert backlog.waiting == ()
        assert backlog.lease_holder is None  # given up at the clean stop


def test_an_smtp_outage_mid_run_loses_nothing(tmp_path: Path) -> None:
    server = SMTPTestServer().start()
    clock = ControllableClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    mailer = SMTPMailer("127.0.0.1", server.port, security="none", timeout=2)
    composer = EmailComposer(sender="cabinet@firm.example", firm_name="Martin")
    directory = make_directory()
    directory.link("acme", "c2", notify=True)  # two recipients per request
    with connect(
        f"sqlite:///{tmp_path / 'outage.sqlite3'}", directory=directory, clock=clock
    ) as app:
        notifier = app.notifier(mailer=mailer, links=StaticLinks(), composer=composer)
        try:
            app.request_approvals(["d1", "d2"], by="f1")
            notifier.run_once(max_events=3)  # d1's request delivered, then...
            assert len(server.messages()) == 2
            server.stop()  # ...the server goes down
            app.request_approvals(["d3", "d4"], by="f1")
            app.approve("d1", by="c1")
            for _ in range(5):
                assert notifier.run_once().blocked
                clock.advance(minutes=10)
            assert len(server.messages()) == 2
            server.start()  # back, on the same port
            clock.advance(hours=1)
            while notifier.run_once().events:
                pass
        finally:
            server.stop()
        received = server.messages()
        ids = Counter(str(m["Message-ID"]) for m in received)
        assert set(ids.values()) == {1}
        documents = [str(m["X-Approvalflow-Document"]) for m in received]
        # Two clients for each of four requests, then the firm's one subscriber.
        assert documents == ["d1", "d1", "d2", "d2", "d3", "d3", "d4", "d4", "d1"]
        assert app.delivery_backlog().waiting == ()


def test_bad_smtp_settings_stop_the_worker_at_start_up(tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite3"
    down = subprocess.run(
        worker_command(db, free_port(), "--once"),
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert down.returncode == 1
    assert "cannot use SMTP server 127.0.0.1" in down.stderr
    neither = subprocess.run(
        [*worker_command(db, 25)[:8], "--sender", "a@b.example", "--firm-name", "F"],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert neither.returncode == 2
    assert (
        "give exactly one of --smtp-host (APPROVALFLOW_SMTP_HOST) and --mail-dir"
        " (APPROVALFLOW_MAIL_DIR)" in neither.stderr
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_worker_stops_cleanly_on_a_signal(tmp_path: Path, stop_signal: int) -> None:
    db = tmp_path / "stop.sqlite3"
    populate(db)
    with SMTPTestServer() as server:
        worker = subprocess.Popen(
            worker_command(db, server.port, "--interval", "0.05"),
            cwd=ROOT,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        eventually(
            lambda: len(server.messages()) >= 5,
            "the worker never sent five emails",
            every=0.02,
        )
        worker.send_signal(stop_signal)
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        assert "worker stopped" in err
        sent_before_restart = {str(m["Message-ID"]) for m in server.messages()}
        again = subprocess.run(
            worker_command(db, server.port, "--once"),
            cwd=ROOT,
            env=environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert again.returncode == 0, again.stderr
        for _ in range(20):  # a few more passes until the backlog is empty
            with connect(f"sqlite:///{db}") as app:
                backlog = app.delivery_backlog()
            if backlog.position == backlog.head:
                break
            subprocess.run(
                worker_command(db, server.port, "--once"),
                cwd=ROOT,
                env=environment(),
                check=True,
                capture_output=True,
            )
        assert backlog.position == backlog.head
        ids = Counter(str(m["Message-ID"]) for m in server.messages())
        assert set(ids.values()) == {1}  # nothing sent twice across the restart
        assert sent_before_restart <= set(ids)
        assert len(ids) == 2 * DOCS


KILLED_WORKER = """
import sys
from datetime import timedelta
from approvalflow import EmailComposer, SMTPMailer, Worker, connect
from approvalflow.testing import FixedComposer, StaticLinks
from tests.helpers import eventually, make_directory
url, port = sys.argv[1], int(sys.argv[2])
with connect(
    url,
    directory=make_directory(),
    mailer=SMTPMailer("127.0.0.1", port, security="none", timeout=5),
    links=StaticLinks("https://portal.example"),
    composer=EmailComposer(sender="cabinet@firm.example", firm_name="Martin"),
) as app:
    # A short lease, so the next worker takes over a killed one's quickly.
    notifier = app.notifier(composer=FixedComposer(), lease=timedelta(seconds=1))
    print("started", flush=True)
    Worker(app, notifier, interval=0.02).run()
"""

# CI kills 20 workers; a local run 5; APPROVALFLOW_KILLS sets it (long mode).
WORKER_KILLS = int(
    os.environ.get("APPROVALFLOW_KILLS", "20" if os.environ.get("CI") else "5")
)


def test_workers_killed_at_random_points_lose_no_email(tmp_path: Path) -> None:
    db = tmp_path / "killed.sqlite3"
    url = f"sqlite:///{db}"
    directory = make_directory()
    docs = [f"k{i}" for i in range(30 + WORKER_KILLS)]
    for doc in docs:
        directory.add_document(DocumentFacts(doc, "acme", doc.upper(), "pdf", "A"))
    with connect(url, directory=directory) as app:
        app.request_approvals(docs[:30], by="f1")
    rng = random.Random(29112026)
    with SMTPTestServer() as server:
        for kill in range(WORKER_KILLS):
            worker = subprocess.Popen(
                [sys.executable, "-c", KILLED_WORKER, url, str(server.port)],
                cwd=ROOT,
                env=environment(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "started"
            # New requests keep arriving while workers come and go.
            with connect(url, directory=directory) as app:
                app.request_approval(docs[30 + kill], by="f1")
            time.sleep(rng.uniform(0.0, 0.6))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=60)
        # One last worker, after the last lease ran out, finishes the queue.
        final = subprocess.Popen(
            [sys.executable, "-c", KILLED_WORKER, url, str(server.port)],
            cwd=ROOT,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            with connect(url) as app:
                eventually(
                    lambda: delivered(app) and not app.delivery_backlog().waiting,
                    "the last worker never finished the queue",
                )
        finally:
            final.send_signal(signal.SIGTERM)
            final.communicate(timeout=60)
        received = server.messages()
    requested = 30 + WORKER_KILLS
    by_id: dict[str, set[tuple[str, str]]] = {}
    for message in received:
        by_id.setdefault(str(message["Message-ID"]), set()).add(
            (str(message["To"]), str(message["Subject"]))
        )
    # Every request's email arrived; a repeat is the same message again.
    assert len(by_id) == requested
    assert all(len(copies) == 1 for copies in by_id.values())
    subjects = {subject for copies in by_id.values() for _, subject in copies}
    assert len(subjects) == requested
