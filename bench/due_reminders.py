"""How finding due reminders scales: with the pending requests, or the due ones?

Issue 4's target: a reminder pass costs time in proportion to the reminders
*due*, not to the requests *pending*. This builds SQLite stores with 1,000
and 10,000 pending requests of which the same 20 are due, and times the
due-reminders lookup (the index the worker uses) against a baseline in the
same run: reading every pending request's row and checking it, which is what
a pass would cost without the index. Times are medians of repeated runs and
reported as ratios, so a shared, noisy machine does not skew the verdict.

Run: ``python bench/due_reminders.py`` (from a checkout with the dev extras).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import approvalflow
from approvalflow import BatchRequest, DocumentFacts, ReminderPolicy
from approvalflow.testing import ControllableClock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import START, make_directory

DUE = 20
REPEATS = 30


def build(
    folder: Path, pending: int
) -> tuple[approvalflow.Approvals, ControllableClock]:
    directory = make_directory()
    for i in range(pending):
        directory.add_document(DocumentFacts(f"p{i}", "acme", f"P {i}", "pdf", "Anna"))
    clock = ControllableClock(START)
    app = approvalflow.connect(
        f"sqlite:///{folder / f'due-{pending}.sqlite3'}",
        directory=directory,
        clock=clock,
    )
    # DUE requests with 1-day reminders, the rest with 30-day ones.
    requests = [
        BatchRequest(f"p{i}", reminders=ReminderPolicy(1 if i < DUE else 30, 1))
        for i in range(pending)
    ]
    for start in range(0, pending, 1000):
        app.request_approvals(requests[start : start + 1000], by="f1")
    clock.advance(timedelta(days=2))
    return app, clock


def median_seconds(action: Callable[[], object]) -> float:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(
    app: approvalflow.Approvals, now: datetime, pending: int
) -> tuple[float, float]:
    """Median seconds: the indexed lookup, and a check of every row."""
    assert len(app.views.due_reminders(now, 10_000)) == DUE

    def scan() -> None:
        found = [
            d
            for d in (f"p{i}" for i in range(pending))
            if (row := app.views.document(d)) is not None
            and row.next_reminder_at is not None
            and row.next_reminder_at <= now
        ]
        assert len(found) == DUE

    indexed = median_seconds(lambda: app.views.due_reminders(now, 10_000))
    return indexed, (median_seconds(scan) if pending <= 1_000 else float("nan"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for pending in (1_000, 10_000):
            app, clock = build(Path(tmp), pending)
            with app:
                results[pending] = measure(app, clock.now(), pending)
    small, baseline = results[1_000]
    large, _ = results[10_000]
    print(f"due lookup, {DUE} due of 1,000 pending:  {small * 1e3:8.3f} ms")
    print(f"due lookup, {DUE} due of 10,000 pending: {large * 1e3:8.3f} ms")
    print(
        f"ratio 10,000 / 1,000 pending: {large / small:.2f} (target: about 1, not 10)"
    )
    print(
        f"baseline without the index, 1,000 pending: {baseline * 1e3:8.3f} ms "
        f"({baseline / small:,.0f}x the indexed lookup)"
    )


if __name__ == "__main__":
    main()
