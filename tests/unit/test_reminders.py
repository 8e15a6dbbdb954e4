"""The due-reminders index and send_due_reminders (F6).

These pin the plain rule (exactly N x 24 hours after the latest contact),
still available as ``ReminderSchedule.elapsed()``; the business schedule,
the default for new requests, is tested in ``test_schedules.py``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from approvalflow import (
    Approvals,
    BatchRequest,
    ReminderPolicy,
    ReminderSchedule,
    connect,
)
from approvalflow.readmodels.store import SCHEMA_VERSION
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests.helpers import START, make_directory

DAY = timedelta(days=1)


@pytest.fixture
def app(
    store_url: str, clock: ControllableClock, directory: InMemoryDirectory
) -> Iterator[Approvals]:
    with connect(
        store_url,
        directory=directory,
        clock=clock,
        reminder_schedule=ReminderSchedule.elapsed(),
    ) as application:
        yield application


def test_due_reminders_go_out_once_per_slot(
    app: Approvals, clock: ControllableClock
) -> None:
    app.request_approvals(
        [
            BatchRequest("d1", reminders=ReminderPolicy(2, 2)),
            BatchRequest("d2", reminders=ReminderPolicy(3, 1)),
            BatchRequest("d3"),  # reminders off
        ],
        by="f1",
    )
    assert app.send_due_reminders() == []
    clock.advance(days=2)
    assert app.send_due_reminders() == ["d1"]
    assert app.send_due_reminders() == []
    clock.advance(days=1)
    assert app.send_due_reminders() == ["d2"]
    clock.advance(days=1)
    assert app.send_due_reminders() == ["d1"]
    clock.advance(days=30)
    assert app.send_due_reminders() == []  # both counts used up
    assert app.views.due_reminders(clock.now(), 10) == []


def test_after_downtime_one_reminder_then_a_full_interval(
    app: Approvals, clock: ControllableClock
) -> None:
    app.request_approval("d1", by="f1", reminders=ReminderPolicy(3, 5))
    clock.advance(days=20)  # the worker was down for six slots
    assert app.send_due_reminders() == ["d1"]
    assert app.send_due_reminders() == []
    row = app.views.document("d1")
    assert row is not None
    assert row.next_reminder_at == START + 23 * DAY
    clock.advance(days=3, seconds=-1)
    assert app.send_due_reminders() == []
    clock.advance(seconds=1)
    assert app.send_due_reminders() == ["d1"]


def test_resend_restarts_and_a_decision_stops_the_schedule(
    app: Approvals, clock: ControllableClock
) -> None:
    app.request_approval("d1", by="f1", reminders=ReminderPolicy(2, 1))
    clock.advance(days=1)
    app.resend("d1", by="f2", reminders=ReminderPolicy(5, 1))
    clock.advance(days=2)
    assert app.send_due_reminders() == []
    clock.advance(days=3)
    assert app.send_due_reminders() == ["d1"]
    app.request_approval("d2", by="f1", reminders=ReminderPolicy(1, 3))
    app.approve("d2", by="c1")
    clock.advance(days=10)
    assert app.send_due_reminders() == []


def test_the_index_agrees_with_the_aggregates(
    app: Approvals, clock: ControllableClock
) -> None:
    app.request_approvals(
        [
            BatchRequest(d, reminders=ReminderPolicy(i + 1, 2))
            for i, d in enumerate(["d1", "d2", "d3"])
        ],
        by="f1",
    )
    for _ in range(8):
        clock.advance(days=1)
        app.send_due_reminders()
        for doc in ("d1", "d2", "d3"):
            row = app.views.document(doc)
            assert row is not None
            assert row.next_reminder_at == app.status(doc).next_reminder_at


def test_read_models_of_an_older_release_are_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    url = f"sqlite:///{db}"
    clock = ControllableClock(START)
    with connect(url, directory=make_directory(), clock=clock) as app:
        app.request_approval("d1", by="f1", reminders=ReminderPolicy(1, 1))
    with sqlite3.connect(db) as conn:  # pretend an older release made the tables
        conn.execute("UPDATE approvalflow_views SET schema_version = 1")
    with connect(url, directory=make_directory(), clock=clock) as app:
        assert [r.document_id for r in app.recent().rows] == ["d1"]
        assert app.views.needs_rebuild is False
        clock.advance(days=1)
        assert app.send_due_reminders() == ["d1"]
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT generation, schema_version FROM approvalflow_views"
        ).fetchone() == (2, SCHEMA_VERSION)
