"""Races between real OS processes on one store (an SQLite file, PostgreSQL).

Several processes wait at a barrier and then issue their command at the same
moment, document after document. The store must end with one winner and
clear errors for the others. CI races 200 documents per store; a local run
25 (``APPROVALFLOW_RACE_ROUNDS`` sets it).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from approvalflow import (
    Approvals,
    ApprovalState,
    BatchRequest,
    ReminderPolicy,
    connect,
)
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests.helpers import PATIENCE, START, make_directory, postgres_url

# Documents raced on, one after another.
ROUNDS = int(
    os.environ.get("APPROVALFLOW_RACE_ROUNDS", "200" if os.environ.get("CI") else "25")
)
TIMEOUT = PATIENCE  # for each barrier, result and join: a loaded machine is slow
DOCS = [f"d{i}" for i in range(1, ROUNDS + 1)]


def _run(app: Approvals, command: str, user: str, doc: str) -> object:
    if command == "request":
        return app.request_approval(doc, by=user).number
    if command == "approve":
        app.approve(doc, by=user)
    elif command == "reject":
        app.reject(doc, by=user, reasons=["Not right"])
    elif command == "cancel":
        app.cancel(doc, by=user)
    else:
        assert command == "remind", command
        return app.remind(doc)
    return None


def directory() -> InMemoryDirectory:
    """The test firm, with a document for every round."""
    found = make_directory()
    template = found.documents["d1"].facts
    for doc in DOCS:
        if found.document(doc) is None:
            found.add_document(attrs.evolve(template, document_id=doc))
    return found


def _worker(url: str, barrier: Any, results: Any, command: str, user: str) -> None:
    clock = ControllableClock(START + timedelta(days=10))
    with connect(url, directory=directory(), clock=clock) as app:
        for doc in DOCS:
            barrier.wait(timeout=TIMEOUT)
            try:
                outcome = _run(app, command, user, doc)
            except Exception as exc:
                results.put((command, doc, type(exc).__name__))
            else:
                results.put((command, doc, f"ok:{outcome}"))


def race(url: str, contenders: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Run each (command, user) in its own process, all at once, per document."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(contenders))
    results = ctx.Queue()
    processes = [
        ctx.Process(target=_worker, args=(url, barrier, results, command, user))
        for command, user in contenders
    ]
    for process in processes:
        process.start()
    outcomes = [
        results.get(timeout=TIMEOUT) for _ in range(len(contenders) * len(DOCS))
    ]
    for process in processes:
        process.join(timeout=TIMEOUT)
        assert process.exitcode == 0
    return outcomes


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return postgres_url(request.getfixturevalue("postgres"))
    return f"sqlite:///{tmp_path / 'race.sqlite3'}"


def test_simultaneous_first_requests_leave_one_pending_cycle(url: str) -> None:
    outcomes = race(url, [("request", "f1"), ("request", "f1"), ("request", "f2")])
    with connect(url) as app:
        for doc in DOCS:
            results = Counter(r for _, d, r in outcomes if d == doc)
            assert results == {"ok:1": 1, "AlreadyPendingError": 2}, (doc, results)
            assert [c.number for c in app.cycles(doc)] == [1]
            assert [e.event for e in app.history(doc)] == ["Created", "Requested"]


DECISION_EVENTS = {"approve": "Approved", "reject": "Rejected", "cancel": "Cancelled"}
DECISION_STATES = {
    "approve": ApprovalState.APPROVED,
    "reject": ApprovalState.REJECTED,
    "cancel": ApprovalState.NONE,
}


def test_racing_decisions_leave_exactly_one_winner(url: str) -> None:
    with connect(url, directory=directory(), clock=ControllableClock(START)) as app:
        app.request_approvals(DOCS, by="f1")
    outcomes = race(url, [("approve", "c1"), ("reject", "c2"), ("cancel", "f2")])
    with connect(url) as app:
        for doc in DOCS:
            results = {command: r for command, d, r in outcomes if d == doc}
            winners = [command for command, r in results.items() if r.startswith("ok")]
            assert len(winners) == 1, results
            losers = sorted(
                r for command, r in results.items() if command not in winners
            )
            assert losers == ["NotPendingError", "NotPendingError"]
            decisions = [
                e.event for e in app.history(doc) if e.event in DECISION_EVENTS.values()
            ]
            assert decisions == [DECISION_EVENTS[winners[0]]]
            assert app.status(doc).state is DECISION_STATES[winners[0]]


def test_two_schedulers_record_a_due_reminder_once(url: str) -> None:
    policy = ReminderPolicy(days_before_next=3, count=2)
    with connect(url, directory=directory(), clock=ControllableClock(START)) as app:
        app.request_approvals(
            [BatchRequest(d, reminders=policy) for d in DOCS], by="f1"
        )
    outcomes = race(url, [("remind", "system"), ("remind", "system")])
    with connect(url) as app:
        for doc in DOCS:
            results = sorted(r for _, d, r in outcomes if d == doc)
            assert results == ["ok:False", "ok:True"], results
            assert [e.event for e in app.history(doc)].count("Reminded") == 1
