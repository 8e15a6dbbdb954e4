"""Read models left behind, brought up to the head of the log.

Commands write the read models inline (:mod:`approvalflow.readmodels.inline`),
so these are for read models that fell behind: a store written by another
path or an older release, a read model added later, or an application with
inline writing switched off (``refresh_views_after_write=False``).
"""

from __future__ import annotations

import threading
from typing import Protocol

from approvalflow.follower import EventLog, LogFollower, read_events
from approvalflow.readmodels.store import CATCH_UP_BATCH, ReadModelStore

__all__ = ["NamedLog", "ViewRunner", "catch_up"]


class NamedLog(EventLog, Protocol):
    """An event log and the application name its read-model positions use."""

    @property
    def name(self) -> str:
        """The application's name."""
        ...


def catch_up(app: NamedLog, store: ReadModelStore, batch: int = CATCH_UP_BATCH) -> int:
    """Bring every read model up to the head of ``app``'s log; return the count.

    Safe to run in several processes at once: each batch locks the read
    models' positions, so events are folded once and no work is thrown away.
    """
    head = app.recorder.max_notification_id() or 0
    if not store.behind(app.name, head):
        return 0
    return store.catch_up(
        app.name, lambda after, limit: read_events(app, after, limit), head, batch
    )


class ViewRunner:
    """Keeps the read models following the log in a background thread.

    It runs on the library's one log follower (the worker's too): by
    subscription where the store pushes, by polling every ``interval``
    seconds otherwise. Use it as a context
    manager, or call :meth:`stop`.
    """

    def __init__(
        self, app: NamedLog, store: ReadModelStore, *, interval: float = 1.0
    ) -> None:
        self.app = app
        self.store = store
        self.interval = interval
        #: What stopped the runner, if an error did.
        self.error: BaseException | None = None
        self._follower = LogFollower(
            app,
            lambda: catch_up(app, store) > 0,
            interval=interval,
            on_error=self._failed,
        )
        self._thread: threading.Thread | None = self._follower.start()

    @property
    def subscribed(self) -> bool:
        """True while new events wake the runner (no polling)."""
        return self._follower.subscribed

    def _failed(self, exc: BaseException) -> bool:
        self.error = exc
        return False

    def stop(self) -> None:
        """Stop following and wait for the thread to finish."""
        self._follower.stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> ViewRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
