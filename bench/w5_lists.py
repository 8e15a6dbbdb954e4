"""W5: every list query at 10k and 100k documents (quick mode: 1k and 5k).

Documents are spread over 50 accounts in mixed states - pending (35%),
approved (25%), rejected (15%), cancelled (10%), locked to an unpaid invoice
(15%, pending approval or approved) - with their latest activity spread over
the last 40 days, so about three quarters are in the 30-day recent window.
Stores are built fast (events written directly, then the read models
rebuilt) and queried through approvalflow's public API with a clock at "now".

Each query is timed on both sizes in alternating rounds (the small store is
the baseline); reported per query: the median at each size and the ratio
large / small. A query is flagged when the ratio is above 1.3 or the large
median above 2 ms: a paged list should cost the page, not the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tests.helpers import START

import approvalflow
from approvalflow import ApprovalRequest, Rejection, ReminderPolicy
from approvalflow.testing import ControllableClock
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
from bench._stores import (
    FIRM,
    build_store,
    client,
    facts,
    fill_read_models,
    requested,
    sqlite_url,
)

NAME = "W5"
TARGET_RATIO = 1.3
TARGET_SECONDS = 0.002
NOW = START + timedelta(days=120)
ACCOUNT = "acct07"
#: Spread of the latest activity: 40 days, so most is within the 30-day window.
SPREAD = 40 * 86_400

Query = Callable[[approvalflow.Approvals, str | None], object]


def mixed_plan(i: int, now: datetime) -> ApprovalRequest:
    """Document ``i`` in one of the mixed states, its latest activity at ``t``."""
    # A fixed scatter of times (7919 is prime), the same on every run.
    t = now - timedelta(seconds=(i * 7919) % SPREAD + 60)
    kind = i % 20
    policy = ReminderPolicy(days_before_next=7, count=2)
    if kind < 7:  # pending
        return requested(i, t, policy)
    if kind < 12:  # approved
        aggregate = requested(i, t - timedelta(days=2), policy)
        aggregate.approve(by=client(i), comment="Fine", at=t)
        return aggregate
    if kind < 15:  # rejected
        aggregate = requested(i, t - timedelta(days=3), policy)
        aggregate.reject(
            by=client(i), rejection=Rejection(reasons=("Wrong period",)), at=t
        )
        return aggregate
    if kind < 17:  # cancelled
        aggregate = requested(i, t - timedelta(days=1), policy)
        aggregate.cancel(by=FIRM, note=None, at=t)
        return aggregate
    # Locked to an unpaid invoice; pending approval, or already approved.
    aggregate = ApprovalRequest.open(f"doc{i}", t - timedelta(days=2))
    aggregate.lock_to_invoice(
        invoice_id=f"inv{i}", by=FIRM, document=facts(i), at=t - timedelta(days=2)
    )
    aggregate.request(
        document=facts(i),
        by=FIRM,
        message=None,
        reminders=None,
        entry_point=None,
        at=t - timedelta(days=1),
    )
    if kind == 19:
        aggregate.approve(by=client(i), comment=None, at=t)
    return aggregate


#: A rejected document (kind 12), in every store: for per-document queries.
DOC = "doc12"


def queries() -> dict[str, Query]:
    """Every list query, by the name printed in the table."""
    as_of = NOW - timedelta(days=5)
    return {
        "recent()": lambda a, _c: a.recent(),
        "recent(all)": lambda a, _c: a.recent(filters=["all"]),
        "recent(pending_approval)": lambda a, _c: a.recent(
            filters=["pending_approval"]
        ),
        "recent(pending_payment)": lambda a, _c: a.recent(filters=["pending_payment"]),
        "recent(approved)": lambda a, _c: a.recent(filters=["approved"]),
        "recent(rejected)": lambda a, _c: a.recent(filters=["rejected"]),
        "recent(pending_approval+pending_payment)": lambda a, _c: a.recent(
            filters=["pending_approval", "pending_payment"]
        ),
        "recent(approved+rejected)": lambda a, _c: a.recent(
            filters=["approved", "rejected"]
        ),
        "recent(pending_approval+approved+rejected)": lambda a, _c: a.recent(
            filters=["pending_approval", "approved", "rejected"]
        ),
        "recent(account)": lambda a, _c: a.recent(account_id=ACCOUNT),
        "recent(account, rejected)": lambda a, _c: a.recent(
            account_id=ACCOUNT, filters=["rejected"]
        ),
        "recent() page 2": lambda a, c: a.recent(after=c),
        "approvals_tab(account)": lambda a, _c: a.approvals_tab(ACCOUNT),
        "approvals_tab(account, pending_approval)": lambda a, _c: a.approvals_tab(
            ACCOUNT, filters=["pending_approval"]
        ),
        "approvals_tab(account, rejected+pending_payment)": lambda a, _c: (
            a.approvals_tab(ACCOUNT, filters=["rejected", "pending_payment"])
        ),
        "accounts_pending()": lambda a, _c: a.accounts_pending(),
        "audit_trail(doc)": lambda a, _c: a.audit_trail(DOC),
        "document_as_of(doc, t)": lambda a, _c: a.document_as_of(DOC, as_of),
    }


def run(ctx: Context) -> None:
    small, large = ctx.mode.w45_sizes
    repeats = ctx.mode.w5_repeats
    folder = ctx.scratch / "w5"
    folder.mkdir()
    apps: dict[int, approvalflow.Approvals] = {}
    cursors: dict[int, str | None] = {}
    rows: dict[str, dict[str, float]] = {}
    try:
        for size in (small, large):
            path = folder / f"mixed-{size}.sqlite3"
            label = f"{NAME} {size:,} documents"
            build_store(path, mixed_plan, documents=size, now=NOW, label=label)
            fill_read_models(sqlite_url(path), label)
            app = approvalflow.connect(sqlite_url(path), clock=ControllableClock(NOW))
            apps[size] = app
            first = app.recent()
            assert len(first.rows) == 50, f"{label}: short first page"
            cursors[size] = first.next_cursor
            assert app.audit_trail(DOC), f"{label}: {DOC} has no audit trail"

        progress(
            f"{NAME}: {len(queries())} queries, {ctx.mode.rounds} rounds of "
            f"{repeats} calls per size"
        )
        for name, query in queries().items():

            def measure(size: int, query: Query = query) -> float:
                app, cursor = apps[size], cursors[size]
                return median(
                    [timed(lambda: query(app, cursor)) for _ in range(repeats)]
                )

            samples = alternate(
                ctx.mode.rounds,
                {
                    "small": lambda _r: measure(small),
                    "large": lambda _r: measure(large),
                },
            )
            t_small, t_large = median(samples["small"]), median(samples["large"])
            r = ratio(t_large, t_small)
            flagged = r > TARGET_RATIO or t_large > TARGET_SECONDS
            rows[name] = {
                "small_seconds": t_small,
                "large_seconds": t_large,
                "ratio_large_small": r,
                "flagged": flagged,
            }
            say(
                f"{NAME} {name:<50} {small:>7,} docs {fmt_ms(t_small):>10} | "
                f"{large:>7,} docs {fmt_ms(t_large):>10} | ratio large/small "
                f"{fmt_ratio(r):>5}{'  FLAG (> 1.3 or > 2 ms)' if flagged else ''}"
            )
    finally:
        for app in apps.values():
            app.close()
    worst = max(rows.values(), key=lambda row: row["ratio_large_small"])
    flagged_count = sum(1 for row in rows.values() if row["flagged"])
    ctx.results[NAME] = {"sizes": [small, large], "queries": rows}
    say(
        f"{NAME} summary: {len(rows)} queries, {flagged_count} flagged; worst "
        f"ratio large/small {fmt_ratio(worst['ratio_large_small'])}"
    )
