"""``python -m tests.stress``: repeated runs under load, a summary, no load left."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.portal.conftest import alive
from tests.stress import DEFAULT_TESTS, parse, summary_line

ROOT = Path(__file__).resolve().parents[2]

TESTS = """
import os
from pathlib import Path

def test_green():
    pass

def test_red_when_asked():
    assert not Path(os.environ["STRESS_RED"]).exists()
"""


def stress(*args: str, red: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.stress", *args],
        cwd=ROOT,
        env={**os.environ, "STRESS_RED": str(red)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_runs_the_tests_n_times_under_load_and_stops_the_load(tmp_path: Path) -> None:
    target = tmp_path / "test_target.py"
    target.write_text(TESTS)
    red = tmp_path / "red"
    done = stress("--runs", "2", str(target), "-q", red=red)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "2 process(es) spin and 2 append and fsync" in lines[0]
    runs = [line for line in lines if line.startswith("run ")]
    assert len(runs) == 2
    assert all(re.match(r"run [12]/2: green: 2 passed in ", line) for line in runs)
    last = lines[-1]
    assert last.startswith("stress: 2 of 2 run(s) green")
    fsyncs = int(re.findall(r"fsync-ed ([\d,]+) times", last)[0].replace(",", ""))
    assert fsyncs > 0
    # The load processes are gone once the command is.
    found = re.search(r"load processes \[([\d, ]+)\]", done.stdout)
    assert found is not None
    pids = [int(pid) for pid in found.group(1).split(",")]
    assert len(pids) == 4
    assert not any(alive(pid) for pid in pids)

    red.touch()  # now one test fails: every run is red, the exit status says so
    failed = stress("--runs", "1", "--spinners", "1", str(target), "-q", red=red)
    assert failed.returncode == 1
    red_log = re.search(r"run 1/1: RED \(exit 1, see (\S+)\)", failed.stdout)
    assert red_log is not None
    assert "1 failed, 1 passed" in Path(red_log.group(1)).read_text()
    assert Path(red_log.group(1)).parent.parent == ROOT / "test-artifacts" / "stress"
    assert "1 failed, 1 passed" in failed.stdout
    assert failed.stdout.splitlines()[-1].startswith("stress: 0 of 1 run(s) green")


def test_options_and_pytest_arguments() -> None:
    options, rest = parse(["--runs", "5", "tests/portal", "-x", "-k", "john"])
    assert (options.runs, options.spinners, options.writers) == (5, 2, 2)
    assert rest == ["tests/portal", "-x", "-k", "john"]
    assert parse([])[1] == list(DEFAULT_TESTS)
    assert all((ROOT / path).exists() for path in DEFAULT_TESTS)
    assert summary_line("...\n== 1 failed, 13 passed in 9.10s ==\n") == (
        "1 failed, 13 passed in 9.10s"
    )
    refused = subprocess.run(
        [sys.executable, "-m", "tests.stress", "--runs", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "--runs is at least 1" in refused.stderr
