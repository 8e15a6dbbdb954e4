"""W1: request -> resend -> approve cycles on an SQLite file, read models on.

Each cycle is a fresh document: ``request_approval``, ``resend``,
``approve`` - three commands, each recording its events and writing the read
models in one transaction. Two baselines run in alternating rounds with it:

- bare eventsourcing: a plain ``Aggregate`` with three events, one
  ``save()`` per event (the same three saves per cycle), the aggregate
  loaded from its events before each command after the first, on an SQLite
  file through ``eventsourcing.sqlite``;
- raw sqlite3: one ``INSERT`` transaction per event (three per cycle) into
  a table shaped like eventsourcing's, in WAL mode: the floor any SQLite
  event store stands on.

Reported: cycles per second (median of rounds) and approvalflow / bare
eventsourcing.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from datetime import timedelta
from pathlib import Path

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
    approvalflow_cycle,
    bare_cycle,
    cycle_directory,
    open_approvals,
    sqlite_env,
    sqlite_url,
)

NAME = "W1"


class RawStore:
    """One INSERT transaction per event, straight through sqlite3."""

    def __init__(self, path: Path) -> None:
        # Autocommit mode, with explicit BEGIN/COMMIT: one transaction per event.
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS events (originator_id TEXT,"
            " originator_version INTEGER, topic TEXT, state BLOB,"
            " PRIMARY KEY (originator_id, originator_version))"
        )

    def append(
        self, originator: str, version: int, topic: str, state: dict[str, object]
    ) -> None:
        self.conn.execute("BEGIN")
        self.conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?)",
            (originator, version, topic, json.dumps(state).encode()),
        )
        self.conn.execute("COMMIT")

    def cycle(self, document_id: str) -> None:
        originator = uuid.uuid5(uuid.NAMESPACE_URL, document_id).hex
        now = time.time()
        self.append(
            originator,
            1,
            "bench:Requested",
            {
                "document_id": document_id,
                "by": "f1",
                "message": "Please review",
                "at": now,
            },
        )
        self.append(
            originator,
            2,
            "bench:Resent",
            {"by": "f1", "message": "A reminder", "at": now},
        )
        self.append(
            originator,
            3,
            "bench:Approved",
            {"by": "c1", "comment": "Thanks", "at": now},
        )

    def close(self) -> None:
        self.conn.close()


def run(ctx: Context) -> None:
    cycles = ctx.mode.w1_cycles
    folder = ctx.scratch / "w1"
    folder.mkdir()
    ids = {r: [f"w1-r{r}-{i}" for i in range(cycles)] for r in range(ctx.mode.rounds)}
    directory = cycle_directory([doc for docs in ids.values() for doc in docs])
    app, clock = open_approvals(sqlite_url(folder / "approvalflow.sqlite3"), directory)
    bare = BareApp(env=sqlite_env(folder / "bare.sqlite3"))
    raw = RawStore(folder / "raw.sqlite3")

    def subject(r: int) -> float:
        started = time.perf_counter()
        for doc in ids[r]:
            # Time moves on between cycles, as it would for real users.
            clock.advance(timedelta(minutes=1))
            approvalflow_cycle(app, doc)
        return cycles / (time.perf_counter() - started)

    def baseline(r: int) -> float:
        started = time.perf_counter()
        for doc in ids[r]:
            bare_cycle(bare, doc)
        return cycles / (time.perf_counter() - started)

    def floor(r: int) -> float:
        started = time.perf_counter()
        for doc in ids[r]:
            raw.cycle(doc)
        return cycles / (time.perf_counter() - started)

    progress(f"{NAME}: {ctx.mode.rounds} rounds of {cycles} cycles each")
    try:
        samples = alternate(
            ctx.mode.rounds,
            {"approvalflow": subject, "eventsourcing": baseline, "sqlite3": floor},
        )
    finally:
        app.close()
        bare.close()
        raw.close()
    af, es, sq = (
        median(samples[k]) for k in ("approvalflow", "eventsourcing", "sqlite3")
    )
    r = ratio(af, es)
    ctx.results[NAME] = {
        "cycles_per_round": cycles,
        "rounds": ctx.mode.rounds,
        "approvalflow_cycles_per_s": af,
        "eventsourcing_cycles_per_s": es,
        "sqlite3_cycles_per_s": sq,
        "ratio_approvalflow_eventsourcing": r,
        "samples": samples,
    }
    say(
        f"{NAME} request->resend->approve cycles, SQLite file: "
        f"approvalflow {fmt_rate(af)} cycles/s | bare eventsourcing "
        f"{fmt_rate(es)} cycles/s | raw sqlite3 {fmt_rate(sq)} cycles/s | "
        f"ratio approvalflow/eventsourcing {fmt_ratio(r)} "
        f"(approvalflow/sqlite3 {fmt_ratio(ratio(af, sq))})"
    )
