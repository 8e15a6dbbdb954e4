"""``manage.py approvalflow ...``: the command line's operator commands on Django.

Run as an operator would, in a process of their own in the example project
(examples/django_host), on an SQLite file and on a PostgreSQL schema; and
the ways it fails: a settings module that does not exist, a database not
migrated, ``--db``, and the plain command line pointed at a Django database.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from approvalflow_django import get_approvals
from approvalflow_django.management.commands.approvalflow import NOT_OFFERED, OFFERED
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from approvalflow.cli import main
from conftest import EXAMPLE, migrate

# Django's start and a command: well under this on a loaded machine.
_BOUND = 120


def _example_env() -> dict[str, str]:
    """The environment that points the example project at this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALFLOW_")}
    db: dict[str, Any] = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        env["EXAMPLE_DB"] = str(db["NAME"])
    else:
        schema = db["OPTIONS"]["options"].split("search_path=")[1]
        env["EXAMPLE_POSTGRES"] = (
            f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}"
            f"/{db['NAME']}?schema={schema}"
        )
    return env


def manage(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python manage.py ARGS`` in the example project, on this test's database."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE,
        env=env if env is not None else _example_env(),
        capture_output=True,
        text=True,
        timeout=_BOUND,
        check=False,
    )


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The plain ``approvalflow`` command line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALFLOW_")}
    return subprocess.run(
        [sys.executable, "-m", "approvalflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=_BOUND,
        check=False,
    )


@pytest.mark.usefixtures("database", "host")
def test_the_operator_commands_run_on_the_django_store() -> None:
    app = get_approvals()
    app.request_approval("tax-2025", by="anna")
    head = app.recorder.max_notification_id() or 0
    assert head > 0

    health = manage("approvalflow", "health")
    assert (health.returncode, health.stdout) == (0, "healthy\n"), health.stderr
    as_json = manage("approvalflow", "health", "--json")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["ok"] is True

    verify = manage("approvalflow", "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    # What the command line prints for this report, line for line.
    assert verify.stdout.splitlines() == list(app.verify_audit().lines())
    assert verify.stdout.startswith("VERIFIED\n")
    assert f"events checked: {head}\n" in verify.stdout

    status = manage("approvalflow", "projections", "status")
    assert status.returncode == 0, status.stderr
    header, *rows = status.stdout.splitlines()
    assert header.split() == ["view", "position", "head", "behind"]
    assert rows
    assert all(row.split()[1:] == [str(head), str(head), "0"] for row in rows)

    rebuilt = manage("approvalflow", "projections", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"Rebuilt the read models from {head} events in" in rebuilt.stdout

    waiting = manage("approvalflow", "deliveries", "status")
    assert waiting.returncode == 0, waiting.stderr
    assert waiting.stdout.splitlines()[0] == f"position 0 of {head} events"
    assert "oldest undelivered event recorded" in waiting.stdout

    worker = manage("approvalflow_worker", "--once")
    assert worker.returncode == 0, worker.stderr
    done = manage("approvalflow", "deliveries", "status")
    # Every event there was is delivered (the pass recorded who it told).
    assert done.stdout.startswith(f"position {head} of ")
    assert "waiting: 0\n" in done.stdout

    trail = manage("approvalflow", "audit", "tax-2025")  # "audit trail" for short
    assert trail.returncode == 0, trail.stderr
    assert json.loads(trail.stdout.splitlines()[0])["document_id"] == "tax-2025"

    history = manage("approvalflow", "history", "tax-2025")
    assert history.returncode == 0, history.stderr
    assert history.stdout.startswith("tax-2025: pending approval\n")


@pytest.mark.usefixtures("database")
def test_call_command_runs_them_too_with_the_command_lines_exit_codes() -> None:
    out = io.StringIO()
    call_command("approvalflow", "projections", "status", "--json", stdout=out)
    assert json.loads(out.getvalue())["ok"] is True
    with pytest.raises(CommandError, match="-1 is not in the range") as usage:
        call_command("approvalflow", "projections", "status", "--max-lag", "-1")
    assert usage.value.returncode == 2


@pytest.mark.parametrize("vendor", ["sqlite", "postgres"])
def test_a_store_not_migrated_is_refused_saying_to_migrate(
    vendor: str, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue(f"{vendor}_default")  # a database not migrated
    refused = manage("approvalflow", "health")
    assert refused.returncode == 1
    assert "run manage.py migrate approvalflow" in refused.stderr
    assert "Traceback" not in refused.stderr
    with pytest.raises(CommandError, match=r"run manage\.py migrate approvalflow"):
        call_command("approvalflow", "health", stdout=io.StringIO())
    # Nothing was created behind the operator's back: still refused.
    assert manage("approvalflow", "audit", "verify").returncode == 1
    migrate()
    assert manage("approvalflow", "health").stdout == "healthy\n"


def test_a_settings_module_that_does_not_exist_is_said(sqlite_default: Path) -> None:
    migrate()
    env = {**_example_env(), "DJANGO_SETTINGS_MODULE": "hostsite.no_such_settings"}
    refused = manage("approvalflow", "health", env=env)
    assert refused.returncode != 0
    assert "No module named 'hostsite.no_such_settings'" in refused.stderr
    assert "healthy" not in refused.stdout
    assert manage("approvalflow", "health").stdout == "healthy\n"
    del sqlite_default


def test_db_is_not_an_option_there(sqlite_default: Path) -> None:
    migrate()
    refused = manage("approvalflow", "health", "--db", str(sqlite_default))
    assert refused.returncode == 2
    assert "--db does not apply here" in refused.stderr
    assert "settings.APPROVALFLOW" in refused.stderr
    assert "--db" not in manage("approvalflow", "health", "--help").stdout
    # Nor is it read from the variable: the settings say where the store is.
    env = {**_example_env(), "APPROVALFLOW_DB": "/nonexistent/store.sqlite3"}
    assert manage("approvalflow", "health", env=env).stdout == "healthy\n"


def test_the_plain_cli_refuses_a_django_sqlite_database_naming_the_command(
    sqlite_default: Path,
) -> None:
    migrate()
    before = sqlite_default.read_bytes()
    refused = cli("health", "--db", str(sqlite_default))
    assert refused.returncode == 1
    assert "Django project's database" in refused.stderr
    assert "python manage.py approvalflow health" in refused.stderr
    assert sqlite_default.read_bytes() == before
    # A database of another application still reads as one.
    other = sqlite_default.with_name(sqlite_default.name + "-other")
    import sqlite3  # noqa: PLC0415

    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    plain = cli("health", "--db", str(other))
    assert "another application's database" in plain.stderr
    assert "manage.py" not in plain.stderr


def test_the_plain_cli_refuses_a_django_postgres_schema_naming_the_command(
    postgres_default: str, postgres: Any
) -> None:
    migrate()
    for command in (["health"], ["projections", "rebuild"]):
        refused = cli(*command, "--db", f"{postgres.url}?schema={postgres_default}")
        assert refused.returncode == 1, refused.stderr
        assert "python manage.py approvalflow health" in refused.stderr
        assert "Django project's database" in refused.stderr
    with psycopg.connect(postgres.url) as conn:
        found = conn.execute(
            "SELECT to_regclass(%s)", [f"{postgres_default}.approvals_events"]
        ).fetchone()
    assert found == (None,)  # no second store beside the project's


def test_every_command_of_the_command_line_is_offered_or_said_not_to_be() -> None:
    assert sorted(main.commands) == sorted(
        name for name in (*OFFERED, *NOT_OFFERED) if name in main.commands
    )
    assert set(OFFERED) <= set(main.commands)
    assert not set(OFFERED) & set(NOT_OFFERED)


@pytest.mark.usefixtures("database")
def test_wrong_approvalflow_settings_are_said_with_their_check_ids() -> None:
    broken = {**settings.APPROVALFLOW, "FIRM_NAME": "", "DATABASE": "replica"}
    with (
        override_settings(APPROVALFLOW=broken),
        pytest.raises(CommandError, match=r"\[approvalflow\.E003\]") as refused,
    ):
        call_command("approvalflow", "health", stdout=io.StringIO())
    assert "[approvalflow.E005]" in str(refused.value)
    assert refused.value.returncode == 1
    out = io.StringIO()
    call_command("approvalflow", "health", stdout=out)  # the settings as they are
    assert out.getvalue() == "healthy\n"
