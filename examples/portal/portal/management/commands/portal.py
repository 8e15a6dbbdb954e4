"""``manage.py portal``: the whole demo in one command.

It creates the database tables (``migrate``), seeds the demo data on first
run, delivers what is waiting (the seeded requests' emails and the clients'
tasks) in one worker pass of its own, starts approvalflow's worker in a
second process (reminders and emails into the mail sink), and serves the
portal at ``PORTAL_URL`` (http://127.0.0.1:8000 unless set). It says it is
ready only once that first pass is done, so the seeded tasks are there for
the first person to sign in. Ctrl-C or SIGTERM (systemd, docker, ``kill``)
stops the server and then its worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from approvalflow_django.runtime import build_approvals
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from approvalflow.worker import Worker

MANAGE = Path(__file__).resolve().parents[3] / "manage.py"


def _interrupted(signum: int, frame: FrameType | None) -> None:
    """SIGTERM as Ctrl-C: the server stops and the worker is stopped after it."""
    del signum, frame
    raise KeyboardInterrupt


class Command(BaseCommand):
    """Migrate, seed, deliver, start the worker and serve the portal."""

    help = (
        "Run the example portal: create its tables, seed the demo data, start "
        "approvalflow's worker and serve the pages at PORTAL_URL until Ctrl-C "
        "or SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """``--worker-interval``: seconds between the worker's passes."""
        parser.add_argument(
            "--worker-interval",
            type=float,
            default=1.0,
            help="Seconds between the worker's passes (default: 1).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run everything until interrupted."""
        del args
        # Django's server stops on KeyboardInterrupt only; without this a
        # SIGTERM would end the process at once and leave the worker running.
        signal.signal(signal.SIGTERM, _interrupted)
        Path(settings.DATA_DIR).mkdir(parents=True, exist_ok=True)
        Path(settings.EMAIL_FILE_PATH).mkdir(parents=True, exist_ok=True)
        call_command("migrate", verbosity=0)
        call_command("seed_portal")
        self._deliver_waiting(options["worker_interval"])
        url = urlsplit(settings.PORTAL_URL)
        address = f"{url.hostname}:{url.port or 80}"
        worker: subprocess.Popen[bytes] | None = None
        try:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    str(MANAGE),
                    "approvalflow_worker",
                    "--interval",
                    str(options["worker_interval"]),
                ],
                env=os.environ.copy(),
            )
            self.stdout.write(
                f"The portal is at {settings.PORTAL_URL}/ (users: claire, paul, "
                "marie, john, sophie...; password: demo); its mailbox at "
                f"{settings.PORTAL_URL}/mailbox/; its worker is process "
                f"{worker.pid}. Ctrl-C stops both."
            )
            self.stdout.flush()
            call_command("runserver", address, use_reloader=False)
        finally:
            if worker is not None:
                _stop(worker)

    def _deliver_waiting(self, interval: float) -> None:
        """Deliver everything recorded so far, in this process, before serving.

        The worker process would do it too, but only after it has started:
        a person (or a test) signing in first would find no tasks yet.
        """
        with build_approvals() as app:
            worker = Worker(app, app.notifier(), interval=interval)
            try:
                while True:
                    done = worker.run_once().deliveries
                    if not done.events or done.blocked or done.leased_elsewhere:
                        break
            finally:
                worker.stop()
        if done.leased_elsewhere:
            self.stderr.write(
                "Another worker holds the delivery lease (a portal still "
                "running on the same data?): waiting deliveries are left to it."
            )


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Stop the worker after the message in hand; kill it if it hangs."""
    if worker.poll() is None:
        worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
