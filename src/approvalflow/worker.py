"""The worker: automatic reminders and deliveries, continuously or once.

Run it with ``approvalflow worker`` (or embed :class:`Worker`). Several
workers may run against one store: reminders are recorded once per slot
(each is re-checked by its aggregate), and one worker at a time holds the
delivery lease.
"""

from __future__ import annotations

import logging

import attrs

from approvalflow.application import Approvals
from approvalflow.follower import LogFollower
from approvalflow.notifications.delivery import DeliveryPass, Notifier

__all__ = ["Worker", "WorkerPass"]

log = logging.getLogger("approvalflow.worker")


@attrs.frozen
class WorkerPass:
    """What one pass of the worker did."""

    reminders: tuple[str, ...]
    deliveries: DeliveryPass


class Worker:
    """Sends due reminders, then delivers notifications, every ``interval`` s.

    It follows the log with the library's one :class:`~approvalflow.follower.
    LogFollower`: where the event store pushes new events (PostgreSQL's
    LISTEN/NOTIFY, the in-memory store), the worker wakes as soon as an event
    is recorded; the interval then only paces reminders and retries. On
    SQLite it polls every ``interval``.
    """

    def __init__(
        self, app: Approvals, notifier: Notifier | None, *, interval: float = 5.0
    ) -> None:
        self.app = app
        self.notifier = notifier
        self.interval = interval
        self._follower = LogFollower(
            app, self._step, interval=interval, on_error=self._failed
        )
        self.stopping = self._follower.stopping
        self._running = False
        #: Passes completed by :meth:`run` (for monitoring).
        self.passes = 0

    @property
    def subscribed(self) -> bool:
        """True while the worker follows the log by subscription."""
        return self._follower.subscribed

    def run_once(self) -> WorkerPass:
        """One pass: record due reminders, then deliver what is waiting."""
        reminded = tuple(self.app.send_due_reminders())
        delivered = DeliveryPass()
        if self.notifier is not None:
            # Deliver in several bounded passes so a long backlog still
            # notices a stop request between events.
            delivered = self.notifier.run_once(should_stop=self.stopping.is_set)
        return WorkerPass(reminded, delivered)

    def _step(self) -> bool:
        done = self.run_once()
        self.passes += 1
        if done.reminders or done.deliveries.events:
            log.info(
                "reminded %d, delivered %d events (%d sent, %d refused)%s",
                len(done.reminders),
                done.deliveries.events,
                done.deliveries.sent,
                done.deliveries.refused,
                ", waiting to retry" if done.deliveries.blocked else "",
            )
        # More may be waiting: no pause.
        return bool(done.deliveries.events and not done.deliveries.blocked)

    @staticmethod
    def _failed(_exc: BaseException) -> bool:
        # One bad pass (database busy, ...) must not kill the worker; the
        # next pass starts from the recorded position.
        log.exception("worker pass failed; retrying after the interval")
        return True

    def run(self) -> None:
        """Run passes until :meth:`stop` is called (e.g. from a signal)."""
        self._running = True
        try:
            self._follower.run()
        finally:
            self._running = False
            if self.notifier is not None:
                self.notifier.stop()

    def stop(self) -> None:
        """Ask the worker to stop after the message in hand.

        Safe from a signal handler. A worker that is not running (one pass
        with :meth:`run_once`) gives its delivery lease up at once.
        """
        self._follower.stop()
        if self.notifier is not None and not self._running:
            self.notifier.stop()
