"""W2: one ``request_approvals`` call for 1,000 documents.

approvalflow checks every document with the directory, opens and requests
each one (two events per document) and records all of it, with the read
models' rows, in one transaction. The baseline, in alternating
rounds: bare eventsourcing creating 1,000 new aggregates (one event each) and
saving them in one ``save()`` on an SQLite file. Each round uses 1,000 fresh
documents. Reported: documents per second (median) and approvalflow / bare
eventsourcing.
"""

from __future__ import annotations

import time
from datetime import timedelta

from approvalflow import BatchRequest, ReminderPolicy
from bench._common import (
    Context,
    alternate,
    fmt_rate,
    fmt_ratio,
    median,
    progress,
    ratio,
    say,
)
from bench._stores import (
    BareApp,
    BareRequest,
    cycle_directory,
    open_approvals,
    sqlite_env,
    sqlite_url,
)

NAME = "W2"
BATCH = 1_000


def run(ctx: Context) -> None:
    rounds = ctx.mode.w2_rounds
    folder = ctx.scratch / "w2"
    folder.mkdir()
    ids = {r: [f"w2-r{r}-{i}" for i in range(BATCH)] for r in range(rounds)}
    directory = cycle_directory([doc for docs in ids.values() for doc in docs])
    app, clock = open_approvals(sqlite_url(folder / "approvalflow.sqlite3"), directory)
    bare = BareApp(env=sqlite_env(folder / "bare.sqlite3"))
    policy = ReminderPolicy(days_before_next=3, count=2)

    def subject(r: int) -> float:
        requests = [BatchRequest(doc, "Please review", policy) for doc in ids[r]]
        clock.advance(timedelta(minutes=1))
        started = time.perf_counter()
        app.request_approvals(requests, by="f1")
        return BATCH / (time.perf_counter() - started)

    def baseline(r: int) -> float:
        started = time.perf_counter()
        bare.save(*(BareRequest.request(doc, "f1", "Please review") for doc in ids[r]))
        return BATCH / (time.perf_counter() - started)

    progress(f"{NAME}: {rounds} rounds of one {BATCH:,}-document batch each")
    try:
        samples = alternate(
            rounds, {"approvalflow": subject, "eventsourcing": baseline}
        )
    finally:
        app.close()
        bare.close()
    af, es = median(samples["approvalflow"]), median(samples["eventsourcing"])
    r = ratio(af, es)
    ctx.results[NAME] = {
        "batch": BATCH,
        "rounds": rounds,
        "approvalflow_docs_per_s": af,
        "eventsourcing_docs_per_s": es,
        "ratio_approvalflow_eventsourcing": r,
        "samples": samples,
    }
    say(
        f"{NAME} request_approvals of {BATCH:,} documents in one call: "
        f"approvalflow {fmt_rate(af)} docs/s (2 events each) | bare eventsourcing "
        f"{fmt_rate(es)} docs/s (1 event each, one save) | "
        f"ratio approvalflow/eventsourcing {fmt_ratio(r)}"
    )
