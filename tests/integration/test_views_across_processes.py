"""Read models on one SQLite file shared by several OS processes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from approvalflow import DocumentFacts, connect
from approvalflow.readmodels import RebuildInProgressError
from approvalflow.testing import ControllableClock
from tests.helpers import START, eventually, make_directory
from tests.view_model import actual_lists, expected_lists

ROOT = Path(__file__).resolve().parents[2]

# The writer leaves the read models alone, like a web process that hands view
# upkeep to a worker: only the reader's own catch-up can show its writes.
WRITER = """
from approvalflow import connect
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory
from datetime import timedelta
clock = ControllableClock(START + timedelta(days=1))
with connect({url!r}, directory=make_directory(), clock=clock,
             refresh_views_after_write=False, refresh_views_on_read=False) as app:
    app.request_approvals(["d1", "d2", "d3"], by="f2")
    clock.advance(hours=1)
    app.reject("d2", by="c1", reasons=["From the other process"])
    app.record_activity("d4", kind="uploaded", by="f1")
print("written")
"""


def run_python(code: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shared.sqlite3'}"


def other_process_writes(url: str) -> None:
    writer = run_python(WRITER.format(url=url))
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert out.strip() == "written"


def test_queries_see_writes_of_another_process(url: str) -> None:
    clock = ControllableClock(START + timedelta(days=2))
    with connect(url, directory=make_directory(), clock=clock) as app:
        app.request_approval("g-doc", by="f1")
        assert [r.document_id for r in app.recent().rows] == ["g-doc"]
        other_process_writes(url)
        assert app.views.position("documents", app.name) < (
            app.recorder.max_notification_id() or 0
        )
        assert [r.document_id for r in app.recent().rows] == [
            "g-doc",
            "d4",
            "d2",
            "d3",
            "d1",
        ]
        assert [r.reasons for r in app.rejection_reasons("d2")] == [
            ("From the other process",)
        ]
        assert actual_lists(app) == expected_lists(app, clock.now())


def test_a_polling_runner_picks_up_another_process(url: str) -> None:
    clock = ControllableClock(START + timedelta(days=2))
    with connect(
        url, directory=make_directory(), clock=clock, refresh_views_on_read=False
    ) as app:
        app.request_approval("g-doc", by="f1")
        other_process_writes(url)
        assert [r.document_id for r in app.recent().rows] == ["g-doc"]  # not yet
        with app.follow(interval=0.05) as runner:
            eventually(
                lambda: all(v.behind == 0 for v in app.views_status()),
                "the runner never caught up with the other process",
            )
            assert runner.error is None
        assert len(app.recent().rows) == 5
        assert actual_lists(app) == expected_lists(app, clock.now())


SLOW_CATCH_UP = """
import time
from approvalflow import connect
from approvalflow.readmodels import Tx, catch_up
original = Tx.executemany
def slow(tx, statement, rows):
    time.sleep(0.002 * len(rows))
    original(tx, statement, rows)
Tx.executemany = slow
with connect({url!r}, refresh_views_on_read=False) as app:
    print("started", flush=True)
    catch_up(app, app.views, batch=25)
print("finished", flush=True)
"""


def test_a_process_killed_while_catching_up_loses_nothing(url: str) -> None:
    directory = make_directory()
    for i in range(400):
        directory.add_document(
            DocumentFacts(f"x{i}", "acme", f"Doc {i}", "pdf", "Anna")
        )
    clock = ControllableClock(START)
    with connect(
        url, directory=directory, clock=clock, refresh_views_on_read=False
    ) as app:
        app.refresh_views_after_write = False
        app.request_approvals([f"x{i}" for i in range(400)], by="f1")
        for i in range(0, 400, 3):
            app.reject(f"x{i}", by="c1", reasons=[f"Reason {i}"])
        head = app.recorder.max_notification_id()

        follower = run_python(SLOW_CATCH_UP.format(url=url))
        assert follower.stdout is not None
        assert follower.stdout.readline().strip() == "started"
        # Killed once it has applied something, however slowly it started.
        eventually(
            lambda: sum(v.position or 0 for v in app.views_status()) > 0,
            "the other process never applied an event",
            every=0.02,
        )
        follower.send_signal(signal.SIGKILL)
        follower.wait(timeout=60)
        positions = [v.position for v in app.views_status()]
        # Killed part-way: some read model has applied something, not all.
        assert 0 < sum(positions) < head * len(positions), positions  # type: ignore[operator]

        app.refresh_views()
        assert all(v.position == head for v in app.views_status())
        followed = actual_lists(app)
        assert followed == expected_lists(app, clock.now())
        app.rebuild_views()
        assert actual_lists(app) == followed


SLOW_REBUILD = """
import sys, time
from approvalflow import connect
def progress(count):
    print("rebuilding", count, flush=True)
    time.sleep(60)  # killed in here
with connect({url!r}, refresh_views_on_read=False) as app:
    app.rebuild_views(progress)
"""


def test_a_rebuild_killed_in_another_process_leaves_the_live_read_models(
    url: str,
) -> None:
    directory = make_directory()
    for i in range(60):
        directory.add_document(DocumentFacts(f"x{i}", "acme", f"Doc {i}", "pdf", "A"))
    clock = ControllableClock(START)
    with connect(url, directory=directory, clock=clock) as app:
        app.request_approvals([f"x{i}" for i in range(60)], by="f1")
        for i in range(0, 60, 4):
            app.reject(f"x{i}", by="c1", reasons=[f"Reason {i}"])
        before = actual_lists(app)

        rebuilder = run_python(SLOW_REBUILD.format(url=url))
        assert rebuilder.stdout is not None
        assert rebuilder.stdout.readline().startswith("rebuilding")
        # While it runs: a second rebuild is refused, commands and reads go on.
        with pytest.raises(RebuildInProgressError):
            app.rebuild_views()
        app.approve("x1", by="c1")
        during = actual_lists(app)
        assert during == expected_lists(app, clock.now())
        rebuilder.send_signal(signal.SIGKILL)
        rebuilder.wait(timeout=60)

        # The dead rebuild's tables are not served; its lock died with it.
        assert actual_lists(app) == during
        app.approve("x2", by="c1")
        assert actual_lists(app) == expected_lists(app, clock.now())
        app.rebuild_views()
        assert actual_lists(app) == expected_lists(app, clock.now())
        assert before != during


FAST_REBUILD = """
from approvalflow import connect
with connect({url!r}, refresh_views_on_read=False) as app:
    print("started", flush=True)
    app.rebuild_views()
print("rebuilt", flush=True)
"""

# CI kills 20 rebuilds; a local run 5; APPROVALFLOW_KILLS sets it (long mode).
KILLS = int(os.environ.get("APPROVALFLOW_KILLS", "20" if os.environ.get("CI") else "5"))


def test_rebuilds_killed_at_random_points_lose_nothing(url: str) -> None:
    directory = make_directory()
    docs = [f"k{i}" for i in range(400)]
    for doc in docs:
        directory.add_document(DocumentFacts(doc, "acme", doc.upper(), "pdf", "A"))
    clock = ControllableClock(START)
    rng = random.Random(20261129)
    finished = 0
    with connect(url, directory=directory, clock=clock) as app:
        app.request_approvals(docs, by="f1")
        for i in range(0, 400, 5):
            app.reject(docs[i], by="c1", reasons=[f"Reason {i}"])
        for kill in range(KILLS):
            rebuilder = run_python(FAST_REBUILD.format(url=url))
            assert rebuilder.stdout is not None
            assert rebuilder.stdout.readline().strip() == "started"
            time.sleep(rng.uniform(0.0, 0.3))  # anywhere in the rebuild
            rebuilder.send_signal(signal.SIGKILL)
            out, _ = rebuilder.communicate(timeout=60)
            finished += "rebuilt" in out
            # Between kills, commands and reads go on, and the lists are right.
            clock.advance(minutes=1)
            app.approve(docs[kill * 5 + 1], by="c1")
            assert actual_lists(app) == expected_lists(app, clock.now())
        app.rebuild_views()
        assert actual_lists(app) == expected_lists(app, clock.now())
        assert app.verify_audit().ok
    # Most kills land mid-rebuild: the test would prove little otherwise.
    assert finished < KILLS
