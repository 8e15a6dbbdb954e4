"""approvalflow's benchmark suite: one entry point for every workload.

Usage (from a checkout with the dev extras; ``.[bench]`` adds matplotlib for
``--chart``)::

    python bench/run.py                  # full mode: minutes, big stores
    python bench/run.py --quick          # CI smoke mode: small sizes, < 60 s
    python bench/run.py --only W1,W3     # some workloads
    python bench/run.py --json out.json  # save the figures
    python bench/run.py --chart docs/explanation/benchmarks.png   # W3, W4, W5 as a PNG
    python bench/run.py --postgres-url postgresql://u:p@host:5432/db  # W6

Workloads: W1 request/resend/approve cycles on SQLite; W2 a 1,000-document
batch request; W3 rebuilding the read models (100k and 1M events); W4 the
due-reminders look-up (10k vs 100k pending); W5 every list query (10k vs 100k
documents); W6 cycles on PostgreSQL from 1 and 4 processes. Each module's
docstring says what it measures and against what.

Method, everywhere: the subject (approvalflow through its public API) and
its baseline(s) - bare eventsourcing, raw sqlite3, or the same query on a
smaller store - run in alternating rounds within the same run, and medians
are reported with their ratio. Ratios survive a busy or slow machine far
better than absolute times do; nothing here asserts on time. Progress goes
to standard error, results (one table line per measurement) to standard
output. Stores live in a temporary folder removed at the end of the run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

# Run as a script: make the checkout's packages (bench, tests) importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import (
    w1_cycles,
    w2_batch,
    w3_rebuild,
    w4_due,
    w5_lists,
    w6_postgres,
)
from bench._common import FULL, QUICK, Context, note_machine, save_json, say

WORKLOADS: dict[str, Callable[[Context], None]] = {
    "W1": w1_cycles.run,
    "W2": w2_batch.run,
    "W3": w3_rebuild.run,
    "W4": w4_due.run,
    "W5": w5_lists.run,
    "W6": w6_postgres.run,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="approvalflow benchmarks: medians and ratios against baselines"
    )
    parser.add_argument(
        "--quick", action="store_true", help="CI smoke mode: small sizes, few rounds"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated workloads to run, e.g. W1,W3"
    )
    parser.add_argument("--json", type=Path, help="save the results as JSON here")
    parser.add_argument(
        "--chart", type=Path, help="save a PNG of W3, W4 and W5 here (needs matplotlib)"
    )
    parser.add_argument(
        "--postgres-url",
        help="PostgreSQL for W6 (default: start a throwaway server, or skip W6)",
    )
    parser.add_argument(
        "--w3-sizes",
        default="",
        help="comma-separated W3 log sizes in events (default: by mode)",
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds per workload (default: by mode)"
    )
    args = parser.parse_args(argv)
    unknown = set(_split(args.only)) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; known: {sorted(WORKLOADS)}")
    return args


def _split(text: str) -> list[str]:
    return [part.strip().upper() for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = QUICK if args.quick else FULL
    if args.w3_sizes:
        sizes = tuple(int(s.replace("_", "")) for s in args.w3_sizes.split(","))
        mode = replace(mode, w3_sizes=sizes)
    if args.rounds:
        n = args.rounds
        mode = replace(mode, rounds=n, w2_rounds=n, w3_rounds=n, w6_rounds=n)
    chosen = _split(args.only) or list(WORKLOADS)
    started = time.perf_counter()
    say(f"approvalflow benchmarks, {mode.name} mode: {', '.join(chosen)}")
    say(note_machine())
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="approvalflow-bench-") as scratch:
        ctx = Context(mode=mode, scratch=Path(scratch), postgres_url=args.postgres_url)
        for name in chosen:
            began = time.perf_counter()
            try:
                WORKLOADS[name](ctx)
            except Exception as exc:  # report it, run the others, then fail
                failed.append(name)
                say(f"{name} FAILED: {type(exc).__name__}: {exc}")
            say(f"   ({name} took {time.perf_counter() - began:.1f} s)")
        results = ctx.results
    results["run"] = {
        "mode": mode.name,
        "workloads": chosen,
        "seconds": time.perf_counter() - started,
        "machine": note_machine(),
    }
    if args.json:
        save_json(results, args.json)
    if args.chart:
        from bench import chart  # noqa: PLC0415 - matplotlib only when asked

        chart.draw(results, args.chart)
        say(f"chart saved to {args.chart}")
    say(f"total {time.perf_counter() - started:.1f} s")
    if failed:
        say(f"failed workloads: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
