"""Other people's files stay as they were; reading never creates or writes."""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from approvalflow import (
    ApprovalState,
    ConfigurationError,
    InvalidInputError,
    NotAStoreError,
    StoreError,
    StoreNotFoundError,
    connect,
)
from approvalflow.storage import APPLICATION_ID
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "approvalflow.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def crm(tmp_path: Path) -> Path:
    """Another application's SQLite database (rollback journal, its tables)."""
    path = tmp_path / "crm.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ACME')")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "approvals.sqlite3"
    with connect(
        f"sqlite:///{path}", directory=make_directory(), clock=ControllableClock(START)
    ) as app:
        app.request_approval("d1", by="f1")
    return path


@pytest.mark.parametrize(
    "command", [("history", "d1"), ("audit", "verify"), ("deliveries", "status")]
)
def test_reading_commands_leave_another_applications_database_untouched(
    crm: Path, command: tuple[str, ...]
) -> None:
    before = digest(crm)
    done = cli(*command, "--db", crm.name, cwd=crm.parent)
    assert done.returncode == 1
    assert "another application's database" in done.stderr
    assert "customers" in done.stderr
    assert "Traceback" not in done.stderr
    assert digest(crm) == before
    assert sorted(p.name for p in crm.parent.iterdir()) == ["crm.sqlite3"]


def test_connect_refuses_another_applications_database_untouched(crm: Path) -> None:
    before = digest(crm)
    with pytest.raises(NotAStoreError, match="left it untouched"):
        connect(f"sqlite:///{crm}", directory=make_directory())
    assert digest(crm) == before
    journal = sqlite3.connect(crm).execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "delete"  # not switched to WAL


@pytest.mark.parametrize("existing", ["missing", "empty"])
def test_reading_a_mistyped_path_creates_nothing(tmp_path: Path, existing: str) -> None:
    if existing == "empty":
        (tmp_path / "typo.sqlite3").touch()
    done = cli("history", "d1", "--db", "typo.sqlite3", cwd=tmp_path)
    assert done.returncode == 1
    assert "no approvalflow store at" in done.stderr
    found = sorted(p.name for p in tmp_path.iterdir())
    assert found == ([] if existing == "missing" else ["typo.sqlite3"])
    if existing == "empty":
        assert (tmp_path / "typo.sqlite3").stat().st_size == 0


def test_create_false_refuses_a_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFoundError, match="nothing was created"):
        connect(f"sqlite:///{tmp_path / 'nope.sqlite3'}", create=False)
    assert list(tmp_path.iterdir()) == []


def test_a_new_store_is_marked_as_approvalflows(store: Path) -> None:
    mark = sqlite3.connect(store).execute("PRAGMA application_id").fetchone()[0]
    assert mark == APPLICATION_ID


def test_a_read_only_copy_answers_everything_and_changes_nothing(
    store: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy" / "auditor.sqlite3"
    copy.parent.mkdir()
    shutil.copyfile(store, copy)
    before = digest(copy)
    clock = ControllableClock(START)
    with connect(
        f"sqlite:///{copy}", read_only=True, clock=clock, directory=make_directory()
    ) as app:
        assert app.status("d1").state is ApprovalState.PENDING
        assert [e.describe() for e in app.history("d1")]
        assert [r.document_id for r in app.recent().rows] == ["d1"]
        assert app.verify_audit().ok
        with pytest.raises(StoreError, match="read-only"):
            app.cancel("d1", by="f1")
    assert digest(copy) == before


def test_an_immutable_copy_opens_without_lock_files(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy on read-only media: the tests run as root, who may write
    # anywhere, so the check for write permission is told "no".
    copy = tmp_path / "media" / "copy.sqlite3"
    copy.parent.mkdir()
    shutil.copyfile(store, copy)
    monkeypatch.setattr("approvalflow.bootstrap.os.access", lambda *_: False)
    with connect(f"sqlite:///{copy}", read_only=True) as app:
        assert app.status("d1").state is ApprovalState.PENDING
        assert app.verify_audit().ok
    assert sorted(p.name for p in copy.parent.iterdir()) == ["copy.sqlite3"]


def test_reading_commands_work_on_a_read_only_copy(store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "r" / "copy.sqlite3"
    copy.parent.mkdir()
    shutil.copyfile(store, copy)
    before = digest(copy)
    for args in (("history", "d1"), ("audit", "verify"), ("audit", "d1")):
        done = cli(*args, "--db", str(copy), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert digest(copy) == before


@pytest.fixture
def eventsourcing_db(tmp_path: Path) -> Path:
    """A database made by the eventsourcing library itself: its events table only."""
    from eventsourcing.application import Application  # noqa: PLC0415

    path = tmp_path / "other-app.sqlite3"
    app: Application[Any] = Application(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    )
    app.close()
    tables = sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    assert [r[0] for r in tables] == ["stored_events"]
    return path


def test_connect_refuses_a_bare_eventsourcing_database_untouched(
    eventsourcing_db: Path,
) -> None:
    before = digest(eventsourcing_db)
    for read_only in (False, True):
        with pytest.raises(NotAStoreError, match="stored_events"):
            connect(f"sqlite:///{eventsourcing_db}", read_only=read_only)
    assert digest(eventsourcing_db) == before


@pytest.mark.parametrize(
    "command",
    [
        ("projections", "rebuild"),
        (
            "worker",
            "--once",
            "--directory",
            "approvalflow.demo:demo_directory",
            "--sender",
            "a@firm.example",
            "--firm-name",
            "Firm",
            "--portal-url",
            "https://portal.example",
            "--mail-dir",
            "mail",
        ),
        ("deliveries", "retry"),
        ("history", "d1"),
    ],
)
def test_commands_leave_a_bare_eventsourcing_database_untouched(
    eventsourcing_db: Path, command: tuple[str, ...]
) -> None:
    before = digest(eventsourcing_db)
    done = cli(*command, "--db", eventsourcing_db.name, cwd=eventsourcing_db.parent)
    assert done.returncode != 0
    assert "another application's database" in done.stderr
    assert "Traceback" not in done.stderr
    assert digest(eventsourcing_db) == before
    tables = sqlite3.connect(eventsourcing_db).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    assert [r[0] for r in tables] == ["stored_events"]


@pytest.mark.parametrize("name", ["a#b.sqlite3", "what?.sqlite3", "%41.sqlite3"])
def test_a_plain_path_with_url_characters_is_that_file(
    tmp_path: Path, store: Path, name: str
) -> None:
    named = tmp_path / name
    shutil.copyfile(store, named)
    # A file the unquoted URL would have meant instead: 'A.sqlite3' for %41.
    decoy = tmp_path / "A.sqlite3"
    done = cli("history", "d1", "--db", name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "asked account acme to approve" in done.stdout
    assert not decoy.exists()
    # Nothing but the two stores and SQLite's files beside them.
    made = {p.name.partition(".sqlite3")[0] for p in tmp_path.iterdir()}
    assert made == {name.partition(".sqlite3")[0], "approvals"}


def test_a_store_edited_to_unreadable_is_a_clear_error_for_every_command(
    store: Path,
) -> None:
    with connect(
        f"sqlite:///{store}", directory=make_directory(), clock=ControllableClock(START)
    ) as app:
        app.approve("d1", by="c1")
        app.request_approval("d2", by="f1")
        app.approve("d2", by="c1")
    with sqlite3.connect(store) as conn:
        # d1's approval given a topic no release has; d2's request deleted.
        conn.execute(
            "UPDATE stored_events SET topic = 'approvalflow:Nope.Gone'"
            " WHERE topic LIKE '%Approved' AND rowid = (SELECT min(rowid)"
            " FROM stored_events WHERE topic LIKE '%Approved')"
        )
        conn.execute(
            "DELETE FROM stored_events WHERE topic LIKE '%Requested'"
            " AND rowid = (SELECT max(rowid) FROM stored_events"
            " WHERE topic LIKE '%Requested')"
        )
    worker = (
        "worker",
        "--once",
        "--directory",
        "approvalflow.demo:demo_directory",
        "--sender",
        "a@firm.example",
        "--firm-name",
        "Firm",
        "--portal-url",
        "https://portal.example",
        "--mail-dir",
        "mail",
    )
    for command in (("history", "d1"), ("history", "d2"), worker):
        done = cli(*command, "--db", store.name, cwd=store.parent)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert "audit verify" in done.stderr, done.stderr
    verify = cli("audit", "verify", "--db", store.name, cwd=store.parent)
    assert verify.returncode == 1
    assert "retopiced" in verify.stdout
    assert "deleted" in verify.stdout


@pytest.mark.parametrize("length", [300, 5_000])
def test_a_name_too_long_for_the_file_system_is_a_clear_error(
    tmp_path: Path, length: int
) -> None:
    with pytest.raises(ConfigurationError, match="File name too long"):
        connect(f"sqlite:///{tmp_path / ('x' * length)}")
    done = cli("history", "d1", "--db", "y" * length, cwd=tmp_path)
    assert done.returncode == 1
    assert "File name too long" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr) < 1_000


def test_moments_with_no_utc_time_are_refused_clearly(store: Path) -> None:
    edge = "0001-01-01T00:00:00+14:00"
    done = cli("audit", "log", "--since", edge, "--db", store.name, cwd=store.parent)
    assert done.returncode == 2
    assert "between the years 1 and 9999" in done.stderr
    assert "Traceback" not in done.stderr
    with (
        connect(f"sqlite:///{store}", read_only=True) as app,
        pytest.raises(InvalidInputError, match="no UTC time"),
    ):
        app.export_audit_log(io.StringIO(), since=datetime.fromisoformat(edge))
