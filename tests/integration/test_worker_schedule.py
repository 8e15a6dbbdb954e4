"""The firm's reminder schedule given to the worker: options and variables.

Real worker processes on a real SQLite file. The worker runs on the system
clock, so each test picks hours that surely include or exclude the moment
it runs (half an hour away from either edge).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from approvalflow import DocumentFacts, ReminderPolicy, connect
from approvalflow.testing import ControllableClock
from tests.helpers import make_directory

ROOT = Path(__file__).resolve().parents[2]


def run_worker(
    db: Path, mail: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "approvalflow.cli",
        "worker",
        "--once",
        "--db",
        str(db),
        "--directory",
        "tests.helpers:make_directory",
        "--mail-dir",
        str(mail),
        "--sender",
        "cabinet@firm.example",
        "--firm-name",
        "Martin",
        "--portal-url",
        "https://portal.firm.example",
        *extra,
    ]
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def overdue_store(db: Path) -> None:
    """One request recorded ten days ago, without a schedule: overdue now."""
    directory = make_directory()
    directory.add_document(DocumentFacts("x1", "acme", "Doc 1", "pdf", "Anna"))
    past = ControllableClock(datetime.now(UTC) - timedelta(days=10))
    with connect(f"sqlite:///{db}", directory=directory, clock=past) as app:
        app.request_approval("x1", by="f1", reminders=ReminderPolicy(1, 1))


def reminded(db: Path) -> bool:
    with connect(f"sqlite:///{db}", read_only=True) as app:
        return any(e.event == "Reminded" for e in app.history("x1"))


def closed_hours_now() -> str:
    """UTC hours that surely exclude this moment (and the next minutes)."""
    now = datetime.now(UTC)
    return "13:00-23:30" if now.hour < 12 else "00:30-11:00"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    overdue_store(path)
    return path


def test_the_worker_holds_an_overdue_reminder_outside_its_hours_only(
    db: Path, tmp_path: Path
) -> None:
    closed = run_worker(
        db, tmp_path / "mail", "--reminder-time-zone", "UTC",
        "--reminder-hours", closed_hours_now(), "--reminder-weekend", "none",
    )  # fmt: skip
    assert closed.returncode == 0, closed.stderr
    assert not reminded(db)
    # Without a schedule, the overdue reminder goes out at once.
    plain = run_worker(db, tmp_path / "mail")
    assert plain.returncode == 0, plain.stderr
    assert reminded(db)


def test_the_schedule_comes_from_approvalflow_variables_too(
    db: Path, tmp_path: Path
) -> None:
    env = {
        "APPROVALFLOW_REMINDER_TIME_ZONE": "UTC",
        "APPROVALFLOW_REMINDER_HOURS": closed_hours_now(),
        "APPROVALFLOW_REMINDER_WEEKEND": "none",
    }
    closed = run_worker(db, tmp_path / "mail", env=env)
    assert closed.returncode == 0, closed.stderr
    assert not reminded(db)
    # The option wins over its variable.
    opened = run_worker(db, tmp_path / "mail", "--reminder-hours", "any", env=env)
    assert opened.returncode == 0, opened.stderr
    assert reminded(db)


def test_reminders_run_takes_the_same_schedule(db: Path) -> None:
    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "approvalflow.cli", "reminders", "run",
             "--db", str(db), *extra],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip

    closed = run("--reminder-hours", closed_hours_now(), "--reminder-weekend", "none")
    assert closed.returncode == 0, closed.stderr
    assert not reminded(db)
    bad = run("--reminder-weekend", "caturday")
    assert bad.returncode == 2, bad.stderr
    assert "--reminder-weekend (APPROVALFLOW_REMINDER_WEEKEND)" in bad.stderr
    assert not reminded(db)
    plain = run()
    assert plain.returncode == 0, plain.stderr
    assert reminded(db)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            ["--reminder-hours", "18:00-09:00"],
            "--reminder-hours (APPROVALFLOW_REMINDER_HOURS): 09:00:00 is not after "
            "18:00:00",
        ),
        (
            ["--reminder-hours", "9-18"],
            "--reminder-hours (APPROVALFLOW_REMINDER_HOURS): got '9-18'; allowed: "
            "HH:MM-HH:MM",
        ),
        (
            ["--reminder-hours", "09:00-24:00"],
            "--reminder-hours (APPROVALFLOW_REMINDER_HOURS): got '09:00-24:00'",
        ),
        (
            ["--reminder-weekend", "funday"],
            "--reminder-weekend (APPROVALFLOW_REMINDER_WEEKEND): got 'funday'; "
            "allowed: weekdays among mon,tue,wed,thu,fri,sat,sun",
        ),
        (
            ["--reminder-weekend", "mon,tue,wed,thu,fri,sat,sun"],
            "--reminder-weekend (APPROVALFLOW_REMINDER_WEEKEND): got (0, 1, 2, 3, 4, "
            "5, 6)",
        ),
        (
            ["--reminder-holidays", "XX"],
            "--reminder-holidays (APPROVALFLOW_REMINDER_HOLIDAYS): got 'XX'",
        ),
        (
            ["--reminder-time-zone", "Mars/Olympus"],
            "--reminder-time-zone (APPROVALFLOW_REMINDER_TIME_ZONE): 'Mars/Olympus' "
            "is not a known time zone",
        ),
        (
            ["--reminder-holiday-region", "SCT"],
            "--reminder-holiday-region (APPROVALFLOW_REMINDER_HOLIDAY_REGION): given "
            "without holidays",
        ),
        (
            ["--reminder-weekend", "none", "--reminder-working-days"],
            "--reminder-working-days (APPROVALFLOW_REMINDER_WORKING_DAYS): "
            "working days counted while every day is open",
        ),
    ],
)
def test_a_bad_schedule_option_is_a_clear_error_and_nothing_is_sent(
    db: Path, tmp_path: Path, options: list[str], expected: str
) -> None:
    refused = run_worker(db, tmp_path / "mail", *options)
    assert refused.returncode == 2, refused.stderr
    assert expected in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not reminded(db)
