"""Operating the worker and the store from the command line, as an operator does.

Real processes throughout: settings from ``APPROVALFLOW_*`` variables, host
objects loaded from an application directory or an entry point, start-up
refusals, the delivery lease after a SIGKILL and a clean stop, and the
health checks' output and exit codes.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from approvalflow import connect
from tests.helpers import make_directory

ROOT = Path(__file__).resolve().parents[2]
HOST_MODULE = """
from tests.helpers import make_directory


class HostDirectory:
    # A class, as hosts write one: the worker makes the instance.
    def __new__(cls):
        return make_directory()
"""


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``approvalflow ARGS`` as an operator runs it (the console script)."""
    exe = Path(sys.executable).parent / "approvalflow"
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=timeout,
        check=False,
    )


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("APPROVALFLOW_") and k != "PERSISTENCE_MODULE"
    }
    # The host module imports the tests' directory, as a host imports its own.
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **(extra or {})}


def recorded_store(path: Path, document: str = "d1", *, ago: float = 0) -> Path:
    """A store with a request recorded ``ago`` seconds ago, not delivered."""
    with connect(f"sqlite:///{path}", directory=make_directory()) as app:
        app.request_approval(document, by="f1", message="Please")
    if ago:
        time.sleep(ago)
    return path


@pytest.fixture
def host_dir(tmp_path: Path) -> Path:
    app_dir = tmp_path / "hostapp"
    app_dir.mkdir()
    (app_dir / "firm_host.py").write_text(HOST_MODULE)
    return app_dir


def worker_settings(tmp_path: Path, db: Path) -> dict[str, str]:
    """A worker configured entirely by environment variables."""
    return {
        "APPROVALFLOW_DB": str(db),
        "APPROVALFLOW_DIRECTORY": "firm_host:HostDirectory",
        "APPROVALFLOW_MAIL_DIR": str(tmp_path / "outbox"),
        "APPROVALFLOW_SENDER": "cabinet@martin.example",
        "APPROVALFLOW_FIRM_NAME": "Cabinet Martin",
        "APPROVALFLOW_PORTAL_URL": "https://portal.martin.example",
    }


# -- settings and host objects ---------------------------------------------------


def test_a_worker_configured_only_by_variables_sends_from_the_app_dir(
    tmp_path: Path, host_dir: Path
) -> None:
    db = recorded_store(tmp_path / "s.sqlite3")
    settings = worker_settings(tmp_path, db)
    # Run from elsewhere: the host module is found through --app-dir's variable.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cli(
        "worker",
        "--once",
        cwd=elsewhere,
        env={**settings, "APPROVALFLOW_APP_DIR": str(host_dir)},
    )
    assert done.returncode == 0, done.stderr
    assert "1 message sent" in done.stdout
    (email,) = (tmp_path / "outbox").glob("*.eml")
    text = email.read_text()
    assert "From: Cabinet Martin <cabinet@martin.example>" in text
    assert "https://portal.martin.example/accounts/acme/documents/d1" in text
    # Without the app dir, the same settings cannot find the host's module.
    missing = cli("worker", "--once", cwd=elsewhere, env=settings)
    assert missing.returncode == 2
    assert "cannot load 'firm_host:HostDirectory'" in missing.stderr
    assert "--app-dir" in missing.stderr


def test_the_working_directory_is_the_default_app_dir_also_for_python_m(
    tmp_path: Path, host_dir: Path
) -> None:
    db = recorded_store(tmp_path / "s.sqlite3")
    settings = worker_settings(tmp_path, db)
    done = subprocess.run(
        [sys.executable, "-m", "approvalflow", "worker", "--once"],
        cwd=host_dir,
        env=clean_env(settings),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "1 message sent" in done.stdout


def test_an_installed_host_names_its_directory_by_entry_point(
    tmp_path: Path, host_dir: Path
) -> None:
    # What pip writes for a host package declaring, in its pyproject.toml,
    # [project.entry-points."approvalflow.directory"] firm = "firm_host:HostDirectory"
    dist = host_dir / "firm_host-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: firm-host\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[approvalflow.directory]\nfirm = firm_host:HostDirectory\n"
    )
    db = recorded_store(tmp_path / "s.sqlite3")
    settings = {**worker_settings(tmp_path, db), "APPROVALFLOW_DIRECTORY": "firm"}
    done = cli("worker", "--once", cwd=host_dir, env=settings)
    assert done.returncode == 0, done.stderr
    assert "1 message sent" in done.stdout
    unknown = cli("worker", "--once", cwd=host_dir, env={**settings,
                  "APPROVALFLOW_DIRECTORY": "other"})  # fmt: skip
    assert unknown.returncode == 2
    assert "entry points there: firm" in unknown.stderr


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"APPROVALFLOW_PORTAL_URL": ""}, 2, "--portal-url (APPROVALFLOW_PORTAL_URL)"),
        ({"APPROVALFLOW_PORTAL_URL": "portal.martin.example"}, 1, "http(s) URL"),
        ({"APPROVALFLOW_SENDER": ""}, 2, "Missing option '--sender'"),
        ({"APPROVALFLOW_SENDER": "cabinet"}, 1, "sender must be an email address"),
        ({"APPROVALFLOW_FIRM_NAME": "  "}, 1, "firm_name must be the firm's name"),
        ({"APPROVALFLOW_LEASE": "2.9"}, 2, "--lease must be a number of seconds fr"),
        ({"APPROVALFLOW_LEASE": "3601"}, 2, "--lease must be a number of seconds"),
        ({"APPROVALFLOW_LEASE": "nan"}, 2, "--lease must be a number of seconds"),
        ({"APPROVALFLOW_INTERVAL": "0"}, 2, "--interval must be a number of seconds"),
        ({"APPROVALFLOW_LOG_FORMAT": "xml"}, 2, "'xml' is not one of 'text', 'json'"),
    ],
)  # fmt: skip
def test_the_worker_refuses_to_start_without_real_settings(
    tmp_path: Path, host_dir: Path, change: dict[str, str], code: int, message: str
) -> None:
    db = recorded_store(tmp_path / "s.sqlite3")
    settings = {**worker_settings(tmp_path, db), **change}
    settings = {k: v for k, v in settings.items() if v}
    refused = cli("worker", "--once", cwd=host_dir, env=settings)
    assert refused.returncode == code, refused.stderr
    assert message in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "outbox").exists()  # nothing sent, no folder made


def test_the_edges_of_the_lease_bound_are_accepted(
    tmp_path: Path, host_dir: Path
) -> None:
    db = recorded_store(tmp_path / "s.sqlite3")
    for lease in ("3", "3600"):
        done = cli(
            "worker", "--once", "--lease", lease, cwd=host_dir,
            env=worker_settings(tmp_path, db),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


def test_eventsourcings_own_variables_are_refused_not_ignored(tmp_path: Path) -> None:
    # A worker that silently ignored them would start a new, empty store.
    refused = cli(
        "projections", "status", cwd=tmp_path,
        env={"PERSISTENCE_MODULE": "eventsourcing.postgres"},
    )  # fmt: skip
    assert refused.returncode == 2
    assert "set APPROVALFLOW_DB" in refused.stderr
    assert not list(tmp_path.iterdir())


def test_the_db_variable_selects_the_store_of_every_command(tmp_path: Path) -> None:
    db = recorded_store(tmp_path / "chosen.sqlite3")
    status = cli("history", "d1", cwd=tmp_path, env={"APPROVALFLOW_DB": str(db)})
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("d1: pending")
    # Without it, the default file in the working directory, which is not there.
    default = cli("history", "d1", cwd=tmp_path)
    assert default.returncode == 1
    assert "approvalflow.sqlite3" in default.stderr


# -- the delivery lease ----------------------------------------------------------


def lease(db: Path, cwd: Path) -> tuple[str | None, str | None]:
    status = cli("deliveries", "status", "--json", "--db", str(db), cwd=cwd)
    record = json.loads(status.stdout)
    return record["lease_holder"], record["lease_until"]


def start_worker(tmp_path: Path, host_dir: Path, db: Path) -> subprocess.Popen[str]:
    exe = Path(sys.executable).parent / "approvalflow"
    return subprocess.Popen(
        [str(exe), "worker", "--lease", "3", "--interval", "0.2"],
        cwd=host_dir,
        env=clean_env(worker_settings(tmp_path, db)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_killed_workers_lease_expires_within_one_lease_length(
    tmp_path: Path, host_dir: Path
) -> None:
    db = recorded_store(tmp_path / "s.sqlite3")
    worker = start_worker(tmp_path, host_dir, db)
    try:
        wait_for(lambda: lease(db, tmp_path)[0] is not None)
        holder, first_until = lease(db, tmp_path)
        # The heartbeat renews the lease while the worker sits idle (waited
        # for, not timed: a busy machine may run the heartbeat late).
        wait_for(lambda: lease(db, tmp_path)[1] > first_until, timeout=120)  # type: ignore[operator]
        assert lease(db, tmp_path)[0] == holder
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    killed_at = time.monotonic()
    settings = worker_settings(tmp_path, db)
    # Right after the kill the lease is still the dead worker's (it is real).
    with connect(f"sqlite:///{db}", read_only=True) as app:
        backlog = app.delivery_backlog()
    assert backlog.lease_holder == holder
    assert backlog.lease_until is not None
    assert backlog.lease_until > datetime.now(UTC)
    recorded_store(db, "d2")  # another request for the next worker to deliver
    held_at: list[float] = []
    while True:
        started = time.monotonic() - killed_at
        other = cli("worker", "--once", "--lease", "3", cwd=host_dir, env=settings)
        assert other.returncode == 0, other.stderr
        if "another worker holds the delivery lease" not in other.stdout:
            break
        held_at.append(started)
        assert started < 10, "the dead worker's lease never expired"
        time.sleep(0.2)
    # A worker that found the lease held looked before it expired, so it
    # started before then: within the 3 s lease of the last heartbeat, which
    # was at or before the kill (slack for the clock reads only, however
    # slowly the processes start).
    assert all(at < 3 + 0.5 for at in held_at), held_at
    assert "1 message sent" in other.stdout


SLOW_HOST = """
import os
import pathlib
import time

from tests.helpers import make_directory


class SlowDirectory:
    # A directory whose database stalls while a pass plans an email.
    def __init__(self):
        self._directory = make_directory()

    def __getattr__(self, name):
        return getattr(self._directory, name)

    def account_links(self, account_id):
        pathlib.Path(os.environ["STALL_MARK"]).touch()
        time.sleep(float(os.environ["STALL_SECONDS"]))
        pathlib.Path(os.environ["STALL_DONE"]).touch()
        return self._directory.account_links(account_id)
"""


def test_the_heartbeat_keeps_the_lease_through_a_long_pass(
    tmp_path: Path, host_dir: Path
) -> None:
    (host_dir / "slow_host.py").write_text(SLOW_HOST)
    db = recorded_store(tmp_path / "s.sqlite3")
    mark, done = tmp_path / "stalled", tmp_path / "stall-over"
    settings = {
        **worker_settings(tmp_path, db),
        "APPROVALFLOW_DIRECTORY": "slow_host:SlowDirectory",
        "STALL_MARK": str(mark),
        "STALL_DONE": str(done),
        # Ten leases long: the pass cannot renew the lease meanwhile.
        "STALL_SECONDS": "30",
    }
    exe = Path(sys.executable).parent / "approvalflow"
    worker = subprocess.Popen(
        [str(exe), "worker", "--lease", "3", "--interval", "30"],
        cwd=host_dir,
        env=clean_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(mark.exists, timeout=120)
        holder, stalled_until = lease(db, tmp_path)
        assert holder is not None

        def renewed_while_stalled() -> bool:
            # Read the lease first, then the stall: a renewal seen before
            # the stall is over came from beside the stalled pass.
            until = lease(db, tmp_path)[1]
            return until is not None and until > stalled_until and not done.exists()  # type: ignore[operator]

        # Only a heartbeat beside the stalled pass renews the lease now.
        wait_for(renewed_while_stalled, timeout=120)
        assert lease(db, tmp_path)[0] == holder
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)


def test_a_clean_stop_gives_the_lease_up_at_once(
    tmp_path: Path, host_dir: Path
) -> None:
    db = recorded_store(tmp_path / "s.sqlite3")
    worker = start_worker(tmp_path, host_dir, db)
    wait_for(lambda: lease(db, tmp_path)[0] is not None)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert lease(db, tmp_path) == (None, None)
    assert worker.stderr is not None
    log = worker.stderr.read()
    assert "approvalflow.worker: worker stopped" in log


# -- health ----------------------------------------------------------------------


def test_health_is_quiet_and_zero_when_all_is_delivered(
    tmp_path: Path, host_dir: Path
) -> None:
    db = recorded_store(tmp_path / "s.sqlite3")
    cli("worker", "--once", cwd=host_dir, env=worker_settings(tmp_path, db))
    healthy = cli("health", "--db", str(db), "--max-delay", "1", cwd=tmp_path)
    assert (healthy.returncode, healthy.stdout) == (0, "healthy\n")
    record = json.loads(cli("health", "--json", "--db", str(db), cwd=tmp_path).stdout)
    assert record["ok"] is True
    assert record["deliveries"]["behind"] == 0


def test_undelivered_events_older_than_the_bound_are_stuck(tmp_path: Path) -> None:
    db = recorded_store(tmp_path / "s.sqlite3", ago=2.2)
    stuck = cli("health", "--db", str(db), "--max-delay", "2", cwd=tmp_path)
    assert stuck.returncode == 1
    # The wait shown is however long it was (at least the 2.2 s slept).
    assert re.search(
        r"PROBLEM: deliveries stuck: 2 events wait, the oldest for \d+ s "
        r"\(more than 2 s\)",
        stuck.stdout,
    ), stuck.stdout
    # The other side of the bound: not yet stuck.
    waiting = cli("health", "--db", str(db), "--max-delay", "3600", cwd=tmp_path)
    assert (waiting.returncode, waiting.stdout) == (0, "healthy\n")
    as_json = cli(
        "deliveries", "status", "--json", "--max-delay", "2", "--db", str(db),
        cwd=tmp_path,
    )  # fmt: skip
    assert as_json.returncode == 1
    record = json.loads(as_json.stdout)
    assert (record["ok"], record["position"], record["behind"]) == (False, 0, 2)
    assert record["oldest_undelivered_at"] is not None
    # A store whose host sends nothing can leave deliveries out.
    quiet = cli(
        "health", "--no-deliveries", "--max-delay", "2", "--db", str(db),
        cwd=tmp_path,
    )  # fmt: skip
    assert quiet.returncode == 0


def test_a_delivery_refused_for_good_waits_for_an_operator(
    tmp_path: Path, host_dir: Path
) -> None:
    (host_dir / "bad_host.py").write_text(
        "import attrs\n"
        "from tests.helpers import make_directory\n"
        "def directory():\n"
        "    d = make_directory()\n"
        "    c1 = d.client_users['c1']\n"
        "    d.client_users['c1'] = attrs.evolve(c1, email='c1-at-acme')\n"
        "    return d\n"
    )  # fmt: skip
    db = recorded_store(tmp_path / "s.sqlite3")
    settings = {**worker_settings(tmp_path, db),
                "APPROVALFLOW_DIRECTORY": "bad_host:directory"}  # fmt: skip
    sent = cli("worker", "--once", cwd=host_dir, env=settings)
    assert "1 refused" in sent.stdout, sent.stderr
    health = cli("health", "--db", str(db), cwd=tmp_path)
    assert health.returncode == 1
    assert "1 delivery refused for good waits for an operator" in health.stdout
    assert "'approvalflow deliveries retry'" in health.stdout
    status = cli("deliveries", "status", "--json", "--db", str(db), cwd=tmp_path)
    assert status.returncode == 1
    (refused,) = json.loads(status.stdout)["refused"]
    assert refused["address"] == "c1-at-acme"
    assert "is not an email address" in refused["last_error"]
    # Once the operator has asked for a retry, nothing waits for them.
    assert cli("deliveries", "retry", "--db", str(db), cwd=tmp_path).returncode == 0
    assert cli("health", "--db", str(db), cwd=tmp_path).returncode == 0


def test_a_read_model_behind_the_log_lags(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    directory = make_directory()
    with connect(f"sqlite:///{db}", directory=directory) as app:
        app.request_approval("d1", by="f1")
    # A host that follows the read models in another process, stopped.
    with connect(
        f"sqlite:///{db}",
        directory=directory,
        refresh_views_after_write=False,
        refresh_views_on_read=False,
    ) as app:
        app.cancel("d1", by="f1")
        app.request_approval("d1", by="f1")
    lagging = cli(
        "projections", "status", "--max-lag", "1", "--db", str(db), cwd=tmp_path
    )
    assert lagging.returncode == 1
    assert "PROBLEM: read model 'documents' is 2 events behind" in lagging.stdout
    at_bound = cli(
        "projections", "status", "--max-lag", "2", "--json", "--db", str(db),
        cwd=tmp_path,
    )  # fmt: skip
    assert at_bound.returncode == 0
    record = json.loads(at_bound.stdout)
    assert record["ok"] is True
    assert {v["view"]: v["behind"] for v in record["views"]}["documents"] == 2
    health = cli(
        "health", "--no-deliveries", "--max-lag", "1", "--db", str(db), cwd=tmp_path
    )
    assert health.returncode == 1


def test_health_bounds_are_checked(tmp_path: Path) -> None:
    db = recorded_store(tmp_path / "s.sqlite3")
    for bad in (["--max-delay", "0.5"], ["--max-delay", "nan"], ["--max-lag", "-1"]):
        refused = cli("health", "--db", str(db), *bad, cwd=tmp_path)
        assert refused.returncode == 2, bad
        assert "Traceback" not in refused.stderr
    lowest = cli("health", "--db", str(db), "--max-delay", "1", cwd=tmp_path)
    assert lowest.returncode in (0, 1), lowest.stderr  # accepted: a real check


def test_the_demo_never_writes_into_the_store_the_db_variable_names(
    tmp_path: Path,
) -> None:
    demo = cli("demo", cwd=tmp_path, env={"APPROVALFLOW_DB": "real.sqlite3"})
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "approvalflow-demo.sqlite3").exists()
    assert not (tmp_path / "real.sqlite3").exists()


def test_the_emails_branding_and_reply_settings_come_from_variables(
    tmp_path: Path, host_dir: Path
) -> None:
    db = recorded_store(tmp_path / "s.sqlite3")
    settings = {
        **worker_settings(tmp_path, db),
        "APPROVALFLOW_REPLY_TO": "secretariat@martin.example",
        "APPROVALFLOW_LOGO_URL": "https://martin.example/logo.png",
        "APPROVALFLOW_PREFERENCES_URL": "https://portal.martin.example/settings",
    }
    done = cli("worker", "--once", cwd=host_dir, env=settings)
    assert done.returncode == 0, done.stderr
    (path,) = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Reply-To"] == "secretariat@martin.example"
    assert message["List-Unsubscribe"] == "<https://portal.martin.example/settings>"
    html = message.get_body(("html",))
    assert html is not None
    assert 'src="https://martin.example/logo.png"' in html.get_content()
    refused = cli(
        "worker", "--once", cwd=host_dir,
        env={**settings, "APPROVALFLOW_REPLY_TO": "secretariat"},
    )  # fmt: skip
    assert refused.returncode == 1
    assert "reply_to" in refused.stderr
