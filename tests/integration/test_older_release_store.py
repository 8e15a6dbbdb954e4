"""A store written by release 0.1.0.dev0 opens today and answers the same.

``tests/fixtures/release-0.1.0.dev0.sqlite3`` was written by that release
(see ``tests/fixtures/make_release_store.py``), and the release's answers were
recorded beside it. This code must open a copy of it and give every recorded
answer again, asked the same way (lists paged three rows at a time), without
touching the stored events; new commands must work on it.

Only the public API is used: a later release may lay its read models out
differently (and rebuild them on opening), as long as the answers stay.
Answers may gain fields; the recorded ones must not change.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from approvalflow import ApprovalFlowError, Approvals, ApprovalState, connect
from approvalflow.cli import main
from approvalflow.testing import (
    ControllableClock,
    FixedComposer,
    RecordingMailer,
    RecordingPortal,
    StaticLinks,
)
from tests.fixtures.make_release_store import (
    DOCUMENT_IDS,
    EXPECTED_FILE,
    FINAL_TIME,
    PAGE_SIZE,
    STORE_FILE,
    events_digest,
    file_digest,
    final_directory,
    release_answers,
    stored_events,
)

EXPECTED: dict[str, Any] = json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))


def open_copy(directory: Path) -> tuple[Approvals, ControllableClock]:
    """The application on a fresh copy of the fixture, at the recorded time."""
    assert file_digest(STORE_FILE) == EXPECTED["store_sha256"]
    copy = directory / "older-release.sqlite3"
    shutil.copyfile(STORE_FILE, copy)
    clock = ControllableClock(datetime.fromisoformat(EXPECTED["final_time"]))
    app = connect(f"sqlite:///{copy}", directory=final_directory(), clock=clock)
    return app, clock


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Today's answers, asked of a copy of the fixture (once for the module)."""
    app, _clock = open_copy(tmp_path_factory.mktemp("older-release"))
    with app:
        before = events_digest(app)
        got = release_answers(app)
        assert events_digest(app) == before
    yield got
    assert file_digest(STORE_FILE) == EXPECTED["store_sha256"]


@pytest.fixture
def old_store(tmp_path: Path) -> Iterator[tuple[Approvals, ControllableClock]]:
    """A copy of the fixture to write to."""
    app, clock = open_copy(tmp_path)
    with app:
        yield app, clock
    assert file_digest(STORE_FILE) == EXPECTED["store_sha256"]


def test_the_fixture_is_one_small_file_recorded_at_the_final_time() -> None:
    assert EXPECTED["release"] == "0.1.0.dev0"
    assert datetime.fromisoformat(EXPECTED["final_time"]) == FINAL_TIME
    assert STORE_FILE.stat().st_size < 1_000_000
    for suffix in ("-wal", "-shm", "-journal"):
        assert not Path(f"{STORE_FILE}{suffix}").exists()
    assert file_digest(STORE_FILE) == EXPECTED["store_sha256"]
    assert sorted(EXPECTED["documents"]) == sorted(DOCUMENT_IDS)


def test_the_stored_events_are_read_untouched(tmp_path: Path) -> None:
    app, _clock = open_copy(tmp_path)
    with app:
        assert len(stored_events(app)) == EXPECTED["event_count"]
        assert events_digest(app) == EXPECTED["events_sha256"]
    with connect(f"sqlite:///{tmp_path / 'older-release.sqlite3'}") as reopened:
        # Opened again without a directory or clock: still the same log.
        assert events_digest(reopened) == EXPECTED["events_sha256"]
    assert file_digest(STORE_FILE) == EXPECTED["store_sha256"]


def _without_summaries(answers: dict[str, Any]) -> dict[str, Any]:
    """A document's answers without the audit trail's summaries.

    Summaries are words for people, reworded on purpose between releases
    (they became sentences with names); the facts they tell are the rows'
    other fields, which must not change.
    """
    trail = [
        {k: v for k, v in row.items() if k != "summary"}
        for row in answers["audit_trail"]
    ]
    return {**answers, "audit_trail": trail}


@pytest.mark.parametrize("document_id", DOCUMENT_IDS)
def test_each_document_answers_the_same(
    answers: dict[str, Any], document_id: str
) -> None:
    want = _without_summaries(EXPECTED["documents"][document_id])
    got = _without_summaries(answers["documents"][document_id])
    for query in want:
        assert got[query] == want[query], f"{query}({document_id!r})"
    assert got == want
    # Today's summaries read as sentences for the old events too.
    for row in answers["documents"][document_id]["audit_trail"]:
        summary = row["summary"]
        assert summary[:1].isupper(), summary
        assert "(s)" not in summary
        assert "#" not in summary


def _described(entry: dict[str, Any]) -> str:
    where = f"account_id={entry['account_id']!r}, filters={entry['filters']!r}"
    return f"{where}, limit={PAGE_SIZE}"


@pytest.mark.parametrize("query", ["recent", "approvals_tab"])
def test_every_list_pages_the_same(answers: dict[str, Any], query: str) -> None:
    want, got = EXPECTED[query], answers[query]
    assert [_described(e) for e in got] == [_described(e) for e in want]
    for want_entry, got_entry in zip(want, got, strict=True):
        assert got_entry["pages"] == want_entry["pages"], (
            f"{query}({_described(want_entry)})"
        )
        assert got_entry == want_entry, f"{query}({_described(want_entry)})"


def test_accounts_pending_and_due_reminders_are_the_same(
    answers: dict[str, Any],
) -> None:
    assert answers["accounts_pending"] == EXPECTED["accounts_pending"]
    assert answers["due_reminders"] == EXPECTED["due_reminders"]
    assert EXPECTED["due_reminders"], "the fixture has reminders due"


@pytest.mark.parametrize("query", ["document_as_of", "approvals_tab_as_of"])
def test_the_past_reads_the_same(answers: dict[str, Any], query: str) -> None:
    for want, got in zip(EXPECTED[query], answers[query], strict=True):
        assert got == want, f"{query} at {want['at']}"


def test_every_recorded_answer_is_given_again(answers: dict[str, Any]) -> None:
    recorded = {k: v for k, v in EXPECTED.items() if k in answers}
    assert set(recorded) == set(answers)

    def facts(given: dict[str, Any]) -> dict[str, Any]:
        documents = {d: _without_summaries(a) for d, a in given["documents"].items()}
        return {**given, "documents": documents}

    assert facts(answers) == facts(recorded)


def test_reading_commands_on_the_old_store_say_how_to_upgrade_it(
    tmp_path: Path,
) -> None:
    # Opened read-only, the old file (not in WAL mode, its lists of an
    # earlier layout) reads what does not need the lists; the lists' status
    # says what to do, not "try again when it is back".
    copy = tmp_path / "older-release.sqlite3"
    shutil.copyfile(STORE_FILE, copy)
    runner = CliRunner()
    status = runner.invoke(main, ["projections", "status", "--db", str(copy)])
    assert status.exit_code == 1
    said = " ".join(status.output.split())
    assert "made by an earlier approvalflow release" in said
    assert "approvalflow projections rebuild --db" in said
    assert "try again" not in said
    log = runner.invoke(main, ["audit", "log", "--db", str(copy)])
    assert log.exit_code == 0, log.output
    backlog = runner.invoke(main, ["deliveries", "status", "--db", str(copy)])
    assert backlog.output.startswith("position 121 of 140 events"), backlog.output
    assert file_digest(copy) == EXPECTED["store_sha256"]  # nothing changed
    # Doing what it says works, and the status then reads.
    rebuilt = runner.invoke(main, ["projections", "rebuild", "--db", str(copy)])
    assert rebuilt.exit_code == 0, rebuilt.output
    again = runner.invoke(main, ["projections", "status", "--db", str(copy)])
    assert again.exit_code == 0, again.output
    assert again.output.split()[:4] == ["view", "position", "head", "behind"]


def test_a_new_decision_on_the_old_store_shows_in_the_lists(
    old_store: tuple[Approvals, ControllableClock],
) -> None:
    app, clock = old_store
    before = EXPECTED["documents"]["a06"]
    assert before["status"]["state"] == "pending_approval"
    pending = dict(EXPECTED["accounts_pending"])

    clock.advance(hours=1)
    app.approve("a06", by="c1", comment="Approved on the old store")

    assert len(stored_events(app)) == EXPECTED["event_count"] + 1
    assert app.status("a06").state is ApprovalState.APPROVED
    history = app.history("a06")
    assert [[e.version, e.event] for e in history[:-1]] == [
        [v, name] for v, name, _at in before["history"]
    ]
    assert history[-1].event == "Approved"
    assert app.audit_trail("a06")[-1].actor_name == "Claire Dupont"
    top = app.recent(limit=PAGE_SIZE).rows[0]
    assert (top.document_id, top.state) == ("a06", ApprovalState.APPROVED)
    approved = app.approvals_tab("acme", filters=["approved"], limit=50).rows
    assert "a06" in [row.document_id for row in approved]
    waiting = app.approvals_tab("acme", filters=["pending_approval"], limit=50).rows
    assert "a06" not in [row.document_id for row in waiting]
    assert {a.account_id: a.pending for a in app.accounts_pending()} == {
        **pending,
        "acme": pending["acme"] - 1,
    }
    with pytest.raises(ApprovalFlowError, match="approved") as refused:
        app.rejection_reasons("a06")
    assert type(refused.value).__name__ == "ReasonsNotOfferedError"


def test_due_reminders_go_out_once_on_the_old_store(
    old_store: tuple[Approvals, ControllableClock],
) -> None:
    app, _clock = old_store
    now = app.clock.now()
    assert app.send_due_reminders() == EXPECTED["due_reminders"]
    assert app.send_due_reminders() == []
    assert app.views.due_reminders(app.clock.now(), 100) == []
    for doc_id in EXPECTED["due_reminders"]:
        assert app.history(doc_id)[-1].event == "Reminded"
        following = app.status(doc_id).next_reminder_at
        assert following is None or following > now


def test_deliveries_resume_where_the_old_worker_stopped(
    old_store: tuple[Approvals, ControllableClock],
) -> None:
    app, clock = old_store
    notified_before = {
        (doc_id, row["details"]["report"]["about_version"])
        for doc_id, answers in EXPECTED["documents"].items()
        for row in answers["audit_trail"]
        if row["event"] == "Notified"
    }
    assert notified_before, "the old worker delivered part of the log"
    mailer = RecordingMailer()
    notifier = app.notifier(
        composer=FixedComposer(),
        mailer=mailer,
        portal=RecordingPortal(),
        links=StaticLinks("https://portal.example"),
        worker="test-worker",
        lease_clock=clock,
    )
    while notifier.run_once().events:
        pass
    notifier.stop()

    emailed = 0
    notified_now = set()
    for doc_id in DOCUMENT_IDS:
        old_length = len(EXPECTED["documents"][doc_id]["history"])
        for entry in app.history(doc_id)[old_length:]:
            assert entry.event == "Notified", (doc_id, entry.event)
            report = entry.details["report"]
            notified_now.add((doc_id, report["about_version"]))
            emailed += sum(
                d["channel"] == "email" and d["outcome"] == "sent"
                for d in report["deliveries"]
            )
    assert notified_now
    assert not notified_now & notified_before, "nothing is delivered twice"
    assert len(mailer.sent) == emailed
