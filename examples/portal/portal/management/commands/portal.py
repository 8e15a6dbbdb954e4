"""``manage.py portal``: the whole demo in one command.

It creates the database tables (``migrate``), seeds the demo data on first
run, starts approvalflow's worker in a second process (reminders and
emails into the mail sink), and serves the portal at ``PORTAL_URL``
(http://127.0.0.1:8000 unless set) until Ctrl-C, which stops both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

MANAGE = Path(__file__).resolve().parents[3] / "manage.py"


class Command(BaseCommand):
    """Migrate, seed, start the worker and serve the portal."""

    help = (
        "Run the example portal: create its tables, seed the demo data, start "
        "approvalflow's worker and serve the pages at PORTAL_URL until Ctrl-C."
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
        Path(settings.DATA_DIR).mkdir(parents=True, exist_ok=True)
        Path(settings.EMAIL_FILE_PATH).mkdir(parents=True, exist_ok=True)
        call_command("migrate", verbosity=0)
        call_command("seed_portal")
        url = urlsplit(settings.PORTAL_URL)
        address = f"{url.hostname}:{url.port or 80}"
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
            f"The portal is at {settings.PORTAL_URL}/ (users: claire, paul, marie, "
            "john, sophie...; password: demo); its mailbox at "
            f"{settings.PORTAL_URL}/mailbox/. Ctrl-C stops it."
        )
        try:
            call_command("runserver", address, use_reloader=False)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
