"""Read models follow the log exactly once: interrupted, restarted, raced, indexed."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from approvalflow import Approvals, ReminderPolicy, connect
from approvalflow.follower import read_events
from approvalflow.readmodels import MODELS, VIEW_NAMES, Tx, catch_up, follow
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
    writes = 0
    original = Tx.executemany

    def counting(tx: Tx, statement: str, rows: Any) -> None:
        nonlocal writes
        writes += 1
        original(tx, statement, rows)

    _rewind(app)
    monkeypatch.setattr(Tx, "executemany", counting)
    catch_up(app, app.views, batch=5)
    monkeypatch.setattr(Tx, "executemany", original)
    assert snapshot(app) == expected
    assert writes > head

    class CrashError(Exception):
        pass

    # Crash at every write of every read model in turn, mid-batch (batches
    # of 5), then restart; the views must equal the uninterrupted ones.
    for crash_at in range(writes):
        _rewind(app)
        calls = 0

        def failing(tx: Tx, statement: str, rows: Any, _at: int = crash_at) -> None:
            nonlocal calls
            calls += 1
            if calls == _at + 1:
                raise CrashError
            original(tx, statement, rows)

        monkeypatch.setattr(Tx, "executemany", failing)
        with pytest.raises(CrashError):
            catch_up(app, app.views, batch=5)
        monkeypatch.setattr(Tx, "executemany", original)
        catch_up(app, app.views, batch=5)
        assert snapshot(app) == expected, f"crash at write {crash_at}"


def _rewind(app: Approvals) -> None:
    """Empty the read models and set their positions to 0 (test-only surgery)."""
    store = app.views
    with store.backend.write() as c:
        c.execute(f"SELECT generation FROM {store.meta}")
        p = f"{store.backend.prefix}af{c.fetchone()['generation']}_"
        for table in (t for m in MODELS for t in m.table_names):
            c.execute(f"DELETE FROM {p}{table}")
        c.execute(f"DELETE FROM {store.positions}")


def test_a_batch_applied_by_someone_else_is_not_applied_twice(
    quiet_app: tuple[Approvals, ControllableClock],
) -> None:
    app, clock = quiet_app
    record_history(app, clock)
    items = read_events(app, 0, 5)
    app.views.apply("pending", app.name, 0, items)
    with pytest.raises(IntegrityError):
        app.views.apply("pending", app.name, 0, items)  # another process, same batch
    with pytest.raises(IntegrityError):
        app.views.apply("pending", app.name, None, items[2:])  # overlapping
    requested = Counter(
        e.document.account_id for _, e in items if type(e).__name__ == "Requested"
    )
    # Counted once: applied twice, the counts would double.
    assert app.views.accounts_pending() == sorted(requested.items())
    assert sum(requested.values()) == 2
    catch_up(app, app.views)
    assert actual_lists(app) == expected_lists(app, clock.now())


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
        assert runner.subscribed == ("SQLite" not in type(app.recorder).__name__)
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
    store.apply("rejections", "Elsewhere", 0, gappy[:4])
    assert store.position("rejections", "Elsewhere") == gappy[3][0]
    store.apply("rejections", "Elsewhere", gappy[3][0], gappy[4:])
    assert store.position("rejections", "Elsewhere") == gappy[-1][0]
    with pytest.raises(IntegrityError):
        store.apply("rejections", "Elsewhere", gappy[3][0], gappy[4:])
    assert store.position("rejections", app.name) == 0  # per application


def test_an_idle_runner_waits_instead_of_spinning(
    quiet_app: tuple[Approvals, ControllableClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = quiet_app
    steps: list[int] = []

    def counted(*args: Any) -> int:
        steps.append(catch_up(*args))
        return steps[-1]

    monkeypatch.setattr(follow, "catch_up", counted)
    with app.follow(interval=60):
        time.sleep(0.3)  # nothing to fold: one look, then it waits
    assert steps == [0]


def test_a_runner_stopped_by_an_error_keeps_it(
    quiet_app: tuple[Approvals, ControllableClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = quiet_app
    tries: list[str] = []

    def broken(*_: Any) -> int:
        tries.append("tried")
        raise RuntimeError("read model table is gone")

    monkeypatch.setattr(follow, "catch_up", broken)
    with app.follow(interval=0.01) as runner:
        deadline = time.monotonic() + 10
        while runner.error is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.1)  # it does not try again
    assert str(runner.error) == "read model table is gone"
    assert tries == ["tried"]


def test_stopping_a_runner_ends_its_thread_and_may_be_repeated(
    quiet_app: tuple[Approvals, ControllableClock],
) -> None:
    app, _ = quiet_app
    before = set(threading.enumerate())
    runner = app.follow(interval=0.01)
    started = [t for t in threading.enumerate() if t not in before]
    [follower] = [t for t in started if t.name.endswith("(run)")]
    runner.stop()
    assert not follower.is_alive()
    runner.stop()
    with runner:
        pass  # leaving the block stops it once more
