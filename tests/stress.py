"""Run the tests that wait on other processes many times, on a loaded machine.

``python -m tests.stress [--runs N] [--spinners N] [--writers N] [pytest args]``
starts the load (processes spinning on the CPU, processes appending to a
file and ``fsync``-ing it in a loop), runs pytest with the given arguments
``N`` times one after another, stops the load and prints one line per run
and a summary. Without pytest arguments it runs the tests that wait on
worker processes, the portal's server, the browser and log followers.
Each run's output is kept in ``test-artifacts/stress/<start>-<pid>/``. The exit status
is 0 when every run passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "test-artifacts" / "stress"

#: The tests that wait on another process: workers, the portal, the
#: browser, followers, racing and restarted servers.
DEFAULT_TESTS = (
    "tests/portal",
    "tests/integration/test_many_processes.py",
    "tests/integration/test_views_across_processes.py",
    "tests/integration/test_worker.py",
    "tests/integration/test_races.py",
    "tests/integration/test_postgres_outage.py",
)
#: What a writer appends before each fsync (small: the load is the fsyncs, not
#: the bandwidth), and where it starts the file again.
CHUNK = 4 * 1024
MAX_FILE = 64 * 1024 * 1024

_SUMMARY = re.compile(r"\d+ (passed|failed|errors?|skipped|deselected)\b")


def spin(stop: Event, spins: Synchronized[int]) -> None:
    """Keep one CPU busy until ``stop`` is set."""
    count = 0
    while not stop.is_set():
        for _ in range(100_000):
            count += 1
        with spins.get_lock():
            spins.value += 100_000


def write(stop: Event, path: str, syncs: Synchronized[int]) -> None:
    """Append to ``path`` and fsync it, again and again, until ``stop`` is set."""
    chunk = os.urandom(CHUNK)
    with Path(path).open("ab") as file:
        while not stop.is_set():
            file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
            with syncs.get_lock():
                syncs.value += 1
            if file.tell() >= MAX_FILE:
                file.truncate(0)
                file.seek(0)


class Load:
    """The running load processes and what they have done."""

    def __init__(self, spinners: int, writers: int, folder: Path) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.stop = ctx.Event()
        self.spins: Synchronized[int] = ctx.Value("q", 0)
        self.syncs: Synchronized[int] = ctx.Value("q", 0)
        self.processes = [
            ctx.Process(target=spin, args=(self.stop, self.spins), daemon=True)
            for _ in range(spinners)
        ] + [
            ctx.Process(
                target=write,
                args=(self.stop, str(folder / f"load-{i}.bin"), self.syncs),
                daemon=True,
            )
            for i in range(writers)
        ]

    def start(self) -> None:
        """Start every load process."""
        for process in self.processes:
            process.start()

    def end(self) -> None:
        """Stop every load process and wait until each has exited."""
        self.stop.set()
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()

    @property
    def pids(self) -> list[int]:
        """The load processes' ids (for checking they are gone)."""
        return [p.pid for p in self.processes if p.pid is not None]


@contextmanager
def loaded(spinners: int, writers: int) -> Iterator[Load]:
    """The machine under load while the block runs; the load files removed after."""
    with tempfile.TemporaryDirectory(prefix="approvalflow-stress-") as folder:
        load = Load(spinners, writers, Path(folder))
        load.start()
        try:
            yield load
        finally:
            load.end()


def summary_line(output: str) -> str:
    """pytest's closing line (``3 passed, 1 failed in 12.34s``), or a note."""
    for line in reversed(output.splitlines()):
        text = line.strip(" =")
        if _SUMMARY.search(text):
            return text
    return "no pytest summary (see the log)"


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """The stress options, and everything else for pytest."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.stress",
        description=(
            "Run pytest N times while other processes load the CPU and the disk. "
            "Arguments it does not know go to pytest (default: the tests that "
            "wait on other processes)."
        ),
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="How many runs (default: 3)."
    )
    parser.add_argument(
        "--spinners",
        type=int,
        default=2,
        help="Processes spinning on the CPU (default: 2).",
    )
    parser.add_argument(
        "--writers",
        type=int,
        default=2,
        help="Processes appending to a file and fsync-ing it (default: 2).",
    )
    options, rest = parser.parse_known_args(argv)
    if options.runs < 1 or options.spinners < 0 or options.writers < 0:
        parser.error("--runs is at least 1; --spinners and --writers at least 0")
    return options, rest or list(DEFAULT_TESTS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stress; 0 when every run passed."""
    options, pytest_args = parse(sys.argv[1:] if argv is None else argv)
    # A folder per invocation: a stress run inside a stress run (its own
    # test) must not write over the outer one's logs.
    logs = LOGS / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    logs.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    print(
        f"stress: {options.runs} run(s) of pytest {' '.join(pytest_args)} while "
        f"{options.spinners} process(es) spin and {options.writers} append and "
        "fsync",
        flush=True,
    )
    green = 0
    started = time.monotonic()
    with loaded(options.spinners, options.writers) as load:
        print(f"stress: load processes {load.pids}", flush=True)
        for run in range(1, options.runs + 1):
            log = logs / f"run-{run}.log"
            began = time.monotonic()
            with log.open("w") as out:
                done = subprocess.run(
                    command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False
                )
            output = log.read_text(errors="replace")
            passed = done.returncode == 0
            green += passed
            verdict = "green" if passed else f"RED (exit {done.returncode}, see {log})"
            print(
                f"run {run}/{options.runs}: {verdict}: {summary_line(output)} "
                f"[{time.monotonic() - began:.0f} s]",
                flush=True,
            )
        spins, syncs = load.spins.value, load.syncs.value
    print(
        f"stress: {green} of {options.runs} run(s) green in "
        f"{time.monotonic() - started:.0f} s; the load spun {spins:,} times and "
        f"fsync-ed {syncs:,} times ({syncs * CHUNK // 2**20:,} MiB written)",
        flush=True,
    )
    return 0 if green == options.runs else 1


if __name__ == "__main__":
    sys.exit(main())
