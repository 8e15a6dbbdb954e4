"""Delivery bookkeeping: what each event must send, and what was sent.

The delivery follower reads the event log in order. For each event it plans
its deliveries once (recipients as the directory says *then*), records each
delivery's outcome, and moves its position past the event only when every
delivery is sent or refused for good. One worker at a time holds the
delivery *lease*, so two workers never send the same message; a worker that
dies loses the lease when it expires and another takes over.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

__all__ = [
    "Backlog",
    "DeliveriesToSkip",
    "DeliveryStore",
    "MemoryDeliveryStore",
    "PlannedDelivery",
]


@attrs.frozen
class PlannedDelivery:
    """One message (email, portal task change, Inbox+ note) for one event."""

    notification_id: int
    seq: int
    #: ``email``, ``portal`` (the client's task list) or ``inbox`` (Inbox+).
    channel: str
    #: What to send: ``request``, ``resend``, ``reminder``, ``decision``,
    #: ``put_task``, ``remove_task``.
    kind: str
    recipient_id: str
    recipient_name: str
    #: Email address, account id (portal) or firm member id (inbox).
    address: str
    language: str | None = None
    #: ``pending``, ``sent``, ``refused`` (for good: not retried unless an
    #: operator asks) or ``retry`` (an operator asked to try a refused one
    #: again; the worker does, with the recipient's current address).
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    done_at: datetime | None = None
    last_error: str | None = None


@attrs.frozen
class Backlog:
    """How far deliveries lag behind the event log."""

    position: int
    head: int
    #: Deliveries planned and not yet sent (waiting or retrying).
    waiting: tuple[PlannedDelivery, ...]
    #: Deliveries refused for good.
    refused: tuple[PlannedDelivery, ...]
    lease_holder: str | None
    lease_until: datetime | None


@attrs.frozen
class DeliveriesToSkip:
    """What skipping deliveries to the head would mark as delivered.

    The events after ``position`` up to ``head``; ``messages`` counts them
    by each ``(channel, kind)`` of message they lead to (one event may lead
    to several kinds, and one kind to an email per recipient).
    """

    position: int
    head: int
    messages: tuple[tuple[str, str, int], ...]

    @property
    def events(self) -> int:
        """How many events would be marked as delivered."""
        return self.head - self.position


class DeliveryStore(Protocol):
    """Where the delivery follower keeps its position, plans and lease."""

    def acquire(self, worker: str, now: datetime, until: datetime) -> bool:
        """Take or renew the delivery lease; ``False`` if another worker has it."""
        ...

    def renew(self, worker: str, until: datetime) -> bool:
        """Extend the lease ``worker`` holds to ``until``; ``False`` if it does not.

        A heartbeat's call: it never takes a lease.
        """
        ...

    def release(self, worker: str) -> None:
        """Give the lease up (a clean stop), if ``worker`` holds it."""
        ...

    def position(self) -> int:
        """The last notification id fully delivered."""
        ...

    def advance(self, expected: int, to: int) -> bool:
        """Move the position from ``expected`` to ``to``; ``False`` if it moved."""
        ...

    def planned(self, notification_id: int) -> list[PlannedDelivery] | None:
        """The event's deliveries, or ``None`` if not planned yet."""
        ...

    def plan(self, deliveries: Sequence[PlannedDelivery]) -> None:
        """Record an event's deliveries (all at once)."""
        ...

    def update(self, delivery: PlannedDelivery) -> None:
        """Record a delivery's new status."""
        ...

    def backlog(self, head: int) -> Backlog:
        """The state of deliveries, for operators."""
        ...

    def requeue(self, notification_id: int | None = None) -> int:
        """Mark refused deliveries (of one event, or all) for another try."""
        ...

    def retries(self) -> list[PlannedDelivery]:
        """Deliveries an operator asked to try again, oldest first."""
        ...


class MemoryDeliveryStore:
    """Delivery bookkeeping in memory (for the in-memory event store)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._position = 0
        self._plans: dict[int, list[PlannedDelivery]] = {}
        self._lease: tuple[str, datetime] | None = None

    def acquire(self, worker: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease."""
        with self._lock:
            if self._lease and self._lease[0] != worker and self._lease[1] > now:
                return False
            self._lease = (worker, until)
            return True

    def renew(self, worker: str, until: datetime) -> bool:
        """Extend the lease ``worker`` holds."""
        with self._lock:
            if self._lease is None or self._lease[0] != worker:
                return False
            self._lease = (worker, until)
            return True

    def release(self, worker: str) -> None:
        """Give the lease up."""
        with self._lock:
            if self._lease and self._lease[0] == worker:
                self._lease = None

    def position(self) -> int:
        """The last notification id fully delivered."""
        with self._lock:
            return self._position

    def advance(self, expected: int, to: int) -> bool:
        """Compare-and-set the position."""
        with self._lock:
            if self._position != expected:
                return False
            self._position = to
            return True

    def planned(self, notification_id: int) -> list[PlannedDelivery] | None:
        """The event's deliveries."""
        with self._lock:
            plan = self._plans.get(notification_id)
            return list(plan) if plan is not None else None

    def plan(self, deliveries: Sequence[PlannedDelivery]) -> None:
        """Record an event's deliveries."""
        if not deliveries:
            return
        with self._lock:
            self._plans.setdefault(deliveries[0].notification_id, list(deliveries))

    def update(self, delivery: PlannedDelivery) -> None:
        """Record a delivery's new status."""
        with self._lock:
            plan = self._plans[delivery.notification_id]
            plan[delivery.seq] = delivery

    def backlog(self, head: int) -> Backlog:
        """The state of deliveries."""
        with self._lock:
            rows = [d for plan in self._plans.values() for d in plan]
            holder, until = self._lease if self._lease else (None, None)
            return Backlog(
                position=self._position,
                head=head,
                waiting=tuple(d for d in rows if d.status in ("pending", "retry")),
                refused=tuple(d for d in rows if d.status == "refused"),
                lease_holder=holder,
                lease_until=until,
            )

    def requeue(self, notification_id: int | None = None) -> int:
        """Mark refused deliveries for another try; return how many."""
        with self._lock:
            count = 0
            for nid, plan in self._plans.items():
                if notification_id is not None and nid != notification_id:
                    continue
                for i, d in enumerate(plan):
                    if d.status == "refused":
                        plan[i] = attrs.evolve(d, status="retry", done_at=None)
                        count += 1
            return count

    def retries(self) -> list[PlannedDelivery]:
        """Deliveries marked for another try, oldest first."""
        with self._lock:
            found = [
                d for plan in self._plans.values() for d in plan if d.status == "retry"
            ]
        return sorted(found, key=lambda d: (d.notification_id, d.seq))
