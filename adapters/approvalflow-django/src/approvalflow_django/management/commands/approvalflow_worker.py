"""``manage.py approvalflow_worker``: reminders and emails (``approvalflow worker``).

The same behaviour and options as approvalflow's own worker command, on the
application the ``APPROVALFLOW`` setting describes: emails go through
Django's ``EMAIL_BACKEND``, the directory is the host's models. SIGTERM or
Ctrl-C stops it after the message in hand; the next start carries on from
the recorded position.
"""

from __future__ import annotations

import logging
import signal
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from approvalflow import ApprovalFlowError
from approvalflow.i18n import words
from approvalflow.worker import Worker, pass_summary
from approvalflow_django.runtime import build_approvals


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    # As approvalflow worker: 0.01 to 3600 seconds ("nan" fails both checks).
    if not 0.01 <= value <= 3600:
        msg = f"the interval is a number of seconds from 0.01 to 3600, got {text!r}"
        raise ArgumentTypeError(msg)
    return value


class Command(BaseCommand):
    """Send due reminders and deliver notifications until stopped."""

    help = (
        "Send due reminders and deliver approvalflow's notifications until "
        "stopped (SIGTERM or Ctrl-C stop it after the message in hand)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """``--interval`` and ``--once``, as ``approvalflow worker`` has."""
        parser.add_argument(
            "--interval",
            type=_interval,
            default=5.0,
            help="Seconds between passes (default: 5.0).",
        )
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the worker on the configured application."""
        del args
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
        )
        try:
            with build_approvals() as app:
                runner = Worker(app, app.notifier(), interval=options["interval"])
                if options["once"]:
                    done = runner.run_once()
                    runner.stop()
                    d = done.deliveries
                    self.stdout.write(
                        pass_summary(
                            words(),
                            reminded=len(done.reminders),
                            events=d.events,
                            sent=d.sent,
                            refused=d.refused,
                            blocked=d.blocked,
                            leased_elsewhere=d.leased_elsewhere,
                        )
                    )
                    return
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, lambda *_: runner.stop())
                self.stderr.write("worker started")
                runner.run()
                self.stderr.write("worker stopped")
        except ApprovalFlowError as exc:
            raise CommandError(str(exc)) from exc
