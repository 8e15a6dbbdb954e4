"""The benchmark suite's quick mode runs end to end, as CI's smoke test.

It runs ``python bench/run.py --quick`` in a subprocess and checks that it
exits cleanly and that every workload printed its table line with a ratio.
Timings are never checked: a shared machine makes them meaningless as a pass
or fail criterion (the suite itself reports ratios against baselines).

W6 needs PostgreSQL. In CI (``CI=true``) the session's throwaway server is
passed to the suite and a skipped W6 fails the test; elsewhere the suite
starts a server of its own, or says W6 was skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import postgres_url

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6")
#: Far above the quick mode's run time, so only a hang fails on time.
TIMEOUT = 600


def test_quick_mode_reports_every_workload_with_a_ratio(
    request: pytest.FixtureRequest,
) -> None:
    command = [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"]
    in_ci = bool(os.environ.get("CI"))
    if in_ci:
        # CI measures PostgreSQL too: the session's server (the fixture fails
        # the run if it cannot start), never a skip.
        command += ["--postgres-url", postgres_url(request.getfixturevalue("postgres"))]
    env = {k: v for k, v in os.environ.items() if k != "PERSISTENCE_MODULE"}
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, output
    lines = result.stdout.splitlines()
    for name in WORKLOADS:
        reported = [line for line in lines if line.startswith(f"{name} ")]
        assert any("ratio" in line for line in reported), f"{name} missing\n{output}"
        assert not any("FAILED" in line for line in reported), output
    w6 = " ".join(line for line in lines if line.startswith("W6 "))
    if in_ci or "skipped" not in w6:
        assert "skipped" not in w6, output
        assert "read models caught up: yes" in w6, output
