"""Many OS processes on one store: commands, workers and view runners racing.

Command processes issue random commands on overlapping documents while
worker processes send reminders and emails (to a real SMTP server) and keep
the read models following the log. A fast clock makes reminders fall due
within the run. Afterwards every rule holds, every read model equals a
rebuild, and no reminder or email was duplicated or lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from approvalflow import ReminderPolicy, connect
from approvalflow.links import PortalLinks
from approvalflow.notifications.emails import EmailComposer
from approvalflow.notifications.mailers import SMTPMailer
from approvalflow.testing import ControllableClock
from tests.helpers import START, eventually, make_busy_directory, postgres_url
from tests.smtp_server import SMTPTestServer

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 8.0
SPEED = 86_400 * 2.0  # a day every half second

COMMANDS = """
import random, sys, time
from approvalflow import ApprovalFlowError, ReminderPolicy, connect
from tests.helpers import START, FastClock, make_busy_directory
url, seed, started, until = {url!r}, {seed}, {started}, {until}
rng = random.Random(seed)
clock = FastClock(START, started, {speed})
done = {{}}
with connect(url, directory=make_busy_directory(), clock=clock,
             refresh_views_after_write=False, refresh_views_on_read=False) as app:
    while time.time() < until:
        doc = f"b{{rng.randrange(12)}}"
        client = "g1" if int(doc[1:]) % 3 == 0 else rng.choice(["c1", "c2"])
        action = rng.choice(
            ["request", "request", "resend", "approve", "reject", "cancel"])
        try:
            if action == "request":
                app.request_approval(doc, by=rng.choice(["f1", "f2"]),
                                     reminders=ReminderPolicy(1, rng.randint(1, 3)))
            elif action == "resend":
                app.resend(doc, by="f2")
            elif action == "approve":
                app.approve(doc, by=client)
            elif action == "reject":
                app.reject(doc, by=client, reasons=["Not yet"])
            else:
                app.cancel(doc, by="f1")
            outcome = "ok"
        except ApprovalFlowError as exc:
            outcome = type(exc).__name__
        done[outcome] = done.get(outcome, 0) + 1
        time.sleep(rng.uniform(0, 0.05))  # let some requests sit long enough to remind
print(done, flush=True)
"""

WORKER = """
import signal, time
from approvalflow import connect
from approvalflow.links import PortalLinks
from approvalflow.notifications.emails import EmailComposer
from approvalflow.notifications.mailers import SMTPMailer
from approvalflow.testing import RecordingPortal
from approvalflow.worker import Worker
from tests.helpers import START, FastClock, make_busy_directory
clock = FastClock(START, {started}, {speed})
mailer = SMTPMailer("127.0.0.1", {port}, security="none", timeout=5)
with connect({url!r}, directory=make_busy_directory(), clock=clock,
             refresh_views_after_write=False, refresh_views_on_read=False) as app:
    composer = EmailComposer(sender="a@firm.example", firm_name="F")
    notifier = app.notifier(mailer=mailer, links=PortalLinks("https://portal.firm.test"),
                            portal=RecordingPortal(), composer=composer)
    worker = Worker(app, notifier, interval=0.05)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    with app.follow(interval=0.05) as runner:
        worker.run()
    assert runner.error is None, runner.error
print("stopped", flush=True)
"""


def spawn(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        # The checkout's own src first: an installed copy must not stand in.
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def race(url: str, commanders: int, workers: int) -> None:
    """Run the processes, check every rule afterwards."""
    with connect(url, directory=make_busy_directory()) as app:
        app.delivery_backlog()  # create the tables once, before the race
    with SMTPTestServer() as server:
        started = time.time()
        until = started + RUN_SECONDS
        fmt: dict[str, Any] = {"url": url, "started": started, "speed": SPEED}
        running = [
            spawn(WORKER.format(port=server.port, **fmt)) for _ in range(workers)
        ] + [
            spawn(COMMANDS.format(seed=i, until=until, **fmt))
            for i in range(commanders)
        ]
        commanded = []
        for process in running[workers:]:
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
            commanded.append(out)
        # The workers catch up with the last commands, and record reminders
        # (due within a second on the fast clock), before they are stopped.
        with connect(url, directory=make_busy_directory()) as watcher:
            eventually(
                lambda: caught_up(watcher) and reminded(watcher),
                "the workers never caught up with the commands and reminders",
                every=0.5,
            )
        for process in running[:workers]:
            process.send_signal(signal.SIGTERM)
        for process in running[:workers]:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            assert "stopped" in out

        # Whatever the workers left (stopped mid-backlog) is delivered now,
        # as the next worker start would.
        from tests.helpers import FastClock  # noqa: PLC0415

        clock = FastClock(START, started, SPEED)
        with connect(url, directory=make_busy_directory(), clock=clock) as app:
            notifier = app.notifier(
                mailer=SMTPMailer("127.0.0.1", server.port, security="none", timeout=5),
                links=PortalLinks("https://portal.firm.test"),
                composer=EmailComposer(sender="a@firm.example", firm_name="F"),
            )
            while notifier.run_once().events:
                pass
        # The checks at one frozen instant of the fast clock: on a busy
        # machine the checks take long enough in real time for the fast
        # clock to carry the documents out of the recent list's 30 days
        # between reading the live lists and reading them after a rebuild.
        frozen = ControllableClock(clock.now())
        with connect(url, directory=make_busy_directory(), clock=frozen) as app:
            check_everything(app, server)
    # The commanders really raced: many commands went through.
    assert (
        sum(
            int(out.split("'ok': ")[1].split(",")[0].rstrip("}\n")) for out in commanded
        )
        >= 20
    )


def caught_up(app: Any) -> bool:
    """Every recorded event has been delivered."""
    backlog = app.delivery_backlog()
    return bool(backlog.position == backlog.head)


def reminded(app: Any) -> bool:
    """Some worker has recorded a reminder."""
    return any(
        entry.event == "Reminded" for i in range(12) for entry in app.history(f"b{i}")
    )


def check_everything(app: Any, server: SMTPTestServer) -> None:
    docs = [f"b{i}" for i in range(12)]
    decisions = ("Approved", "Rejected", "Cancelled")
    requested = reminded = 0
    for doc in docs:
        cycles = app.cycles(doc)
        # At most one pending cycle, and only the latest.
        assert not any(c.is_pending for c in cycles[:-1])
        history = app.history(doc)
        for cycle in cycles:
            events = [h for h in history if h.details.get("cycle") == cycle.number]
            closing = [h.event for h in events if h.event in decisions]
            assert len(closing) == (0 if cycle.is_pending else 1), (doc, cycle.number)
            # Reminders: numbered 1, 2, ... within each schedule, never twice.
            numbers: list[int] = []
            for h in events:
                if h.event in ("Requested", "Resent"):
                    numbers = []
                if h.event == "Reminded":
                    numbers.append(h.details["number"])
                    assert numbers == list(range(1, len(numbers) + 1)), (doc, numbers)
                    # Resends keep the policy here, so the cycle's is the one.
                    assert cycle.reminders is not None
                    assert len(numbers) <= cycle.reminders.count
            requested += 1
            reminded += sum(h.event == "Reminded" for h in events)
    assert requested >= 12  # the race did plenty
    assert reminded >= 1  # and reminders fell due during it

    # Every read model equals a full rebuild.
    # One instant for both: the fast clock moves hours during a rebuild, and
    # a reminder falling due in between is not a difference in the models.
    now = app.clock.now()
    before = lists(app, docs, now)
    app.rebuild_views()
    assert lists(app, docs, now) == before

    # Every email recorded as sent reached the server exactly once; none else.
    received = Counter(str(m["Message-ID"]) for m in server.messages())
    assert set(received.values()) == {1}, [k for k, v in received.items() if v > 1]
    sent_by_report = 0
    for doc in docs:
        for entry in app.audit_trail(doc):
            if entry.event == "Notified":
                emails = [
                    d
                    for d in entry.details["report"]["deliveries"]
                    if d["channel"] == "email"
                ]
                sent_by_report += sum(d["outcome"] == "sent" for d in emails)
    assert sent_by_report == sum(received.values())
    backlog = app.delivery_backlog()
    assert backlog.position == backlog.head
    assert backlog.waiting == ()


def lists(app: Any, docs: list[str], now: datetime) -> Any:
    return (
        app.recent(limit=500),
        app.approvals_tab("acme", limit=500),
        app.approvals_tab("globex", limit=500),
        app.accounts_pending(),
        [app.views.rejections(d) for d in docs],
        [app.audit_trail(d) for d in docs],
        app.views.due_reminders(now, 100),
    )


def test_four_commanders_and_two_workers_on_postgres(postgres: Any) -> None:
    race(postgres_url(postgres), commanders=4, workers=2)


def test_two_commanders_and_two_workers_on_sqlite(tmp_path: Path) -> None:
    race(f"sqlite:///{tmp_path / 'race.sqlite3'}", commanders=2, workers=2)


def test_the_race_check_compares_live_and_rebuilt_at_one_instant(
    tmp_path: Path,
) -> None:
    """What once looked like drift: the due list read at two instants.

    The races above run a fast clock; a rebuild takes hours of it, so a
    reminder can fall due between reading the live lists and the rebuilt
    ones. Read at one instant, live and rebuilt read models are equal.
    """
    clock = ControllableClock(START)
    docs = [f"b{i}" for i in range(12)]
    url = f"sqlite:///{tmp_path / 'one.sqlite3'}"
    with connect(url, directory=make_busy_directory(), clock=clock) as app:
        app.request_approval("b2", by="f1", reminders=ReminderPolicy(1, 2))
        clock.advance(hours=23)  # the first reminder falls due at one day
        earlier = clock.now()
        before = lists(app, docs, earlier)
        live = app.views.document("b2")
        clock.advance(hours=2)  # what a rebuild is worth on the fast clock
        app.rebuild_views()
        assert app.views.document("b2") == live
        assert live is not None
        assert live.next_reminder_at == app.status("b2").next_reminder_at
        assert lists(app, docs, earlier) == before
        # Read at the later instant, b2 is due: the two readings differ.
        assert lists(app, docs, clock.now())[6] == ["b2"] != before[6]
        assert earlier + timedelta(hours=2) == clock.now()
