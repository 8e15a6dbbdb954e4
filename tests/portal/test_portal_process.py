"""``manage.py portal`` as an operator runs it: ready means ready, and it stops.

It says it is ready only once the seeded requests' tasks are delivered (a
person signing in at once finds them), and Ctrl-C or SIGTERM (systemd,
docker, ``kill``) stops the web server and its worker process both.
"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import eventually
from tests.portal.conftest import (
    alive,
    launch_portal,
    spawn_portal,
    stop_portal,
    wait_until_ready,
)

#: The seeded requests still waiting for the client (see seed_portal).
SEEDED_TASKS = {("acme", "acme-accounts-2025"), ("lefebvre", "lefebvre-cfe")}


def tasks(data: Path) -> set[tuple[str, str]]:
    """The clients' *Pending action* tasks, read from the portal's database."""
    with sqlite3.connect(f"file:{data / 'portal.sqlite3'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT account_code, document_ref FROM portal_task")
        return set(rows.fetchall())


def test_the_seeded_tasks_are_there_when_the_portal_says_it_is_ready(
    tmp_path: Path,
) -> None:
    portal = spawn_portal(tmp_path / "data")
    try:
        # Read at the very moment the ready line appears: nothing may still
        # be on its way from the worker process.
        wait_until_ready(portal, serving=False)
        assert tasks(portal.data) == SEEDED_TASKS
        wait_until_ready(portal)
    finally:
        stop_portal(portal)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_server_and_its_worker(
    tmp_path: Path, stop: signal.Signals
) -> None:
    portal = launch_portal(tmp_path / "data")
    try:
        assert alive(portal.worker_pid)
        portal.process.send_signal(stop)
        eventually(
            lambda: portal.process.poll() is not None,
            f"the portal is still running after {stop.name}",
        )
        eventually(
            lambda: not alive(portal.worker_pid),
            f"the portal's worker is still running after {stop.name}",
        )
        assert portal.process.returncode == 0, portal.log()
        assert "Traceback" not in portal.log()
    finally:
        stop_portal(portal)
