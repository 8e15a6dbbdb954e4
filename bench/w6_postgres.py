"""W6: cycles on PostgreSQL from 1 process and from 4, against bare eventsourcing.

The same request -> resend -> approve cycles as W1, on PostgreSQL, by real
OS processes (spawned, each with its own connections), every process on
documents of its own. Four long-lived worker processes are started once and
connected once (approvalflow and the bare eventsourcing application, each in
a schema of its own), then told to run a round: 1 process alone, or all 4 at
once; approvalflow and bare eventsourcing alternate round by round. A round's
throughput is all its cycles over the time from the first process's start to
the last one's end (``time.monotonic``, which all processes share).

Reported: cycles per second with 1 and 4 processes, scaling 4/1, the ratio
approvalflow / bare eventsourcing, "read-model writes discarded" (the
``discarded_batches`` counter of ``app.views`` summed over processes, where
the read side exposes one; "n/a" otherwise), and whether every read model had
caught up with the head of the log after the run (``app.views_status()``).

PostgreSQL comes from ``--postgres-url`` or a throwaway server started with
``tests/pg_server.py``; without either, W6 says it was skipped and why.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

import approvalflow
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
    add_documents,
    approvalflow_cycle,
    bare_cycle,
    create_schema,
    cycle_directory,
    postgres_env,
    with_schema,
)

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

NAME = "W6"
PROCESSES = 4

#: What a worker reports after a run: its index, start and end
#: (``time.monotonic()``) and its discarded read-model writes, if counted.
Report = tuple[int, float, float, int | None]


@dataclass(frozen=True)
class Task:
    """Run ``cycles`` cycles on approvalflow ("af") or bare eventsourcing ("es")."""

    kind: str
    round: int
    processes: int
    cycles: int


def worker(
    index: int, af_url: str, es_env: dict[str, str], inbox: Any, outbox: Any
) -> None:
    """A long-lived process: connect once, then run the rounds it is sent."""
    directory = cycle_directory([])
    af = approvalflow.connect(af_url, directory=directory)
    # The parent created the bare application's tables; creating them again
    # from four processes at once can fail ("tuple concurrently updated").
    bare = BareApp(env={**es_env, "CREATE_TABLE": "n"})
    try:
        # Warm up: connections open, statements prepared, modules loaded.
        warm_af, warm_es = f"warm-af-{index}", f"warm-es-{index}"
        add_documents(directory, [warm_af])
        approvalflow_cycle(af, warm_af)
        bare_cycle(bare, warm_es)
        outbox.put(("ready", index))
        while (task := inbox.get()) is not None:
            docs = [
                f"w6-{task.kind}-{task.processes}p-r{task.round}-w{index}-{i}"
                for i in range(task.cycles)
            ]
            if task.kind == "af":
                add_documents(directory, docs)
            started = time.monotonic()
            for doc in docs:
                if task.kind == "af":
                    approvalflow_cycle(af, doc)
                else:
                    bare_cycle(bare, doc)
            ended = time.monotonic()
            discarded = getattr(af.views, "discarded_batches", None)
            outbox.put((index, started, ended, discarded))
    finally:
        af.close()
        bare.close()


def start_postgres(ctx: Context) -> tuple[str | None, Any, str]:
    """The server URL, a server to stop afterwards (or None), or why not."""
    if ctx.postgres_url:
        return ctx.postgres_url, None, ""
    try:
        from tests import pg_server  # noqa: PLC0415 - only W6 needs it

        progress(f"{NAME}: starting a throwaway PostgreSQL server")
        server = pg_server.start()
    except Exception as exc:  # any failure means: skip W6, say why
        return None, None, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    return server.url, server, ""


def run(ctx: Context) -> None:
    url, server, why = start_postgres(ctx)
    if url is None:
        ctx.results[NAME] = {"skipped": why}
        say(
            f"{NAME} PostgreSQL 1 vs 4 processes: skipped, PostgreSQL unavailable "
            f"({why}); ratio n/a"
        )
        return
    try:
        _run(ctx, url)
    finally:
        if server is not None:
            server.stop()


def _run(ctx: Context, url: str) -> None:
    tag = uuid.uuid4().hex[:10]
    af_url = with_schema(url, f"bench_af_{tag}")
    es_schema = f"bench_es_{tag}"
    es_env = postgres_env(url, es_schema)
    # Tables made once here, before the processes start.
    approvalflow.connect(af_url).close()
    create_schema(url, es_schema)
    BareApp(env=es_env).close()

    spawn = get_context("spawn")
    inboxes: list[Queue[Task | None]] = [spawn.Queue() for _ in range(PROCESSES)]
    outbox: Queue[Any] = spawn.Queue()
    workers = [
        spawn.Process(target=worker, args=(i, af_url, es_env, inboxes[i], outbox))
        for i in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    discarded: dict[int, int | None] = {}
    try:
        for _ in workers:
            message = outbox.get(timeout=120)
            assert message[0] == "ready", message
        cycles = ctx.mode.w6_cycles

        def round_of(kind: str, processes: int) -> Callable[[int], float]:
            def run_round(r: int) -> float:
                task = Task(kind, r, processes, cycles)
                for inbox in inboxes[:processes]:
                    inbox.put(task)
                results: list[Report] = [
                    outbox.get(timeout=600) for _ in range(processes)
                ]
                if kind == "af":
                    for index, _start, _end, count in results:
                        discarded[index] = count
                span = max(end for _, _, end, _ in results) - min(
                    start for _, start, _, _ in results
                )
                return processes * cycles / span

            return run_round

        progress(
            f"{NAME}: {ctx.mode.w6_rounds} rounds; {cycles} cycles per process per run"
        )
        samples = alternate(
            ctx.mode.w6_rounds,
            {
                "approvalflow_1": round_of("af", 1),
                "eventsourcing_1": round_of("es", 1),
                "approvalflow_4": round_of("af", PROCESSES),
                "eventsourcing_4": round_of("es", PROCESSES),
            },
        )
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for process in workers:
            process.join(timeout=60)
    with approvalflow.connect(
        af_url, refresh_views_on_read=False, refresh_views_after_write=False
    ) as app:
        status = app.views_status()
    behind = [
        f"{v.view} at {v.position} of {v.head}" for v in status if v.position < v.head
    ]
    counts = [c for c in discarded.values() if c is not None]
    discarded_text = str(sum(counts)) if counts else "n/a"

    af1, es1, af4, es4 = (
        median(samples[k])
        for k in (
            "approvalflow_1",
            "eventsourcing_1",
            "approvalflow_4",
            "eventsourcing_4",
        )
    )
    ctx.results[NAME] = {
        "cycles_per_process": ctx.mode.w6_cycles,
        "rounds": ctx.mode.w6_rounds,
        "approvalflow_1p_cycles_per_s": af1,
        "approvalflow_4p_cycles_per_s": af4,
        "eventsourcing_1p_cycles_per_s": es1,
        "eventsourcing_4p_cycles_per_s": es4,
        "approvalflow_scaling_4_1": ratio(af4, af1),
        "eventsourcing_scaling_4_1": ratio(es4, es1),
        "ratio_approvalflow_eventsourcing_1p": ratio(af1, es1),
        "ratio_approvalflow_eventsourcing_4p": ratio(af4, es4),
        "read_model_writes_discarded": sum(counts) if counts else None,
        "read_models_caught_up": not behind,
        "samples": samples,
    }
    say(
        f"{NAME} PostgreSQL cycles, 1 vs {PROCESSES} processes: approvalflow "
        f"{fmt_rate(af1)} -> {fmt_rate(af4)} cycles/s (scaling "
        f"{fmt_ratio(ratio(af4, af1))}) | bare eventsourcing {fmt_rate(es1)} -> "
        f"{fmt_rate(es4)} cycles/s (scaling {fmt_ratio(ratio(es4, es1))}) | ratio "
        f"approvalflow/eventsourcing {fmt_ratio(ratio(af1, es1))} (1 process), "
        f"{fmt_ratio(ratio(af4, es4))} ({PROCESSES} processes) | read-model writes "
        f"discarded: {discarded_text} | read models caught up: "
        f"{'yes' if not behind else 'NO (' + ', '.join(behind) + ')'}"
    )
