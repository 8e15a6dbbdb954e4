"""W4: finding due reminders costs what is due, not what is pending.

Two stores, each with 100 reminders due now: one with 10,000 pending
requests, one with 100,000 (quick mode: 1,000 and 5,000). The other requests
have reminders too, just not due yet (a 30-day policy), so they sit in the
same index. Stores are built fast (events written directly, then the read
models rebuilt). ``app.views.due_reminders(now, 100)`` - the look-up the
reminder pass (``send_due_reminders``) and the worker use - is timed on both
stores in alternating rounds; the smaller store is the baseline.

Reported: median time per look-up at each size and the ratio large / small
(target <= 1.3; a look-up that scanned the pending requests would be 10x),
and whether the large median is under 2 ms.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.helpers import START

import approvalflow
from approvalflow import ApprovalRequest, ReminderPolicy
from bench._common import (
    Context,
    alternate,
    fmt_ms,
    fmt_ratio,
    median,
    progress,
    ratio,
    say,
    timed,
)
from bench._stores import build_store, fill_read_models, requested, sqlite_url

NAME = "W4"
DUE = 100
TARGET_RATIO = 1.3
TARGET_SECONDS = 0.002
#: When the look-ups run: two days after the due requests were made.
NOW = START + timedelta(days=40)


def pending_plan(i: int, now: datetime) -> ApprovalRequest:
    """The first DUE requests have a reminder due; the others are weeks away."""
    if i < DUE:
        return requested(i, now - timedelta(days=2), ReminderPolicy(1, 1))
    # Spread over the last 20 days, so the index holds many distinct times.
    at = now - timedelta(days=20) + timedelta(seconds=i % (20 * 86_400))
    return requested(i, at, ReminderPolicy(30, 1))


def run(ctx: Context) -> None:
    small, large = ctx.mode.w45_sizes
    repeats = ctx.mode.w4_repeats
    folder = ctx.scratch / "w4"
    folder.mkdir()
    apps: dict[int, approvalflow.Approvals] = {}
    try:
        for size in (small, large):
            path = folder / f"pending-{size}.sqlite3"
            label = f"{NAME} {size:,} pending"
            build_store(path, pending_plan, documents=size, now=NOW, label=label)
            fill_read_models(sqlite_url(path), label)
            apps[size] = approvalflow.connect(sqlite_url(path))
            found = apps[size].views.due_reminders(NOW, DUE)
            # A wrong answer would make any timing meaningless.
            assert len(found) == DUE, f"{label}: {len(found)} due, expected {DUE}"

        def lookup(size: int) -> float:
            views = apps[size].views
            return median(
                [timed(lambda: views.due_reminders(NOW, DUE)) for _ in range(repeats)]
            )

        progress(f"{NAME}: {ctx.mode.rounds} rounds of {repeats} look-ups per size")
        samples = alternate(
            ctx.mode.rounds,
            {"small": lambda _r: lookup(small), "large": lambda _r: lookup(large)},
        )
    finally:
        for app in apps.values():
            app.close()
    t_small, t_large = median(samples["small"]), median(samples["large"])
    r = ratio(t_large, t_small)
    ctx.results[NAME] = {
        "due": DUE,
        "sizes": [small, large],
        "median_seconds": {str(small): t_small, str(large): t_large},
        "ratio_large_small": r,
        "samples": samples,
    }
    verdict = "met" if r <= TARGET_RATIO and t_large < TARGET_SECONDS else "MISSED"
    say(
        f"{NAME} due_reminders(now, {DUE}), {DUE} due: {small:,} pending "
        f"{fmt_ms(t_small)} | {large:,} pending {fmt_ms(t_large)} | "
        f"ratio large/small {fmt_ratio(r)} [target <= {TARGET_RATIO} and < 2 ms: "
        f"{verdict}]"
    )
