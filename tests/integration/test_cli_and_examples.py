"""The command line and the examples, run as a user would run them."""

from __future__ import annotations

import csv
import io
import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import START, postgres_url

ROOT = Path(__file__).resolve().parents[2]


def approvalflow_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("approvalflow", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "approvalflow.cli"]
    env = {k: v for k, v in os.environ.items() if k not in ("PERSISTENCE_MODULE",)}
    return subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )


def test_demo_tells_the_story_then_replays_it(tmp_path: Path) -> None:
    first = approvalflow_cli("demo", "--db", "story.sqlite3", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "Recording the demo story" in out
    for expected in (
        "== tax-return-2025: approved",
        "Automatic reminder 1 was sent (due Mar 5, 2026, 10:00:00\u202fAM GMT+01:00).",
        "Paul Leroy sent the request again.",
        "Message: “Petit rappel",
        "Claire Dupont rejected: Wrong tax year on page 2 and Missing the rental",
        "Comment: “The flat in Lyon was rented from March.”",
        "Anna Martin asked Dupont & Fils to approve “2025 Tax return” (pdf).",
        "Public holidays in France are not working days.",
        "Marc Dupont approved. Comment: “All good now, thank you.”",
        "== engagement-letter: request cancelled",
        "Paul Leroy cancelled the request. Note: “Sent by mistake: wrong fee",
        "== q3-bookkeeping: pending approval, pending payment (invoice INV-2025-042)",
        "== Recent documents (last 30 days, as of Mar 10, 2026, 10:00:00\u202fAM "
        "GMT+01:00)",
        "Q3 bookkeeping (xlsx): requested; status pending approval, pending payment",
        "Engagement letter (docx): cancelled; status cancelled",
        "== Approvals tab of Dupont & Fils",
        "2025 Tax return (pdf)    Mar 8, 2026  Anna Martin  approved",
        "== Accounts with pending approvals\n   dupont: 1 pending",
        "tax-return-2025: cannot show the rejection reasons",
        "Paul Leroy uploaded “Engagement letter”.",
        "== Emails sent (one .eml file each, in",
        "[en] to Claire Dupont <claire@dupont.example>: Reminder 1 of 2: please review",
        "[fr] to Anna Martin <anna@martin-associes.example>: Claire Dupont a refusé",
        "== Portal: Dupont & Fils' Pending action list (top first)\n   Q3 bookkeeping",
        # Anna reads French: her Inbox+ notes are in French, as her emails.
        "== Inbox+ of Anna Martin (Approvals notifications on)\n"
        "   Claire Dupont a refusé 2025 Tax return\n   Marc Dupont a approuvé",
    ):
        assert expected in out, expected
    assert (tmp_path / "story.sqlite3").exists()
    assert len(list((tmp_path / "story.sqlite3-mail").glob("*.eml"))) == 8
    assert "to Marc Dupont" not in out  # Notify off

    second = approvalflow_cli("demo", "--db", "story.sqlite3", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Replaying the history stored in" in second.stdout
    # The replay shows exactly the documents and histories recorded the first time.
    assert second.stdout.split("\n\n", 1)[1].strip() == (
        first.stdout.split("\n\n", 1)[1].rsplit("\n\n", 1)[0].strip()
    )


def test_history_command_reads_the_store_alone(tmp_path: Path) -> None:
    approvalflow_cli("demo", "--db", "story.sqlite3", cwd=tmp_path)
    result = approvalflow_cli(
        "history", "tax-return-2025", "--db", "story.sqlite3", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "tax-return-2025: approved"
    # 7 events of the story, and who was told about the 6 that notify people.
    assert len(lines) == 1 + 7 + 6
    assert sum("People were told of the" in line for line in lines) == 6
    # Read from the store alone: accounts by their id, times in UTC.
    assert lines[2] == (
        "Mar 2, 2026, 9:00:00\u202fAM GMT+00:00  Anna Martin asked account dupont to "
        "approve “2025 Tax return” (pdf). Up to 2 automatic reminders, each after 3 "
        "business days without an answer. Sent between 09:00 and 18:00, "
        "Europe/Paris time. Public holidays in France are not working days. Asked "
        "from the document viewer. Message: “Bonjour, voici votre déclaration "
        "2025 : merci de la valider.”"
    )
    missing = approvalflow_cli("history", "nope", "--db", "story.sqlite3", cwd=tmp_path)
    assert missing.returncode == 1
    assert "no history recorded for document 'nope'" in missing.stderr


def test_bad_store_url_is_a_clear_cli_error(tmp_path: Path) -> None:
    result = approvalflow_cli("history", "d1", "--db", "mysql://x/y", cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown store URL scheme 'mysql'" in result.stderr


def test_host_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = runpy.run_path(str(ROOT / "examples" / "host_app.py"))
    assert module["main"](tmp_path) == "approved"
    out = capsys.readouterr().out
    assert "refused: user 's-1' may not approve" in out


def test_projection_commands(tmp_path: Path) -> None:
    approvalflow_cli("demo", "--db", "story.sqlite3", cwd=tmp_path)
    status = approvalflow_cli(
        "projections", "status", "--db", "story.sqlite3", cwd=tmp_path
    )
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].split() == ["view", "position", "head", "behind"]
    assert [line.split()[0] for line in lines[1:]] == [
        "documents",
        "pending",
        "rejections",
    ]
    assert all(line.split()[1] == line.split()[2] for line in lines[1:])
    assert all(line.split()[3] == "0" for line in lines[1:])

    rebuild = approvalflow_cli(
        "projections", "rebuild", "--db", "story.sqlite3", cwd=tmp_path
    )
    assert rebuild.returncode == 0, rebuild.stderr
    head = lines[1].split()[2]
    assert f"Rebuilt the read models from {head} events in" in rebuild.stdout
    assert "events/s)." in rebuild.stdout

    again = approvalflow_cli("demo", "--db", "story.sqlite3", cwd=tmp_path)
    assert "dupont: 1 pending" in again.stdout


def test_audit_export_command(tmp_path: Path) -> None:
    approvalflow_cli("demo", "--db", "story.sqlite3", cwd=tmp_path)
    jsonl = approvalflow_cli(
        "audit", "tax-return-2025", "--db", "story.sqlite3", cwd=tmp_path
    )
    assert jsonl.returncode == 0, jsonl.stderr
    events = [json.loads(line)["event"] for line in jsonl.stdout.splitlines()]
    assert [e for e in events if e != "Notified"] == [
        "Created", "Requested", "Reminded", "Resent",
        "Rejected", "Requested", "Approved",
    ]  # fmt: skip
    as_csv = approvalflow_cli(
        "audit",
        "tax-return-2025",
        "--format",
        "csv",
        "--db",
        "story.sqlite3",
        cwd=tmp_path,
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["event"] for r in rows] == events
    rejected = next(r for r in rows if r["event"] == "Rejected")
    assert rejected["actor_name"] == "Claire Dupont"
    told = [
        json.loads(r["details"])["report"] for r in rows if r["event"] == "Notified"
    ]
    first = told[0]["deliveries"]
    assert [(d["channel"], d["recipient_id"], d["outcome"]) for d in first] == [
        ("email", "claire", "sent"),  # Marc has Notify off: no email
        ("portal", "dupont", "sent"),
    ]


def test_reminders_and_deliveries_commands(tmp_path: Path) -> None:
    approvalflow_cli("demo", "--db", "story.sqlite3", cwd=tmp_path)
    status = approvalflow_cli(
        "deliveries", "status", "--db", "story.sqlite3", cwd=tmp_path
    )
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    position, head = lines[0].split()[1], lines[0].split()[3]
    assert position == head  # the demo delivered everything
    assert "waiting: 0" in lines
    assert "refused for good: 0" in lines
    # The demo's last request (Q3 bookkeeping) has reminders every 5 days; by
    # the real clock they are long due: one now, the next 5 days later.
    first = approvalflow_cli("reminders", "run", "--db", "story.sqlite3", cwd=tmp_path)
    assert first.stdout.strip() == "1 reminder recorded: q3-bookkeeping"
    again = approvalflow_cli("reminders", "run", "--db", "story.sqlite3", cwd=tmp_path)
    assert again.stdout.strip() == "No reminder was due: none recorded."
    after = approvalflow_cli(
        "deliveries", "status", "--db", "story.sqlite3", cwd=tmp_path
    )
    position, head = after.stdout.split()[1], after.stdout.split()[3]
    assert int(head) == int(position) + 1  # the reminder waits for a worker
    skip = approvalflow_cli(
        "deliveries", "skip-to-head", "--db", "story.sqlite3", "--yes", cwd=tmp_path
    )
    assert "email    reminder" in skip.stdout  # what it skips, said first
    assert skip.stdout.splitlines()[-1].startswith("1 event marked as delivered")


def test_demo_on_postgres_tells_then_replays(postgres: Any, tmp_path: Path) -> None:
    url = postgres_url(postgres)
    first = approvalflow_cli("demo", "--db", url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Recording the demo story in postgresql://approvalflow:***@" in first.stdout
    assert postgres.url.split("@")[0].split(":")[-1] not in first.stdout  # no password
    assert "== tax-return-2025: approved" in first.stdout
    assert len(list((tmp_path / "approvalflow-demo-mail").glob("*.eml"))) == 8
    second = approvalflow_cli("demo", "--db", url, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Replaying the history stored in postgresql://" in second.stdout
    assert second.stdout.split("\n\n", 1)[1].strip() == (
        first.stdout.split("\n\n", 1)[1].rsplit("\n\n", 1)[0].strip()
    )
    status = approvalflow_cli("projections", "status", "--db", url, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert all(line.split()[3] == "0" for line in status.stdout.splitlines()[1:])


def test_history_never_prints_terminal_control_sequences(tmp_path: Path) -> None:
    # A store from an older release or edited by hand may hold a name with
    # escape sequences (today's checks refuse them): history shows them as
    # text instead of letting them retitle the window or clear the screen.
    from approvalflow import ApprovalRequest, DocumentFacts, connect  # noqa: PLC0415
    from approvalflow.domain.values import Actor  # noqa: PLC0415
    from approvalflow.persistence import converter  # noqa: PLC0415

    hostile = "Anna\x1b]0;pwned\x07\x1b[2J\u202e"
    actor = converter.structure(
        {"user_id": "f1", "name": hostile, "role": "firm_member"}, Actor
    )
    facts = DocumentFacts("d1", "acme", "Payroll", "pdf", "Anna")
    store = tmp_path / "old.sqlite3"
    with connect(f"sqlite:///{store}") as app:
        aggregate = ApprovalRequest.open("d1", START)
        aggregate.request(
            document=facts,
            by=actor,
            message=None,
            reminders=None,
            entry_point=None,
            at=START,
        )
        app.log.save(aggregate)
    shown = approvalflow_cli("history", "d1", "--db", str(store), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout
    assert "\x07" not in shown.stdout
    assert "\u202e" not in shown.stdout
    assert "Anna\\u001b]0;pwned\\u0007\\u001b[2J\\u202e" in shown.stdout


WORKER = (
    "worker",
    "--once",
    "--sender",
    "a@firm.example",
    "--firm-name",
    "Firm",
    "--portal-url",
    "https://portal.example",
    "--mail-dir",
    "mail",
)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (("--interval", "0"), "--interval must be a number of seconds from 0.01"),
        (("--interval", "-1"), "--interval must be a number of seconds from 0.01"),
        (("--interval", "nan"), "--interval must be a number of seconds"),
        (("--interval", "3601"), "--interval must be a number of seconds"),
        (("--smtp-timeout", "nan"), "--smtp-timeout must be a number of seconds"),
        (("--directory", "json:loads"), "calling 'json:loads' to make the object"),
        (("--directory", "json:dumps"), "calling 'json:dumps' to make the object"),
    ],
)
def test_worker_settings_are_refused_with_what_is_allowed(
    tmp_path: Path, extra: tuple[str, ...], problem: str
) -> None:
    args = ("--directory", "approvalflow.demo:demo_directory", *extra)
    done = approvalflow_cli(*WORKER, *args, "--db", "w.sqlite3", cwd=tmp_path)
    assert done.returncode == 2
    assert problem in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("extra", "spec"),
    [
        (("--interval", "0.01"), "approvalflow.demo:demo_directory"),
        (("--interval", "3600"), "approvalflow.demo:demo_directory"),
        # A class is instantiated (it has a document() method as a class
        # attribute, which once made it pass for an instance).
        ((), "approvalflow.testing:InMemoryDirectory"),
    ],
)
def test_worker_settings_at_their_bounds_are_accepted(
    tmp_path: Path, extra: tuple[str, ...], spec: str
) -> None:
    args = ("--directory", spec, *extra, "--db", "w.sqlite3", "--create")
    done = approvalflow_cli(*WORKER, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "0 reminders recorded" in done.stdout


def test_deliveries_retry_requeues_what_was_refused(tmp_path: Path) -> None:
    import attrs  # noqa: PLC0415

    from approvalflow import connect  # noqa: PLC0415
    from approvalflow.testing import (  # noqa: PLC0415
        ControllableClock,
        FixedComposer,
        RecordingMailer,
        StaticLinks,
    )
    from tests.helpers import make_directory  # noqa: PLC0415

    directory = make_directory()
    directory.client_users["c1"] = attrs.evolve(
        directory.client_users["c1"], email="claire-at-acme"
    )
    store = tmp_path / "s.sqlite3"
    with connect(
        f"sqlite:///{store}",
        directory=directory,
        clock=ControllableClock(START),
        mailer=RecordingMailer(),
        links=StaticLinks("https://p.example"),
    ) as app:
        app.request_approval("d1", by="f1")
        app.notifier(composer=FixedComposer()).run_once()
    status = approvalflow_cli("deliveries", "status", "--db", str(store), cwd=tmp_path)
    assert "refused for good: 1" in status.stdout
    assert "'claire-at-acme' is not an email address" in status.stdout
    retry = approvalflow_cli("deliveries", "retry", "--db", str(store), cwd=tmp_path)
    assert retry.returncode == 0, retry.stderr
    assert "1 refused delivery will be tried again" in retry.stdout
    status = approvalflow_cli("deliveries", "status", "--db", str(store), cwd=tmp_path)
    assert "waiting: 1" in status.stdout
    assert "refused for good: 0" in status.stdout
    bad = approvalflow_cli(
        "deliveries", "retry", "--event", "0", "--db", str(store), cwd=tmp_path
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


def test_a_file_that_is_not_a_store_gets_a_message_not_a_traceback(
    tmp_path: Path,
) -> None:
    (tmp_path / "crm.sqlite3").write_bytes(b"not a database at all\n")
    shown = approvalflow_cli("history", "d1", "--db", "crm.sqlite3", cwd=tmp_path)
    assert shown.returncode == 1
    assert "not an approvalflow store or is damaged" in shown.stderr
    assert "Traceback" not in shown.stderr


def test_history_shows_the_next_reminder_in_the_clients_zone(tmp_path: Path) -> None:
    approvalflow_cli("demo", "--db", "story.sqlite3", cwd=tmp_path)
    pending = approvalflow_cli(
        "history", "q3-bookkeeping", "--db", "story.sqlite3", cwd=tmp_path
    )
    assert pending.returncode == 0, pending.stderr
    # Requested Monday 9 March 14:40 in Paris, reminders every 5 days at any
    # hour: Saturday 14 March at the same local time.
    assert pending.stdout.splitlines()[1] == (
        "next reminder: Mar 14, 2026, 2:40:00\u202fPM GMT+01:00 (Europe/Paris)"
    )
    decided = approvalflow_cli(
        "history", "tax-return-2025", "--db", "story.sqlite3", cwd=tmp_path
    )
    assert "next reminder" not in decided.stdout


def test_worker_once_and_history_speak_the_readers_language(tmp_path: Path) -> None:
    approvalflow_cli("demo", "--db", "story.sqlite3", cwd=tmp_path)
    # The demo's last request has a reminder long due by the real clock.
    args = ("--directory", "approvalflow.demo:demo_directory", "--db", "story.sqlite3")
    done = approvalflow_cli(*WORKER, *args, "--language", "fr", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "1 rappel enregistré ; 2 événements traités : 1 message envoyé, 0 refusé\n"
    )
    shown = approvalflow_cli(
        "history",
        "tax-return-2025",
        "--db",
        "story.sqlite3",
        "--language",
        "fr",
        "--time-zone",
        "Europe/Paris",
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "tax-return-2025: approuvé"
    # Recorded at 09:00 UTC on 2 March 2026: 10:00 in Paris, written in French.
    assert lines[2].startswith(
        "2 mars 2026, 10:00:00 UTC+01:00  Anna Martin a demandé à « dupont » "
        "d'approuver « 2025 Tax return » (pdf)."
    )
