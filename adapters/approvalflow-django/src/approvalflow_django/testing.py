"""Help for a host's own Django tests: approvalflow's mail in ``mail.outbox``.

approvalflow sends its emails from the worker, not from the request that
asked for an approval. In a host's tests the worker must therefore run in
the test's own process and thread, on the test's database connection (a
``TestCase`` keeps everything inside one transaction that no other process
sees) and through the email backend Django's test runner installs
(``locmem``: ``django.core.mail.outbox``). :func:`run_worker` does that::

    from django.core import mail
    from django.test import TestCase
    from approvalflow_django import get_approvals
    from approvalflow_django.testing import run_worker


    class ApprovalEmailTests(TestCase):
        def test_the_client_is_asked(self) -> None:
            get_approvals().request_approval("tax-2025", by="anna")
            run_worker()
            self.assertEqual(mail.outbox[0].to, ["Claire <claire@dupont.example>"])
"""

from __future__ import annotations

import attrs

from approvalflow import Approvals
from approvalflow.worker import Worker
from approvalflow_django.runtime import get_approvals

__all__ = ["WorkerRun", "run_worker"]

# A bound on the passes, so a test that keeps producing events ends.
_MAX_PASSES = 1_000


@attrs.frozen
class WorkerRun:
    """What :func:`run_worker` did, summed over its passes."""

    #: Documents reminded, in order.
    reminders: tuple[str, ...]
    #: Events delivered.
    events: int
    #: Messages sent (emails, portal tasks, Inbox+ notes).
    sent: int
    #: Messages refused for good (recorded, not retried).
    refused: int
    #: True when a temporary failure holds deliveries back (to be retried).
    blocked: bool


def run_worker(approvals: Approvals | None = None) -> WorkerRun:
    """Run the worker here and now, until nothing waits; emails go to Django.

    Reminders due by the application's clock are recorded, then every event
    not yet delivered is, in this thread, through Django's email backend
    (``mail.outbox`` in tests); passes repeat until one delivers nothing, as
    ``approvalflow worker --once`` does. ``approvals`` defaults to
    :func:`~approvalflow_django.get_approvals` (give one from
    :func:`~approvalflow_django.build_approvals` to use another clock).
    """
    app = approvals if approvals is not None else get_approvals()
    runner = Worker(app, app.notifier())
    reminders: list[str] = []
    events = sent = refused = 0
    blocked = False
    try:
        for _ in range(_MAX_PASSES):
            done = runner.run_once()
            reminders += done.reminders
            d = done.deliveries
            events, sent, refused = (
                events + d.events,
                sent + d.sent,
                refused + d.refused,
            )
            blocked = d.blocked
            if not d.events or d.blocked or d.leased_elsewhere:
                break
    finally:
        runner.stop()  # gives the delivery lease up
    return WorkerRun(tuple(reminders), events, sent, refused, blocked)
