"""Each read model is one module that says what it does with every event."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path
from typing import Any

import filelock
import pytest
from eventsourcing.domain import Aggregate

from approvalflow import ApprovalRequest, Approvals, ReminderPolicy, connect
from approvalflow.notifications import delivery
from approvalflow.readmodels import MODELS, RebuildInProgressError, Tx, store
from approvalflow.readmodels.documents import DocumentsModel
from approvalflow.readmodels.store import INLINE_CATCH_UP
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory, populate
from tests.view_model import actual_lists, expected_lists


def event_classes() -> set[type]:
    return {
        member
        for _, member in inspect.getmembers(ApprovalRequest, inspect.isclass)
        if issubclass(member, Aggregate.Event)
        and member.__qualname__.startswith("ApprovalRequest.")
        and member.__name__ != "Event"  # the base eventsourcing adds
    }


def test_there_are_eleven_event_classes() -> None:
    assert len(event_classes()) == 11


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_every_read_model_handles_or_ignores_every_event_class(model: Any) -> None:
    assert model.handles | model.ignores == event_classes()
    assert not model.handles & model.ignores


def test_the_delivery_planner_handles_or_ignores_every_event_class() -> None:
    assert event_classes() == delivery.HANDLES | delivery.IGNORES
    assert not delivery.HANDLES & delivery.IGNORES


def test_read_model_names_are_unique_and_tables_their_own() -> None:
    names = [m.name for m in MODELS]
    assert len(set(names)) == len(names)
    tables = [t for m in MODELS for t in m.table_names]
    assert len(set(tables)) == len(tables)
    for model in MODELS:
        for statement in model.tables:
            assert any(f"{{p}}{t} (" in statement for t in model.table_names)


def history(app: Approvals, clock: ControllableClock) -> None:
    app.request_approvals(["d1", "d2", "d3"], by="f1")
    app.request_approval("g-doc", by="f1", reminders=ReminderPolicy(1, 2))
    clock.advance(days=1)
    app.send_due_reminders()
    app.reject("d1", by="c1", reasons=["Wrong"])
    app.approve("d2", by="c2")
    app.lock_to_invoice("d3", invoice_id="INV", by="f1")


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Any:
    clock = ControllableClock(START)
    with connect(
        f"sqlite:///{tmp_path / 'a.sqlite3'}", directory=make_directory(), clock=clock
    ) as app:
        history(app, clock)
        yield app, clock


def test_a_second_rebuild_is_refused_while_one_runs(sqlite_app: Any) -> None:
    app, clock = sqlite_app
    before = actual_lists(app)
    started, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_progress(_count: int) -> None:
        started.set()
        release.wait(30)

    def first() -> None:
        try:
            app.rebuild_views(slow_progress)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(30)
    with pytest.raises(RebuildInProgressError, match="another process is rebuilding"):
        app.rebuild_views()
    # The live read models keep serving, commands keep writing them.
    assert actual_lists(app) == before
    app.approve("g-doc", by="g1")
    release.set()
    thread.join(30)
    assert errors == []
    assert actual_lists(app) == expected_lists(app, clock.now())
    app.rebuild_views()  # and once it is done, rebuilding works again
    # The lock on the file beside the store is released with the rebuild (the
    # file may stay: every process must lock the same file): it is free.
    store_file = Path(app.log.factory.datastore.pool.db_name)
    lock_file = store_file.with_name(store_file.name + "-rebuild.lock")
    with filelock.FileLock(lock_file).acquire(timeout=0):
        pass
    assert store_file.exists()


class Killed(BaseException):
    """Stands for the process dying (not an Exception: nothing catches it)."""


@pytest.mark.parametrize("at_write", [0, 1, 3, 5])
def test_a_rebuild_killed_anywhere_leaves_the_live_read_models(
    sqlite_app: Any, monkeypatch: pytest.MonkeyPatch, at_write: int
) -> None:
    app, clock = sqlite_app
    before = actual_lists(app)
    calls = 0
    original = Tx.executemany

    def dying(tx: Tx, statement: str, rows: Any) -> None:
        nonlocal calls
        calls += 1
        if tx.bulk and calls > at_write:
            raise Killed
        original(tx, statement, rows)

    monkeypatch.setattr(Tx, "executemany", dying)
    with pytest.raises(Killed):
        app.rebuild_views()
    monkeypatch.setattr(Tx, "executemany", original)
    assert actual_lists(app) == before
    app.approve("g-doc", by="g1")
    assert actual_lists(app) == expected_lists(app, clock.now())
    app.rebuild_views()
    assert actual_lists(app) == expected_lists(app, clock.now())


def test_a_rebuild_at_scale_equals_the_inline_read_models(tmp_path: Path) -> None:
    with connect(
        f"sqlite:///{tmp_path / 'big.sqlite3'}",
        clock=ControllableClock(START),
    ) as app:
        populate(app, 3_000)  # more than one rebuild batch, cache churn
        every = app.recent(limit=500)
        tabs = [app.approvals_tab(f"acct{i}", limit=500) for i in range(50)]
        pending = app.accounts_pending()
        due = app.views.due_reminders(START.replace(year=2100), 10_000)
        assert app.rebuild_views() == app.recorder.max_notification_id()
        assert app.recent(limit=500) == every
        assert [app.approvals_tab(f"acct{i}", limit=500) for i in range(50)] == tabs
        assert app.accounts_pending() == pending
        assert app.views.due_reminders(START.replace(year=2100), 10_000) == due


def test_events_recorded_another_way_are_folded_by_the_next_command(
    store_url: str,
) -> None:
    clock = ControllableClock(START)
    with connect(
        store_url,
        directory=make_directory(),
        clock=clock,
        refresh_views_on_read=False,
        refresh_views_after_write=False,  # "another path": no inline writes
    ) as app:
        history(app, clock)
        # (The reminder pass in the history caught up once; the rest did not.)
        head = app.recorder.max_notification_id()
        assert all(v.position < (head or 0) for v in app.views_status())
        app.refresh_views_after_write = True
        app.cancel("d3", by="f1")  # folds what it missed, then its own event
        head = app.recorder.max_notification_id()
        assert [v.position for v in app.views_status()] == [head] * len(MODELS)
        assert actual_lists(app) == expected_lists(app, clock.now())


def test_a_read_model_far_behind_is_left_to_catch_up(tmp_path: Path) -> None:
    clock = ControllableClock(START)
    with connect(
        f"sqlite:///{tmp_path / 'far.sqlite3'}",
        directory=make_directory(),
        clock=clock,
        refresh_views_on_read=False,
        refresh_views_after_write=False,
    ) as app:
        populate(app, 600)  # more events than a command folds inline
        assert (app.recorder.max_notification_id() or 0) > INLINE_CATCH_UP
        app.refresh_views_after_write = True
        clock.advance(days=41)  # after every populated document's activity
        app.request_approval("d1", by="f1")
        # Too far behind to fold inside a command: positions stay put...
        assert all(v.position == 0 for v in app.views_status())
        # ...until a catch-up, which folds everything once.
        app.refresh_views()
        head = app.recorder.max_notification_id()
        assert [v.position for v in app.views_status()] == [head] * len(MODELS)
        assert [r.document_id for r in app.recent(limit=1).rows] == ["d1"]
        app.rebuild_views()
        assert [r.document_id for r in app.recent(limit=1).rows] == ["d1"]


def test_a_rebuild_that_drops_its_row_cache_gives_the_same_views(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches and a small cache: rows written in earlier batches must
    # be read back once the cache is dropped.
    monkeypatch.setattr(store, "REBUILD_BATCH", 200)
    monkeypatch.setattr(DocumentsModel, "CACHE_ROWS", 50)
    with connect(
        f"sqlite:///{tmp_path / 'small.sqlite3'}",
        clock=ControllableClock(START),
    ) as app:
        populate(app, 400, accounts=10)
        every = app.recent(limit=500)
        tabs = [app.approvals_tab(f"acct{i}", limit=500) for i in range(10)]
        pending = app.accounts_pending()
        assert app.rebuild_views() == app.recorder.max_notification_id()
        assert app.recent(limit=500) == every
        assert [app.approvals_tab(f"acct{i}", limit=500) for i in range(10)] == tabs
        assert app.accounts_pending() == pending
