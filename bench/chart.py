"""A PNG of W3, W4 and W5 from a run's results (``--chart``, full mode).

matplotlib is imported here only, when a chart is asked for, so the quick
mode (and CI) never needs it: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from bench._common import Results


def draw(results: Results, out: Path) -> None:
    # Imported by name, not by an import statement: matplotlib is optional,
    # and the type checker runs where only the dev extras are installed.
    mpl: Any = importlib.import_module("matplotlib")
    mpl.use("Agg")  # files only: no display needed
    plt: Any = importlib.import_module("matplotlib.pyplot")

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    _rebuild(results.get("W3", {}), axes[0][0], axes[0][1])
    _queries(results.get("W4", {}), results.get("W5", {}), axes[1][0], axes[1][1])
    fig.suptitle("approvalflow benchmarks (medians; see bench/run.py)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _rebuild(w3: dict[str, Any], rates: Any, times: Any) -> None:
    sizes = sorted(w3.get("sizes", {}).items(), key=lambda item: int(item[0]))
    events = [row["events"] for _, row in sizes]
    for key, label in (
        ("approvalflow", "approvalflow rebuild_views"),
        ("eventsourcing", "eventsourcing read + decode"),
    ):
        rates.plot(
            events, [row[f"{key}_events_per_s"] for _, row in sizes], "o-", label=label
        )
        times.plot(
            events, [row[f"{key}_seconds"] for _, row in sizes], "o-", label=label
        )
    for ax, title, unit in (
        (rates, "W3 rebuild: events/s vs log size", "events/s"),
        (times, "W3 rebuild: seconds vs log size", "seconds"),
    ):
        ax.set_xscale("log")
        ax.set_xlabel("events in the log")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.legend(fontsize=8)
        ax.grid(visible=True, alpha=0.3)


def _queries(w4: dict[str, Any], w5: dict[str, Any], due: Any, lists: Any) -> None:
    if w4:
        sizes = [int(s) for s in w4["sizes"]]
        due.plot(
            sizes,
            [w4["median_seconds"][str(s)] * 1e3 for s in sizes],
            "o-",
            label="due_reminders(now, 100)",
        )
    due.axhline(2.0, color="grey", linestyle="--", linewidth=0.8, label="2 ms")
    due.set_title("W4 due reminders: median ms vs pending requests")
    due.set_xlabel("pending requests")
    due.set_ylabel("ms")
    due.legend(fontsize=8)
    if w5:
        small, large = w5["sizes"]
        for name, row in w5["queries"].items():
            lists.plot(
                [small, large],
                [row["small_seconds"] * 1e3, row["large_seconds"] * 1e3],
                "o-",
                label=name,
                linewidth=0.9,
            )
    lists.axhline(2.0, color="grey", linestyle="--", linewidth=0.8)
    lists.set_title("W5 list queries: median ms vs documents")
    lists.set_xlabel("documents")
    lists.set_ylabel("ms")
    lists.set_yscale("log")
    lists.legend(fontsize=6, ncol=2)
    for ax in (due, lists):
        ax.set_xscale("log")
        ax.grid(visible=True, alpha=0.3)
