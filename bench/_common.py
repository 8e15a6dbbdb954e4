"""What every workload shares: modes, alternating rounds, medians, reporting.

Method: a workload measures its subject (approvalflow) and its baseline(s) in
*alternating rounds* within the same run, each round starting with a
different contender, and reports medians. A shared, noisy machine slows every
contender alike, so the ratio stays meaningful even when the absolute numbers
move; no time is ever asserted.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

#: Results of one run, by workload, as saved by ``--json``.
Results = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Mode:
    """How big and how long each workload runs."""

    name: str
    rounds: int
    w1_cycles: int
    w2_rounds: int
    w3_sizes: tuple[int, ...]
    w3_rounds: int
    w45_sizes: tuple[int, int]
    w4_repeats: int
    w5_repeats: int
    w6_cycles: int
    w6_rounds: int


QUICK = Mode(
    name="quick",
    rounds=3,
    w1_cycles=15,
    w2_rounds=2,
    w3_sizes=(5_000,),
    w3_rounds=1,
    w45_sizes=(1_000, 5_000),
    w4_repeats=20,
    w5_repeats=5,
    w6_cycles=8,
    w6_rounds=1,
)

FULL = Mode(
    name="full",
    rounds=5,
    w1_cycles=150,
    w2_rounds=5,
    w3_sizes=(100_000, 1_000_000),
    w3_rounds=3,
    w45_sizes=(10_000, 100_000),
    w4_repeats=200,
    w5_repeats=25,
    w6_cycles=60,
    w6_rounds=3,
)


@dataclass
class Context:
    """What a workload gets: the mode, a scratch folder, where to report."""

    mode: Mode
    scratch: Path
    postgres_url: str | None = None
    results: Results = field(default_factory=dict)


def say(text: str) -> None:
    """A result line, on standard output."""
    print(text, flush=True)


def progress(text: str) -> None:
    """A progress line, on standard error (results stay on standard output)."""
    print(f"  .. {text}", file=sys.stderr, flush=True)


def alternate(
    rounds: int, contenders: Mapping[str, Callable[[int], float]]
) -> dict[str, list[float]]:
    """Run each contender once per round; return each one's samples.

    Each round starts with the next contender, so none is always first
    (warm caches, a neighbour's burst of work) or always last.
    """
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(contenders[name](r))
    return samples


def median(values: list[float]) -> float:
    """The median, NaN for no values (a skipped measurement)."""
    return statistics.median(values) if values else float("nan")


def timed(action: Callable[[], object]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when undefined."""
    if denominator == 0 or math.isnan(denominator):
        return float("nan")
    return numerator / denominator


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB; NaN off Linux."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def in_child(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``function`` in a fresh process and return its result.

    A *spawned* process starts from nothing, so its peak memory is its own
    work's, not a copy of this process's (as a forked child's would be).
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args, **kwargs).result()


def note_machine() -> str:
    """One line about the machine the figures come from."""
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    return (
        f"machine: {os.cpu_count()} CPUs, load average {load} at start; "
        f"Python {sys.version.split()[0]}"
    )


def save_json(results: Results, path: Path) -> None:
    """Write the results for later comparison (NaN becomes null)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    path.write_text(json.dumps(clean(results), indent=2, sort_keys=True) + "\n")


def fmt_rate(value: float) -> str:
    """A rate with thousands separators, or n/a."""
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


def fmt_ratio(value: float) -> str:
    """A ratio with two decimals, or n/a."""
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def fmt_ms(seconds: float) -> str:
    """Seconds as milliseconds with three decimals, or n/a."""
    return "n/a" if math.isnan(seconds) else f"{seconds * 1e3:.3f} ms"
