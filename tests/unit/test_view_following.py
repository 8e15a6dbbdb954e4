"""Read models follow the log exactly once: interrupted, restarted, raced, indexed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from approvalflow import Approvals, ReminderPolicy, approval_request_id, connect
from approvalflow.projections import VIEW_NAMES, catch_up
from approvalflow.projections.follow import read_events
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory
from tests.view_model import actual_lists, expected_lists


def record_history(app: Approvals, clock: ControllableClock) -> None:
    app.request_approvals(["d1", "d2"], by="f1")
    clock.advance(days=1)
    app.request_approval("d3", by="f2", reminders=ReminderPolicy(1, 2))
    clock.advance(days=1)
    app.remind("d3")
    app.reject("d1", by="c1", reasons=["A", "B"])
    app.record_activity("d4", kind="uploaded", by="f1")
    app.lock_to_invoice("d2", invoice_id="INV-1", by="f1")
    app.approve("d2", by="c2")
    app.request_approval("d1", by="f1")
    app.cancel("d3", by="f2")
    app.request_approval("g-doc", by="f1")


def snapshot(app: Approvals) -> tuple[Any, ...]:
    docs = ["d1", "d2", "d3", "d4", "g-doc"]
    return (
        app.recent(limit=100),
        app.approvals_tab("acme"),
        app.approvals_tab("globex"),
        app.accounts_pending(),
        [app.views.rejections(d) for d in docs],
        [app.audit_trail(d) for d in docs],
        [v.position for v in app.views_status()],
    )


@pytest.fixture
def quiet_app(store_url: str) -> Iterator[tuple[Approvals, ControllableClock]]:
    """An application whose commands do not update the views themselves."""
    clock = ControllableClock(START)
    with connect(
        store_url,
        directory=make_directory(),
        clock=clock,
        refresh_views_on_read=False,
        refresh_views_after_write=False,
    ) as app:
        yield app, clock


def test_views_start_empty_and_catch_up_to_the_head(
    quiet_app: tuple[Approvals, ControllableClock],
) -> None:
    app, clock = quiet_app
    record_history(app, clock)
    head = app.recorder.max_notification_id()
    assert all(v.position == 0 and v.head == head for v in app.views_status())
    assert app.recent().rows == ()
    applied = catch_up(app, app.views, batch=4)
    assert head is not None
    assert applied == head * len(VIEW_NAMES)
    assert all(v.position == head for v in app.views_status())
    assert catch_up(app, app.views) == 0


def test_interrupted_anywhere_then_restarted_gives_the_same_views(
    quiet_app: tuple[Approvals, ControllableClock],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, clock = quiet_app
    record_history(app, clock)
    head = app.recorder.max_notification_id()
    assert head is not None
    catch_up(app, app.views)
    expected = snapshot(app)
    total_calls = head * len(VIEW_NAMES)

    class CrashError(Exception):
        pass

    # Crash at every event of every view in turn, mid-batch (batches of 5),
    # then restart; the views must equal the uninterrupted ones.
    for crash_at in range(total_calls):
        _rewind(app)
        calls = 0
        store_module = type(app.views).__module__
        original = __import__(store_module, fromlist=["record_key"]).record_key

        def failing(event: Any, _original: Any = original, _at: int = crash_at) -> str:
            nonlocal calls
            calls += 1
            if calls == _at + 1:
                raise CrashError
            return str(_original(event))

        monkeypatch.setattr(f"{store_module}.record_key", failing)
        with pytest.raises(CrashError):
            catch_up(app, app.views, batch=5)
        monkeypatch.setattr(f"{store_module}.record_key", original)
        catch_up(app, app.views, batch=5)
        assert snapshot(app) == expected, f"crash at call {crash_at}"


def _rewind(app: Approvals) -> None:
    """Empty the read models and set their positions to 0 (test-only surgery)."""
    store = app.views
    if hasattr(store, "_models"):
        models = store._models
        models.positions.clear()
        models.documents.clear()
        models.accounts.clear()
        models.rejections.clear()
        models.audit.clear()
        return
    with store._write() as (c, p):  # type: ignore[attr-defined]
        for table in (
            "tracking",
            "documents",
            "document_accounts",
            "rejections",
            "audit",
        ):
            c.execute(f"DELETE FROM {p}{table}")


def test_a_batch_applied_by_someone_else_is_not_applied_twice(
    quiet_app: tuple[Approvals, ControllableClock],
) -> None:
    app, clock = quiet_app
    record_history(app, clock)
    items = read_events(app, 0, 5)
    app.views.apply("audit", app.name, 0, items)
    with pytest.raises(IntegrityError):
        app.views.apply("audit", app.name, 0, items)  # a second process, same batch
    with pytest.raises(IntegrityError):
        app.views.apply("audit", app.name, None, items[2:])  # overlapping, monotonic
    d1 = approval_request_id("d1")
    assert len(app.views.audit("d1")) == len(
        [e for _, e in items if e.originator_id == d1]
    )
    catch_up(app, app.views)
    assert [a.version for a in app.audit_trail("d1")] == [
        h.version for h in app.history("d1")
    ]


def test_every_sqlite_query_is_served_by_an_index(tmp_path: Path) -> None:
    with connect(f"sqlite:///{tmp_path / 'plans.sqlite3'}") as app:
        plans = app.views.query_plans()  # type: ignore[attr-defined]
    assert len(plans) >= 10
    for label, steps in plans.items():
        for step in steps:
            assert not step.startswith("SCAN"), (label, step)
            assert "TEMP B-TREE" not in step, (label, step)
        assert any(s.startswith("SEARCH") for s in steps), (label, steps)


def test_a_follower_keeps_the_views_up_to_date(
    quiet_app: tuple[Approvals, ControllableClock],
) -> None:
    app, clock = quiet_app
    with app.follow(interval=0.02) as runner:
        record_history(app, clock)
        head = app.recorder.max_notification_id()
        deadline = time.monotonic() + 30
        while any(v.position != head for v in app.views_status()):
            assert time.monotonic() < deadline, app.views_status()
            time.sleep(0.01)
        assert runner.error is None
        # Where the store pushes (memory, PostgreSQL's LISTEN/NOTIFY) it
        # follows by subscription; on SQLite it polls.
        assert bool(runner._subscriptions) == (
            type(app.views).__name__ != "SQLiteViewStore"
        )
    assert actual_lists(app) == expected_lists(app, clock.now())


def test_positions_follow_notification_ids_with_gaps(
    quiet_app: tuple[Approvals, ControllableClock],
) -> None:
    app, clock = quiet_app
    record_history(app, clock)
    events = [event for _, event in read_events(app, 0, 1000)]
    # The same events under ids with gaps, as a database may hand them out.
    gappy = [(10 * (i + 1) + (i % 3), event) for i, event in enumerate(events)]
    store = app.views
    store.apply("audit", "Elsewhere", 0, gappy[:4])
    assert store.position("audit", "Elsewhere") == gappy[3][0]
    store.apply("audit", "Elsewhere", gappy[3][0], gappy[4:])
    assert store.position("audit", "Elsewhere") == gappy[-1][0]
    with pytest.raises(IntegrityError):
        store.apply("audit", "Elsewhere", gappy[3][0], gappy[4:])
    assert store.position("audit", app.name) == 0  # positions are per application
