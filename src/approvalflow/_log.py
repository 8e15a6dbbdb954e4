"""The event log: eventsourcing's application, its storage and the write loop.

:class:`ApprovalLog` is the one eventsourcing ``Application`` behind
``Approvals``. It owns what touches storage: the recorder and read models of
the store's :class:`~approvalflow.storage.Storage`, the delivery
bookkeeping, loading aggregates, and saving them with the lost-race re-check.
The commands and queries are built on it; nothing here decides business
rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    JSONTranscoder,
    Recording,
)
from eventsourcing.utils import EnvType

from approvalflow.domain.aggregate import ApprovalRequest, approval_request_id
from approvalflow.domain.errors import (
    ConcurrentChangeError,
    ConfigurationError,
    InvalidInputError,
)
from approvalflow.domain.validation import check_utc
from approvalflow.follower import read_events
from approvalflow.notifications.outbox import DeliveryStore
from approvalflow.persistence import register_transcodings
from approvalflow.ports import Clock
from approvalflow.readmodels.follow import ViewRunner, catch_up
from approvalflow.readmodels.inline import InlineWriter
from approvalflow.readmodels.store import Progress, ReadModelStore
from approvalflow.storage import Storage, storage_for

__all__ = ["MAX_ATTEMPTS", "ApprovalLog"]

#: How often a command is re-checked after losing a race before giving up.
MAX_ATTEMPTS = 5


class ApprovalLog(Application[UUID]):
    """The approval requests' events, read models and deliveries in one store."""

    # The name is stored (PostgreSQL's table names, read-model positions):
    # it stays "Approvals".
    name = "Approvals"

    def __init__(
        self,
        env: EnvType | None,
        *,
        clock: Clock,
        refresh_views_after_write: bool = True,
    ) -> None:
        self.clock = clock
        self._storage: Storage | None = None
        self._deliveries: DeliveryStore | None = None
        super().__init__(env)
        #: The read models beside the events.
        self.views: ReadModelStore = self.storage.read_models(
            self.recorder, self.mapper
        )
        self._inline = InlineWriter(self.views, self.name)
        self.refresh_views_after_write = refresh_views_after_write
        if self.views.needs_rebuild and not self.views.read_only:
            self.rebuild_views()

    # -- storage -----------------------------------------------------------------

    @property
    def storage(self) -> Storage:
        """The storage adapter of the persistence module."""
        if self._storage is None:
            self._storage = storage_for(self.factory)
        return self._storage

    def construct_recorder(self) -> ApplicationRecorder:
        """The storage adapter's recorder, which writes read models inline."""
        return self.storage.application_recorder()

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Record the events, handing them to the recorder as they are.

        The inline read models fold these objects, not a decoding of the
        stored events.
        """
        processing_event.saved_kwargs["recorded_events"] = processing_event.events
        return super()._record(processing_event)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Add approvalflow's value types to eventsourcing's defaults."""
        super().register_transcodings(transcoder)
        register_transcodings(transcoder)

    @property
    def refresh_views_after_write(self) -> bool:
        """Whether commands write the read models in their own transaction."""
        return self._inline.views

    @refresh_views_after_write.setter
    def refresh_views_after_write(self, value: bool) -> None:
        # The recorder always calls the writer: the audit chain is written
        # with every event, read models only when asked.
        setattr(self.recorder, "inline", self._inline)  # noqa: B010
        self._inline.views = bool(value)

    @property
    def deliveries(self) -> DeliveryStore:
        """Delivery bookkeeping, made on first use: only deliverers need it."""
        if self._deliveries is None:
            self._deliveries = self.storage.deliveries()
        return self._deliveries

    # -- reading and writing aggregates -------------------------------------------

    def now(self) -> datetime:
        """The Clock port's time, checked."""
        try:
            return check_utc("clock.now()", self.clock.now())
        except InvalidInputError as exc:
            msg = f"the clock port returned an unusable time: {exc}"
            raise ConfigurationError(msg) from exc

    def load(self, document_id: str) -> ApprovalRequest | None:
        """The document's aggregate, or ``None`` if never recorded."""
        return self.load_id(approval_request_id(document_id))

    def load_id(self, record_id: UUID) -> ApprovalRequest | None:
        """The aggregate with this id, or ``None``."""
        try:
            aggregate: object = self.repository.get(record_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(aggregate, ApprovalRequest)
        return aggregate

    def write(
        self,
        document_ids: Sequence[str],
        plan: Callable[[datetime], Sequence[ApprovalRequest]],
    ) -> Sequence[ApprovalRequest]:
        """Run ``plan`` and save what it changed, re-checking after a lost race.

        ``plan`` loads the aggregates afresh, checks the command against them
        (raising to refuse) and returns the changed aggregates. A version
        conflict means another writer got there first: the plan runs again on
        the new state, where it either still applies or raises a clear error.
        """
        for _attempt in range(MAX_ATTEMPTS):
            changed = plan(self.now())
            if not changed:
                return changed
            try:
                self.save(*changed)
            except IntegrityError:
                continue
            return changed
        raise ConcurrentChangeError(", ".join(document_ids), MAX_ATTEMPTS)

    # -- read models ---------------------------------------------------------------

    def refresh_views(self) -> int:
        """Apply every event not yet in the read models; return how many."""
        return catch_up(self, self.views)

    def rebuild_views(self, progress: Progress | None = None) -> int:
        """Replay every event into fresh read models, then switch to them."""

        def source(after: int, limit: int) -> list[tuple[int, Any]]:
            return read_events(self, after, limit)

        return self.views.rebuild(self.name, source, progress or (lambda _: None))

    def follow(self, interval: float = 1.0) -> ViewRunner:
        """Keep the read models following the log in a background thread."""
        return ViewRunner(self, self.views, interval=interval)
