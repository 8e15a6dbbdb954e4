"""connect(): store URLs, eventsourcing's variables, closing, no import-time work."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from approvalflow import (
    ApprovalState,
    ConfigurationError,
    StoreUnavailableError,
    connect,
)
from approvalflow.bootstrap import DEFAULT_SQLITE_FILE, store_env
from approvalflow.testing import ControllableClock
from tests import pg_server
from tests.helpers import START, make_directory


def test_no_url_means_an_sqlite_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PERSISTENCE_MODULE", raising=False)
    monkeypatch.chdir(tmp_path)
    with connect(directory=make_directory(), clock=ControllableClock()) as app:
        app.request_approval("d1", by="f1")
    assert (tmp_path / DEFAULT_SQLITE_FILE).exists()
    with connect() as app:
        assert app.status("d1").state is ApprovalState.PENDING


def test_the_sqlite_file_uses_write_ahead_logging(tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415

    db = tmp_path / "wal.sqlite3"
    with connect(f"sqlite:///{db}", directory=make_directory()) as app:
        app.request_approval("d1", by="f1")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_eventsourcing_variables_keep_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "from-env.sqlite3"
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.sqlite")
    monkeypatch.setenv("SQLITE_DBNAME", str(db))
    monkeypatch.chdir(tmp_path)
    with connect(directory=make_directory()) as app:
        app.request_approval("d1", by="f1")
    assert db.exists()
    assert not (tmp_path / DEFAULT_SQLITE_FILE).exists()


def test_memory_store_is_private_to_the_application() -> None:
    with connect("memory://", directory=make_directory()) as app:
        app.request_approval("d1", by="f1")
    with connect("memory://") as app:
        assert app.status("d1").state is ApprovalState.NONE


def test_relative_sqlite_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="no folder"):
        store_env("sqlite:///sub/x.db")
    (tmp_path / "sub").mkdir()
    assert store_env("sqlite:///sub/x.db")["SQLITE_DBNAME"] == "sub/x.db"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://localhost/db", "unknown store URL scheme 'mysql'"),
        ("sqlite://host/file.db", "names a host"),
        ("sqlite:///", "names no file"),
        ("postgresql://localhost/db", "needs a user, a host and a database"),
        ("postgresql://u:p@localhost/", "needs a user, a host and a database"),
        ("postgresql://u:p@localhost/db?colour=blue", "unknown PostgreSQL option"),
        ("postgresql://u:p@h:99999/db", "unusable port"),
        ("postgresql://u:p@h:abc/db", "unusable port"),
        ("postgresql://u:p@[::1/db", "is not a URL"),
    ],
)
def test_bad_urls_say_what_is_supported(url: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as caught:
        connect(url)
    # Each message says what would have been accepted.
    message = str(caught.value)
    assert any(
        hint in message for hint in ("sqlite:///PATH", "known: ", "port from 1 to")
    )


@pytest.mark.parametrize("port", ["1", "65535"])
def test_ports_at_both_ends_of_the_range_are_accepted(port: str) -> None:
    env = store_env(f"postgresql://u:p@h:{port}/db")
    assert env["POSTGRES_PORT"] == port


def test_postgres_urls_set_eventsourcing_variables() -> None:
    env = store_env(
        "postgresql://ann:p%40ss@db.example:6543/approvals"
        "?schema=firm_a&pool_size=8&max_overflow=2&connect_timeout=3&lock_timeout=5"
    )
    assert env == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "approvals",
        "POSTGRES_HOST": "db.example",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "ann",
        "POSTGRES_PASSWORD": "p@ss",
        "POSTGRES_SCHEMA": "firm_a",
        "POSTGRES_POOL_SIZE": "8",
        "POSTGRES_MAX_OVERFLOW": "2",
        "POSTGRES_CONNECT_TIMEOUT": "3",
        "POSTGRES_LOCK_TIMEOUT": "5",
    }


def test_an_unreachable_postgres_is_a_clear_error() -> None:
    from tests.smtp_server import free_port  # noqa: PLC0415

    url = f"postgresql://u:p@127.0.0.1:{free_port()}/db?connect_timeout=1"
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match="cannot connect to PostgreSQL at 127"):
        connect(url)
    assert time.monotonic() - started < 20


def test_postgres_environment_variables_keep_working(
    postgres: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = store_env(postgres.url + "?schema=public")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with connect(directory=make_directory()) as app:
        app.request_approval("d1", by="f1")
        assert type(app.log.factory).__module__ == "eventsourcing.postgres"
    with connect(postgres.url) as again:
        assert again.status("d1").state is ApprovalState.PENDING


def test_importing_builds_nothing(tmp_path: Path) -> None:
    code = (
        "import os, approvalflow, approvalflow.cli, approvalflow.testing;"
        "print(sorted(os.listdir('.')))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PERSISTENCE_MODULE"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert out.stdout.strip() == "[]"


def test_closing_releases_the_database(tmp_path: Path) -> None:
    db = tmp_path / "closed.sqlite3"
    app = connect(f"sqlite:///{db}", directory=make_directory())
    app.request_approval("d1", by="f1")
    app.close()
    # Reopened by another application, the file holds the same facts.
    with connect(f"sqlite:///{db}") as again:
        assert again.status("d1").state is ApprovalState.PENDING


@pytest.mark.parametrize(
    "schema", ["MixedCase", "with-dash", "Ünïcode", "1st", "a" * 64]
)
def test_postgres_schema_names_postgres_would_fold_are_refused(schema: str) -> None:
    url = f"postgresql://u:p@127.0.0.1:1/db?schema={quote(schema)}"
    with pytest.raises(ConfigurationError, match="lowercase letters, digits"):
        connect(url)


@pytest.mark.parametrize("schema", ["tenant_42", "_x", "a" * 63])
def test_postgres_schema_names_are_taken_as_written(
    postgres: pg_server.PostgresServer, schema: str
) -> None:
    url = f"{postgres.url}?schema={quote(schema)}"
    clock = ControllableClock(START)
    with connect(url, directory=make_directory(), clock=clock) as app:
        app.request_approval("d1", by="f1")
        assert [r.document_id for r in app.recent().rows] == ["d1"]
        app.rebuild_views()
        assert [r.document_id for r in app.recent().rows] == ["d1"]
    tables = postgres.psql(
        f"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}'",
        database=pg_server.DATABASE,
    )
    assert int(tables.strip()) > 0


@pytest.mark.parametrize("schema", ["user", "order", "select"])
def test_postgres_schema_names_postgres_reserves_are_refused_with_a_way_out(
    postgres: pg_server.PostgresServer, schema: str
) -> None:
    url = f"{postgres.url}?schema={schema}"
    with pytest.raises(ConfigurationError, match="reserves") as refused:
        connect(url, directory=make_directory())
    assert f"{schema}_approvals" in str(refused.value)
    created = postgres.psql(
        f"SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'",
        database=pg_server.DATABASE,
    )
    assert int(created.strip()) == 0


SECRET = "hunter2-secret"
CLI = [sys.executable, "-m", "approvalflow.cli"]


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://ann:{SECRET}@localhost:abc/db",
        f"postgresql://ann:{SECRET}@localhost:99999/db",
        f"postgresql://ann:{SECRET}@localhost/db?colour=blue",
        f"postgresql://ann:{SECRET}@localhost/db?schema=Bad-Name",
        f"postgresql://ann:{SECRET}@localhost/",
        f"postgresql://ann:{SECRET}@[::1/db",
        f"mysql://ann:{SECRET}@localhost/db",
        f"postgresql://ann@localhost/db?password={SECRET}&colour=blue",
    ],
)
def test_errors_about_a_url_never_show_its_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        connect(url)
    assert SECRET not in str(refused.value)


def test_the_command_line_never_prints_a_store_password() -> None:
    done = subprocess.run(
        [*CLI, "health", "--db", f"postgresql://ann:{SECRET}@localhost:abc/db"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "unusable port" in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "ann:***@" in done.stderr


def test_a_store_that_fails_to_open_is_named_without_its_password(
    postgres: pg_server.PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server answers, then building the store fails (as eventsourcing's
    # table creation can): the error names the store, password taken out.
    import psycopg  # noqa: PLC0415

    def failing(*_args: object, **_kwargs: object) -> None:
        raise psycopg.OperationalError("tables could not be created")

    monkeypatch.setattr("approvalflow.bootstrap.ApprovalLog", failing)
    with pytest.raises(StoreUnavailableError) as refused:
        connect(postgres.url, directory=make_directory())
    assert "tables could not be created" in str(refused.value)
    assert pg_server.PASSWORD not in str(refused.value)
    assert f"{pg_server.USER}:***@" in str(refused.value)
