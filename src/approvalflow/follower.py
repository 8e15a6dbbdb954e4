"""The one log follower: wakes when events are recorded and runs a step.

Everything that follows the event log outside a command's transaction goes
through :class:`LogFollower`: the worker's deliveries and reminders, and
read models left behind (:meth:`Approvals.follow`). Where the event store
pushes new events (PostgreSQL's LISTEN/NOTIFY, the in-memory store) it wakes
as soon as one is recorded, through eventsourcing's subscription; otherwise
(SQLite) it polls every ``interval`` seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from eventsourcing.persistence import ApplicationRecorder, Mapper

from approvalflow._store_errors import store_error

__all__ = ["EventLog", "LogFollower", "read_events"]

log = logging.getLogger("approvalflow.follower")


class EventLog(Protocol):
    """An application's log: its recorder and mapper (any eventsourcing app)."""

    @property
    def recorder(self) -> ApplicationRecorder:
        """Where the events are read from."""
        ...

    @property
    def mapper(self) -> Mapper[Any]:
        """How stored events become domain events."""
        ...


def read_events(app: EventLog, after: int, limit: int) -> list[tuple[int, Any]]:
    """Up to ``limit`` (notification id, domain event) pairs after ``after``."""
    notifications = app.recorder.select_notifications(
        start=after, limit=limit, inclusive_of_start=False
    )
    events = []
    for n in notifications:
        try:
            events.append((n.id, app.mapper.to_domain_event(n)))
        except Exception as exc:
            typed = store_error(exc)
            if typed is None:
                raise
            # Where it is, so an operator can look at it (and the chain).
            msg = f"event #{n.id} (topic {n.topic!r}): {typed}"
            raise type(typed)(msg) from exc
    return events


class LogFollower:
    """Runs ``step`` whenever events may be waiting, until stopped.

    ``step()`` returns ``True`` when it stopped with more work in hand (run
    it again at once), ``False`` to wait for new events or ``interval``.
    An exception from ``step`` goes to ``on_error``, which returns ``True``
    to carry on after the interval, ``False`` to stop.
    """

    def __init__(
        self,
        app: EventLog,
        step: Callable[[], bool],
        *,
        interval: float,
        on_error: Callable[[BaseException], bool],
    ) -> None:
        self.app = app
        self.step = step
        self.interval = interval
        self.on_error = on_error
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._subscription: Any = None
        #: True while new events wake the follower (no polling needed).
        self.subscribed = False

    def run(self) -> None:
        """Follow the log in this thread until :meth:`stop`."""
        self._listen()
        try:
            while not self.stopping.is_set():
                try:
                    more = self.step()
                except Exception as exc:
                    if not self.on_error(exc):
                        return
                    more = False
                if more:
                    continue
                self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            if self._subscription is not None:
                self._subscription.stop()

    def start(self) -> threading.Thread:
        """Follow the log in a background thread."""
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Ask the follower to stop after the step in hand (signal-safe)."""
        self.stopping.set()
        self._wake.set()

    def _listen(self) -> None:
        try:
            subscription = self.app.recorder.subscribe(
                gt=self.app.recorder.max_notification_id()
            )
        except NotImplementedError:
            return  # SQLite: poll every interval

        def wake_on_events() -> None:
            try:
                for _ in subscription:
                    self._wake.set()
            except Exception:
                log.exception("event subscription ended; polling instead")
                self.subscribed = False

        self._subscription = subscription
        self.subscribed = True
        threading.Thread(target=wake_on_events, daemon=True).start()
