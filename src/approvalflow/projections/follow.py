"""Keeping the read models up to date with the event log.

:func:`catch_up` reads the notification log from each read model's position
and applies what it finds, a batch per transaction. It is what the
application runs after its own commands (read-your-writes) and before
queries, and what :class:`ViewRunner` runs on a timer to pick up other
processes' writes. Where the event store can push new events (PostgreSQL's
LISTEN/NOTIFY, the in-memory store), the runner follows eventsourcing's
``ApplicationSubscription``
instead of polling, through the eventsourcing ``Projection`` classes below.

Notification ids can have gaps; nothing here assumes they are contiguous: a
position is "the last id applied", and the next batch is whatever ids come
after it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
from eventsourcing.projection import ApplicationSubscription, Projection

from approvalflow.projections.store import VIEW_NAMES, ViewStore

__all__ = [
    "AuditProjection",
    "DocumentsProjection",
    "RejectionsProjection",
    "ViewRunner",
    "ViewTracking",
    "catch_up",
    "read_events",
]

#: Events applied per transaction when catching up.
BATCH = 200


def read_events(app: Application[Any], after: int, limit: int) -> list[tuple[int, Any]]:
    """Up to ``limit`` (notification id, domain event) pairs after ``after``."""
    notifications = app.recorder.select_notifications(
        start=after, limit=limit, inclusive_of_start=False
    )
    return [(n.id, app.mapper.to_domain_event(n)) for n in notifications]


def catch_up(app: Application[Any], store: ViewStore, batch: int = BATCH) -> int:
    """Bring every read model up to the head of ``app``'s log; return the count.

    Safe to run in several processes at once: a batch another process applied
    first is detected by its position and skipped, never applied twice.
    """
    applied = 0
    head = app.recorder.max_notification_id() or 0
    for view in VIEW_NAMES:
        position = store.position(view, app.name)
        while position < head:
            items = read_events(app, position, batch)
            if not items:
                break
            try:
                store.apply(view, app.name, position, items)
            except IntegrityError:
                # Another process moved this view on meanwhile: start from there.
                position = store.position(view, app.name)
                continue
            position = items[-1][0]
            applied += len(items)
    return applied


class ViewTracking(TrackingRecorder):
    """One read model's tracking position, as eventsourcing sees it."""

    def __init__(self, store: ViewStore, view: str) -> None:
        self.store = store
        self.view = view

    def insert_tracking(self, tracking: Tracking) -> None:
        """Move the position on without applying an event (eventsourcing API)."""
        self.store.apply(
            self.view,
            tracking.application_name,
            None,
            [(tracking.notification_id, None)],
        )

    def max_tracking_id(self, application_name: str) -> int | None:
        """The read model's position (``None`` before the first event)."""
        return self.store.position(self.view, application_name) or None


class _ReadModelProjection(Projection[ViewTracking]):
    """Applies each event to one read model, with its tracking, in one go."""

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Apply ``domain_event`` unless the read model already has it."""
        with contextlib.suppress(IntegrityError):
            self.view.store.apply(
                self.view.view,
                tracking.application_name,
                None,
                [(tracking.notification_id, domain_event)],
            )


class DocumentsProjection(_ReadModelProjection):
    """The ``documents`` read model: statuses and every list (F13-F17)."""

    name = "documents"


class RejectionsProjection(_ReadModelProjection):
    """The ``rejections`` read model: reasons and comments (F9)."""

    name = "rejections"


class AuditProjection(_ReadModelProjection):
    """The ``audit`` read model: each document's trail (F18)."""

    name = "audit"


PROJECTIONS: Sequence[type[_ReadModelProjection]] = (
    DocumentsProjection,
    RejectionsProjection,
    AuditProjection,
)


class ViewRunner:
    """Follows the event log in a background thread until stopped.

    With a store that pushes new events, it subscribes (eventsourcing's
    ``ApplicationSubscription``, one per read model); otherwise it polls the
    notification log every ``interval`` seconds. Use it as a context manager,
    or call :meth:`stop`.
    """

    def __init__(
        self, app: Application[Any], store: ViewStore, *, interval: float = 1.0
    ) -> None:
        self.app = app
        self.store = store
        self.interval = interval
        self.error: BaseException | None = None
        self._stopping = threading.Event()
        self._subscriptions: list[ApplicationSubscription[Any]] = []
        self._threads: list[threading.Thread] = []
        if _can_subscribe(app):
            # Catch up first so each subscription starts from its position.
            catch_up(app, store)
            for projection_class in PROJECTIONS:
                projection = projection_class(
                    view=ViewTracking(store, projection_class.name)
                )
                subscription = ApplicationSubscription(
                    app, gt=store.position(projection_class.name, app.name) or None
                )
                self._subscriptions.append(subscription)
                self._start(self._follow, subscription, projection)
        else:
            self._start(self._poll)

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _follow(
        self, subscription: ApplicationSubscription[Any], projection: Any
    ) -> None:
        try:
            for domain_event, tracking in subscription:
                projection.process_event(domain_event, tracking)
        except BaseException as exc:
            self.error = exc
            self._stopping.set()

    def _poll(self) -> None:
        while not self._stopping.is_set():
            try:
                catch_up(self.app, self.store)
            except BaseException as exc:
                self.error = exc
                return
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        """Stop following and wait for the threads to finish."""
        self._stopping.set()
        for subscription in self._subscriptions:
            subscription.stop()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> ViewRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _can_subscribe(app: Application[Any]) -> bool:
    try:
        subscription = app.recorder.subscribe(gt=None)
    except NotImplementedError:
        return False
    subscription.stop()
    return True
