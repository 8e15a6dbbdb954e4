"""No command creates a store by mistake: a mistyped --db is an error.

Under cron, a worker that started a new, empty store on a typo reported "0
delivered" and exited 0 every few minutes: no mail and no alarm. Every
command refuses a missing store, on an SQLite file and on PostgreSQL (where
"missing" means approvalflow's tables are not there); only the worker given
``--create`` (and the demo) starts a new one.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import psycopg
import pytest

from approvalflow import connect
from approvalflow.storage import APPLICATION_ID
from tests.helpers import make_directory, postgres_url
from tests.integration.test_operations import cli, recorded_store
from tests.pg_server import PostgresServer

WORKER = (
    "worker",
    "--once",
    "--directory",
    "tests.helpers:make_directory",
    "--sender",
    "cabinet@martin.example",
    "--firm-name",
    "Cabinet Martin",
    "--portal-url",
    "https://portal.martin.example",
)

#: Every command that opens a store, as an operator types it.
COMMANDS = {
    "worker": WORKER,
    "reminders run": ("reminders", "run"),
    "deliveries retry": ("deliveries", "retry"),
    "deliveries skip-to-head": ("deliveries", "skip-to-head", "--yes"),
    "deliveries status": ("deliveries", "status"),
    "projections rebuild": ("projections", "rebuild"),
    "projections status": ("projections", "status"),
    "health": ("health",),
    "history": ("history", "d1"),
    "audit trail": ("audit", "d1"),
    "audit log": ("audit", "log"),
    "audit verify": ("audit", "verify"),
    "audit export": ("audit", "export", "--out", "bundle.json"),
}


def worker(
    tmp_path: Path, db: str, *extra: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    mail = tmp_path / "outbox"
    return cli(
        *WORKER, "--mail-dir", str(mail), "--db", db, *extra, cwd=cwd or tmp_path
    )


def test_the_worker_refuses_a_missing_sqlite_store_and_creates_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "srv"
    folder.mkdir()
    typo = folder / "aproovals.sqlite3"
    refused = worker(tmp_path, str(typo), cwd=folder)
    assert refused.returncode == 1, refused.stdout
    assert "no approvalflow store at" in refused.stderr
    assert "give --create to start a new one" in refused.stderr
    assert "delivered" not in refused.stdout
    assert "Traceback" not in refused.stderr
    assert list(folder.iterdir()) == []  # no file, no -wal or -shm either
    assert not list((tmp_path / "outbox").iterdir())  # and nothing sent


def test_an_empty_file_counts_as_missing(tmp_path: Path) -> None:
    # What `touch` or a failed copy leaves: not a store, and not made one.
    empty = tmp_path / "approvals.sqlite3"
    empty.touch()
    refused = worker(tmp_path, str(empty))
    assert refused.returncode == 1
    assert "give --create" in refused.stderr
    assert empty.stat().st_size == 0


def test_the_worker_given_create_starts_a_new_store(tmp_path: Path) -> None:
    new = tmp_path / "approvals.sqlite3"
    done = worker(tmp_path, str(new), "--create")
    assert done.returncode == 0, done.stderr
    mark = connect_mark(new)
    assert mark == APPLICATION_ID
    # And the next run, without --create, opens the store it made.
    again = worker(tmp_path, str(new))
    assert again.returncode == 0, again.stderr


def test_an_existing_store_needs_no_create(tmp_path: Path) -> None:
    db = recorded_store(tmp_path / "approvals.sqlite3")
    typo = worker(tmp_path, str(tmp_path / "aprovals.sqlite3"))
    assert typo.returncode == 1
    done = worker(tmp_path, str(db))
    assert done.returncode == 0, done.stderr
    assert "1 message sent" in done.stdout
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_create_is_also_set_by_its_variable(tmp_path: Path) -> None:
    new = tmp_path / "approvals.sqlite3"
    args = (*WORKER, "--mail-dir", str(tmp_path / "outbox"), "--db", str(new))
    off = cli(*args, cwd=tmp_path, env={"APPROVALFLOW_CREATE": "0"})
    assert off.returncode == 1
    assert not new.exists()
    on = cli(*args, cwd=tmp_path, env={"APPROVALFLOW_CREATE": "1"})
    assert on.returncode == 0, on.stderr
    assert new.stat().st_size > 0


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_command_creates_a_missing_sqlite_store(
    tmp_path: Path, command: str
) -> None:
    folder = tmp_path / "srv"
    folder.mkdir()
    args = [*COMMANDS[command], "--db", str(folder / "typo.sqlite3")]
    if command == "worker":
        args += ["--mail-dir", str(tmp_path / "outbox")]
    refused = cli(*args, cwd=folder)
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    assert "no approvalflow store at" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert list(folder.iterdir()) == []


def connect_mark(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA application_id").fetchone()[0])
    finally:
        conn.close()


# -- PostgreSQL: "missing" is approvalflow's tables absent --------------------------


def schema_exists(server: PostgresServer, url: str) -> bool:
    schema = url.split("schema=")[1].split("&", maxsplit=1)[0]
    with psycopg.connect(server.url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s",
            [schema],
        ).fetchone()
    assert found is not None
    return bool(found[0])


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_command_creates_a_missing_postgresql_store(
    tmp_path: Path, postgres: PostgresServer, command: str
) -> None:
    url = postgres_url(postgres)
    args = [*COMMANDS[command], "--db", url]
    if command == "worker":
        args += ["--mail-dir", str(tmp_path / "outbox")]
    refused = cli(*args, cwd=tmp_path)
    assert refused.returncode == 1, (refused.stdout, refused.stderr)
    assert "no approvalflow store in PostgreSQL" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not schema_exists(postgres, url)


def test_the_worker_creates_a_postgresql_store_only_when_told(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    url = postgres_url(postgres)
    refused = worker(tmp_path, url)
    assert refused.returncode == 1
    assert "give --create" in refused.stderr
    assert not schema_exists(postgres, url)
    done = worker(tmp_path, url, "--create")
    assert done.returncode == 0, done.stderr
    # The store it made opens without --create, and so do the reading commands.
    with connect(url, create=False, directory=make_directory()) as app:
        app.request_approval("d1", by="f1")
    again = worker(tmp_path, url)
    assert again.returncode == 0, again.stderr
    assert "1 message sent" in again.stdout
    assert cli("health", "--db", url, cwd=tmp_path).returncode == 0
