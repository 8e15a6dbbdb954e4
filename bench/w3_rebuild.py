"""W3: rebuilding the read models from the whole log, at 100k and 1M events.

The store is built fast (see :mod:`bench._stores`): about five events per
document over every event kind (request, resend, reminder, approval,
rejection, re-request, cancel, invoice lock and payment). Then, in
alternating rounds, each in a fresh child process:

- approvalflow: ``approvalflow.connect(url)`` then ``app.rebuild_views()``;
- the baseline: eventsourcing alone reading the same log in pages
  (``recorder.select_notifications``) and decoding every event
  (``mapper.to_domain_event``) - the part of a rebuild no read model can
  avoid.

A fresh (spawned) process per run makes each peak resident memory (VmHWM,
read from /proc/self/status inside the child) that run's own. Reported:
events per second, seconds, peak RSS, and the ratio of the rates.
Targets printed beside them: ratio >= 0.4, 1M events in < 40 s, RSS < 250 MB.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.helpers import START

import approvalflow
from bench._common import (
    Context,
    alternate,
    fmt_rate,
    fmt_ratio,
    in_child,
    median,
    peak_rss_mb,
    progress,
    ratio,
    say,
)
from bench._stores import Approvals, build_store, history_plan, sqlite_env, sqlite_url

NAME = "W3"
#: Notifications per page when the baseline reads the log.
PAGE = 500
TARGET_RATIO = 0.4
TARGET_1M_SECONDS = 40.0
TARGET_RSS_MB = 250.0


def child_rebuild(url: str, label: str) -> dict[str, float]:
    """In a child: open the store and rebuild its read models."""
    with approvalflow.connect(url) as app:
        started = time.perf_counter()
        last = [started]

        def report(count: int) -> None:
            # Long rebuilds say how far they are, every ten seconds or so.
            if time.perf_counter() - last[0] > 10:
                last[0] = time.perf_counter()
                progress(f"{label}: {count:,} events ({last[0] - started:.0f} s)")

        count = app.rebuild_views(report)
        seconds = time.perf_counter() - started
    return {"events": count, "seconds": seconds, "rss_mb": peak_rss_mb()}


def child_read(path: str) -> dict[str, float]:
    """In a child: read and decode every stored event with eventsourcing alone."""
    app = Approvals(env=sqlite_env(Path(path)))
    try:
        started = time.perf_counter()
        position = count = 0
        while page := app.recorder.select_notifications(
            start=position, limit=PAGE, inclusive_of_start=False
        ):
            for notification in page:
                app.mapper.to_domain_event(notification)
            count += len(page)
            position = page[-1].id
        seconds = time.perf_counter() - started
    finally:
        app.close()
    return {"events": count, "seconds": seconds, "rss_mb": peak_rss_mb()}


def run(ctx: Context, sizes: tuple[int, ...] | None = None) -> None:
    chosen = sizes or ctx.mode.w3_sizes
    rounds = ctx.mode.w3_rounds
    folder = ctx.scratch / "w3"
    folder.mkdir()
    rows: dict[str, Any] = {}
    for size in chosen:
        path = folder / f"log-{size}.sqlite3"
        built = build_store(
            path,
            history_plan,
            events=size,
            now=START + timedelta(days=90),
            label=f"{NAME} {size:,}-event store",
        )
        url = sqlite_url(path)
        # Create the read-model tables once, so no run pays for that.
        approvalflow.connect(url).close()

        subject_runs: list[dict[str, float]] = []
        baseline_runs: list[dict[str, float]] = []

        def subject(
            r: int, url: str = url, size: int = size, runs: list[Any] = subject_runs
        ) -> float:
            label = f"{NAME} rebuild {size:,} round {r + 1}"
            result = in_child(child_rebuild, url, label)
            runs.append(result)
            progress(f"{label}: {result['seconds']:.1f} s")
            return result["events"] / result["seconds"]

        def baseline(
            r: int, path: Path = path, size: int = size, runs: list[Any] = baseline_runs
        ) -> float:
            result = in_child(child_read, str(path))
            runs.append(result)
            progress(f"{NAME} read {size:,} round {r + 1}: {result['seconds']:.1f} s")
            return result["events"] / result["seconds"]

        samples = alternate(
            rounds, {"approvalflow": subject, "eventsourcing": baseline}
        )
        af, es = median(samples["approvalflow"]), median(samples["eventsourcing"])
        seconds = median([x["seconds"] for x in subject_runs])
        rss = max(x["rss_mb"] for x in subject_runs)
        es_seconds = median([x["seconds"] for x in baseline_runs])
        es_rss = max(x["rss_mb"] for x in baseline_runs)
        r = ratio(af, es)
        rows[str(size)] = {
            "events": built.events,
            "documents": built.documents,
            "approvalflow_events_per_s": af,
            "approvalflow_seconds": seconds,
            "approvalflow_peak_rss_mb": rss,
            "eventsourcing_events_per_s": es,
            "eventsourcing_seconds": es_seconds,
            "eventsourcing_peak_rss_mb": es_rss,
            "ratio_approvalflow_eventsourcing": r,
            "rounds": rounds,
        }
        checks = [f"ratio target >= {TARGET_RATIO}: {_ok(r >= TARGET_RATIO)}"]
        if size >= 1_000_000:
            checks.append(
                f"1M target < {TARGET_1M_SECONDS:.0f} s: "
                f"{_ok(seconds < TARGET_1M_SECONDS)}"
            )
        checks.append(
            f"RSS target < {TARGET_RSS_MB:.0f} MB: {_ok(rss < TARGET_RSS_MB)}"
        )
        say(
            f"{NAME} rebuild_views, {built.events:,} events "
            f"({built.documents:,} docs): "
            f"approvalflow {fmt_rate(af)} events/s ({seconds:.1f} s, peak RSS "
            f"{rss:.0f} MB) | eventsourcing read+decode {fmt_rate(es)} events/s "
            f"({es_seconds:.1f} s, peak RSS {es_rss:.0f} MB) | "
            f"ratio approvalflow/eventsourcing {fmt_ratio(r)} [{'; '.join(checks)}]"
        )
    ctx.results[NAME] = {"sizes": rows}


def _ok(passed: bool) -> str:
    return "met" if passed else "MISSED"
