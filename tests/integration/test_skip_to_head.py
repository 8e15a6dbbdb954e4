"""``deliveries skip-to-head`` says what it would drop and asks before it does.

It marks every undelivered event as delivered, so their messages are never
sent: ``--dry-run`` shows what by channel and kind and changes nothing; an
operator at a terminal is asked; a script says ``--yes``; with no terminal
and no ``--yes`` it refuses rather than wait or go ahead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from approvalflow import connect
from tests.helpers import make_directory
from tests.integration.test_operations import clean_env

#: What the story below leads to: (channel, kind, events), as printed.
EXPECTED = [
    ("email", "decision", "1"),
    ("email", "request", "3"),
    ("email", "resend", "1"),
    ("inbox", "decision", "1"),
    ("portal", "put_task", "4"),
    ("portal", "remove_task", "2"),
    ("sink", "approval.cancelled", "1"),
    ("sink", "approval.rejected", "1"),
    ("sink", "approval.requested", "3"),
    ("sink", "approval.resent", "1"),
]


def story(path: Path) -> Path:
    """Three requests, a resend, a rejection and a cancel: nothing delivered."""
    with connect(f"sqlite:///{path}", directory=make_directory()) as app:
        for document in ("d1", "d2", "d3"):
            app.request_approval(document, by="f1")
        app.resend("d1", by="f1")
        app.reject("d2", by="c1", reasons=["Wrong year"])
        app.cancel("d3", by="f1")
    return path


def skip(
    db: Path, *extra: str, stdin: int | None = subprocess.DEVNULL, answer: str = ""
) -> subprocess.CompletedProcess[str]:
    """``approvalflow deliveries skip-to-head``; ``stdin`` a terminal or not."""
    exe = Path(sys.executable).parent / "approvalflow"
    return subprocess.run(
        [str(exe), "deliveries", "skip-to-head", "--db", str(db), *extra],
        stdin=stdin,
        input=None if stdin is not None else answer,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
        check=False,
    )


def at_a_terminal(db: Path, answer: str) -> subprocess.CompletedProcess[str]:
    """Run it with a terminal (a pseudo-terminal) as standard input."""
    main, side = os.openpty()
    try:
        os.write(main, answer.encode() + b"\n")  # typed ahead: the tty keeps it
        return skip(db, stdin=side)
    finally:
        os.close(side)
        os.close(main)


def position(db: Path) -> tuple[int, int]:
    exe = Path(sys.executable).parent / "approvalflow"
    status = subprocess.run(
        [str(exe), "deliveries", "status", "--json", "--db", str(db)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
        check=False,
    )
    record = json.loads(status.stdout)
    return int(record["position"]), int(record["head"])


def rows(output: str) -> list[tuple[str, ...]]:
    table = output.split("by the messages they lead to:\n", 1)[1].splitlines()
    assert table[0].split() == ["channel", "kind", "events"]
    return [tuple(line.split()) for line in table[1:] if line.startswith("  ")]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return story(tmp_path / "approvals.sqlite3")


def test_a_dry_run_says_what_would_be_skipped_and_changes_nothing(
    store: Path,
) -> None:
    before = position(store)
    assert before[0] == 0
    done = skip(store, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert f"events #1 to #{before[1]} ({before[1]} in all)" in done.stdout
    assert rows(done.stdout) == EXPECTED
    assert done.stdout.rstrip().endswith("Dry run: nothing was changed.")
    assert position(store) == before
    # Also with --yes: a dry run never changes anything.
    assert skip(store, "--dry-run", "--yes").returncode == 0
    assert position(store) == before


def test_without_a_terminal_and_without_yes_it_refuses(store: Path) -> None:
    before = position(store)
    for stdin in (subprocess.DEVNULL, None):  # nothing, or a pipe saying yes
        refused = skip(store, stdin=stdin, answer="y\n")
        assert refused.returncode == 2, refused.stdout
        assert "there is no terminal to ask on" in refused.stderr
        assert "--dry-run" in refused.stderr
        assert "--yes" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert position(store) == before


def test_yes_skips_without_asking(store: Path) -> None:
    head = position(store)[1]
    done = skip(store, "--yes")
    assert done.returncode == 0, done.stderr
    assert rows(done.stdout) == EXPECTED  # what it skipped, said first
    assert "marked as delivered" in done.stdout
    assert position(store) == (head, head)
    again = skip(store, "--yes")
    assert again.returncode == 0
    assert "Nothing to skip" in again.stdout


@pytest.mark.parametrize(("answer", "code", "skipped"), [("n", 1, False),
                         ("", 1, False), ("y", 0, True)])  # fmt: skip
def test_at_a_terminal_it_asks_and_no_is_the_default(
    store: Path, answer: str, code: int, skipped: bool
) -> None:
    head = position(store)[1]
    done = at_a_terminal(store, answer)
    assert done.returncode == code, done.stdout + done.stderr
    assert "Mark these events as delivered?" in done.stdout
    assert "[y/N]" in done.stdout
    if skipped:
        assert position(store) == (head, head)
    else:
        assert "Nothing was changed." in done.stdout
        assert position(store) == (0, head)


def test_the_report_and_the_refusal_are_in_the_chosen_language(store: Path) -> None:
    dry = skip(store, "--dry-run", "--language", "fr")
    assert dry.returncode == 0, dry.stderr
    assert "Pas encore distribués : événements #1 à" in dry.stdout
    assert dry.stdout.splitlines()[1].split() == ["canal", "type", "événements"]
    assert "Simulation : rien n'a été modifié." in dry.stdout
    refused = skip(store, "--language", "de")
    assert refused.returncode == 2
    assert "kein Terminal" in refused.stderr
