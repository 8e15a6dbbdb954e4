"""The worker: automatic reminders and deliveries, continuously or once.

Run it with ``approvalflow worker`` (or embed :class:`Worker`). Several
workers may run against one store: reminders are recorded once per slot
(each is re-checked by its aggregate), and one worker at a time holds the
delivery lease.
"""

from __future__ import annotations

import threading
from gettext import NullTranslations

import attrs

from approvalflow._observe import WORKER, record_lag
from approvalflow.application import Approvals
from approvalflow.follower import LogFollower
from approvalflow.i18n import Words
from approvalflow.notifications.delivery import DeliveryPass, Notifier

__all__ = ["Worker", "WorkerPass", "pass_summary"]

# Logs are English for operators: gettext's English plural rule, bound to a
# name babel does not extract (these are not catalog messages).
_plural = NullTranslations().ngettext


@attrs.frozen
class WorkerPass:
    """What one pass of the worker did."""

    reminders: tuple[str, ...]
    deliveries: DeliveryPass


class Worker:
    """Sends due reminders, then delivers notifications, every ``interval`` s.

    It follows the log with the library's one log follower: where the event
    store pushes new events (PostgreSQL's LISTEN/NOTIFY, the in-memory
    store), the worker wakes as soon as an event is recorded; the interval
    then only paces reminders and retries. On SQLite it polls every
    ``interval``.

    While :meth:`run` runs, a heartbeat thread renews the notifier's delivery
    lease every third of its length, also while a slow mail server holds a
    message, so the lease can be short: a worker killed outright stops
    renewing and its lease expires within one lease length (30 s from the
    command line) of its last heartbeat. A clean stop gives it up at once.
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
        self._heartbeat_stop = threading.Event()
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
        if self.notifier is not None:
            record_lag(self._undelivered())
        done = self.run_once()
        self.passes += 1
        if done.reminders or done.deliveries.events:
            reminded = len(done.reminders)
            events = done.deliveries.events
            WORKER.info(
                "%s, %s (%d sent, %d refused)%s",
                _plural("reminded %d document", "reminded %d documents", reminded)
                % reminded,
                _plural("delivered %d event", "delivered %d events", events) % events,
                done.deliveries.sent,
                done.deliveries.refused,
                ", waiting to retry" if done.deliveries.blocked else "",
            )
        # More may be waiting: no pause.
        return bool(done.deliveries.events and not done.deliveries.blocked)

    def _undelivered(self) -> int:
        assert self.notifier is not None
        head = self.app.log.recorder.max_notification_id() or 0
        return max(head - self.notifier.store.position(), 0)

    def _heartbeat(self) -> None:
        assert self.notifier is not None
        every = self.notifier.lease.total_seconds() / 3
        while not self._heartbeat_stop.wait(every):
            try:
                self.notifier.heartbeat()
            except Exception:
                # A busy or unreachable store: the next beat tries again, and
                # the lease outlasts two missed beats.
                WORKER.warning("delivery lease heartbeat failed", exc_info=True)

    @staticmethod
    def _failed(_exc: BaseException) -> bool:
        # One bad pass (database busy, ...) must not kill the worker; the
        # next pass starts from the recorded position.
        WORKER.exception("worker pass failed; retrying after the interval")
        return True

    def run(self) -> None:
        """Run passes until :meth:`stop` is called (e.g. from a signal)."""
        self._running = True
        self._heartbeat_stop.clear()
        beat = None
        if self.notifier is not None:
            beat = threading.Thread(
                target=self._heartbeat, name="approvalflow-lease", daemon=True
            )
            beat.start()
        WORKER.info(
            "worker started (interval %.3g s)",
            self.interval,
            extra={"worker": self.notifier.worker if self.notifier else None},
        )
        try:
            self._follower.run()
        finally:
            self._running = False
            self._heartbeat_stop.set()
            if beat is not None:
                beat.join()
            if self.notifier is not None:
                self.notifier.stop()
            WORKER.info("worker stopped after %d passes", self.passes)

    def stop(self) -> None:
        """Ask the worker to stop after the message in hand.

        Safe from a signal handler. A worker that is not running (one pass
        with :meth:`run_once`) gives its delivery lease up at once.
        """
        self._follower.stop()
        if self.notifier is not None and not self._running:
            self.notifier.stop()


def pass_summary(
    words: Words,
    *,
    reminded: int,
    events: int,
    sent: int,
    refused: int,
    blocked: bool = False,
    leased_elsewhere: bool = False,
) -> str:
    """What worker passes did, in one line in ``words``' language.

    ``1 reminder recorded; 2 events delivered: 2 sent, 0 refused`` (each
    count in the form its number takes in that language).
    """
    line = words.gettext(
        "%(reminders)s; %(events)s: %(sent)s, %(refused)s",
        reminders=words.ngettext(
            "%(count)s reminder recorded",
            "%(count)s reminders recorded",
            reminded,
            count=words.number(reminded),
        ),
        events=words.ngettext(
            "%(count)s event delivered",
            "%(count)s events delivered",
            events,
            count=words.number(events),
        ),
        sent=words.ngettext(
            "%(count)s message sent",
            "%(count)s messages sent",
            sent,
            count=words.number(sent),
        ),
        refused=words.ngettext(
            "%(count)s refused",
            "%(count)s refused",
            refused,
            count=words.number(refused),
        ),
    )
    if leased_elsewhere:
        line += words.gettext("; another worker holds the delivery lease")
    elif blocked:
        line += words.gettext(", waiting to retry")
    return line
