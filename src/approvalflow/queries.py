"""The read side of ``Approvals``: lists, the audit trail and time travel.

Lists come from the read models (:mod:`approvalflow.readmodels`), which
commands write in their own transaction; before each query, events recorded
by another path are caught up when ``refresh_views_on_read`` is on (the
default), so a query sees every write committed before it. The audit trail
and "as of" queries fold the events themselves.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

import attrs
from eventsourcing.application import AggregateNotFoundError

from approvalflow.domain.aggregate import ApprovalRequest, approval_request_id
from approvalflow.domain.errors import (
    ConfigurationError,
    InvalidInputError,
    InvalidStateError,
)
from approvalflow.domain.validation import check_identifier, check_int, check_utc
from approvalflow.domain.values import ApprovalState, CycleOutcome, DocumentFacts
from approvalflow.follower import read_events
from approvalflow.readmodels.audit import AuditRow, audit_trail
from approvalflow.readmodels.documents import (
    RECENT_WINDOW,
    DocumentRow,
    Page,
    check_filters,
    decode_cursor,
    fold_document,
)
from approvalflow.readmodels.follow import ViewRunner, catch_up
from approvalflow.readmodels.rejections import RejectionRow
from approvalflow.readmodels.store import VIEW_NAMES, Progress, ReadModelStore

if TYPE_CHECKING:
    from eventsourcing.application import Repository
    from eventsourcing.persistence import ApplicationRecorder, EventStore

    from approvalflow.ports import Clock

__all__ = [
    "AccountPending",
    "ClientView",
    "ReadSide",
    "ReasonsNotOfferedError",
    "ViewPosition",
]

log = logging.getLogger("approvalflow")

MAX_PAGE = 500


class ReasonsNotOfferedError(InvalidStateError):
    """Rejection reasons are not offered for an approved document (F9)."""

    def __init__(self, document_id: str) -> None:
        super().__init__(
            document_id,
            "show the rejection reasons of",
            "approved",
            "reasons are shown for documents that are not approved",
        )


@attrs.frozen
class AccountPending:
    """A client account with documents pending approval (F17)."""

    account_id: str
    pending: int


@attrs.frozen
class ViewPosition:
    """How far a read model has followed the event log."""

    view: str
    position: int
    head: int

    @property
    def behind(self) -> int:
        """Notification ids not yet applied (an upper bound: ids have gaps)."""
        return max(0, self.head - self.position)


@attrs.frozen
class ClientView:
    """A request exactly as the client sees it, for staff to look at (F12)."""

    document: DocumentFacts
    state: ApprovalState
    #: The latest message from the firm (request or resend).
    message: str | None
    requested_at: datetime
    requested_by: str
    #: What the client can do now: ``("approve", "reject")`` while pending.
    actions: tuple[str, ...]
    #: When and how the request was closed, if it was.
    closed_at: datetime | None
    outcome: CycleOutcome


class ReadSide:
    """Queries over the read models and the event log (mixed into Approvals)."""

    name: str
    clock: Clock
    events: EventStore[Any]
    recorder: ApplicationRecorder
    repository: Repository[Any]
    refresh_views_on_read: bool
    refresh_views_after_write: bool
    _views: ReadModelStore | None

    @property
    def views(self) -> ReadModelStore:
        """The read models' store."""
        if self._views is None:
            msg = (
                "this event store has no read models in this release; "
                "use an SQLite file, PostgreSQL or memory://"
            )
            raise ConfigurationError(msg)
        return self._views

    def refresh_views(self) -> int:
        """Apply every event not yet in the read models; return how many.

        Commands write the read models in their own transaction, so this
        only finds work when events came by another path (an older release,
        a host writing through eventsourcing, inline writing switched off).
        """
        return catch_up(self, self.views)  # type: ignore[arg-type]

    def _fresh_views(self) -> ReadModelStore:
        if self.refresh_views_on_read:
            self.refresh_views()
        return self.views

    # -- lists -------------------------------------------------------------------

    def recent(
        self,
        *,
        filters: Sequence[str] | None = None,
        account_id: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """Documents with activity in the last 30 days, newest first (F14, F15).

        ``filters`` are :class:`~approvalflow.readmodels.StatusFilter` values
        (several at once: any of them); ``account_id`` limits the list to one
        client's documents. Pass a page's ``next_cursor`` as ``after`` for
        the next page.
        """
        wanted = check_filters(filters)
        account = (
            None if account_id is None else check_identifier("account_id", account_id)
        )
        size = check_int("limit", limit, low=1, high=MAX_PAGE)
        cursor = decode_cursor(after)
        since = self.clock.now() - RECENT_WINDOW
        return self._fresh_views().recent(
            since=since, account_id=account, filters=wanted, after=cursor, limit=size
        )

    def approvals_tab(
        self,
        account_id: str,
        *,
        filters: Sequence[str] | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """A client's Approvals tab: its requested documents (F16).

        Latest request first; each row has the document's name and file type,
        request date, uploader, description, status and rejected date.
        """
        account = check_identifier("account_id", account_id)
        wanted = check_filters(filters)
        size = check_int("limit", limit, low=1, high=MAX_PAGE)
        cursor = decode_cursor(after)
        return self._fresh_views().approvals_tab(
            account_id=account, filters=wanted, after=cursor, limit=size
        )

    def accounts_pending(self) -> list[AccountPending]:
        """Client accounts with documents pending approval, and how many (F17)."""
        return [AccountPending(a, n) for a, n in self._fresh_views().accounts_pending()]

    def rejection_reasons(self, document_id: str) -> tuple[RejectionRow, ...]:
        """Every rejection of a document across its cycles ("show more info", F9).

        Refused with :class:`ReasonsNotOfferedError` for an approved document.
        """
        doc_id = check_identifier("document_id", document_id)
        views = self._fresh_views()
        row = views.document(doc_id)
        if row is not None and row.state is ApprovalState.APPROVED:
            raise ReasonsNotOfferedError(doc_id)
        return views.rejections(doc_id)

    def audit_trail(self, document_id: str) -> tuple[AuditRow, ...]:
        """Every event of the document in order: when, who, what (F18)."""
        doc_id = check_identifier("document_id", document_id)
        # Read from the events themselves: the audit trail is their history.
        return audit_trail(doc_id, self.events.get(approval_request_id(doc_id)))

    def export_audit(
        self, document_id: str, out: IO[str], *, fmt: str = "jsonl"
    ) -> int:
        """Write the document's audit trail to ``out`` as JSON Lines or CSV.

        Returns the number of lines (records) written.
        """
        if fmt not in ("jsonl", "csv"):
            raise InvalidInputError("fmt", f"got {fmt!r}", "'jsonl' or 'csv'")
        rows = self.audit_trail(document_id)
        records = [row.as_record() for row in rows]
        if fmt == "jsonl":
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        else:
            writer = csv.DictWriter(
                out, fieldnames=list(_CSV_FIELDS), lineterminator="\n"
            )
            writer.writeheader()
            for record in records:
                record["details"] = json.dumps(
                    record["details"], ensure_ascii=False, sort_keys=True
                )
                writer.writerow(record)
        return len(records)

    def client_view(self, document_id: str) -> ClientView:
        """The latest request as the client sees it, read-only (F12)."""
        doc_id = check_identifier("document_id", document_id)
        aggregate = self._aggregate(doc_id)
        cycle = aggregate.current_cycle if aggregate else None
        if aggregate is None or cycle is None:
            msg = "request approval first; there is nothing for the client to see"
            raise InvalidStateError(
                doc_id, "show the client's view of", "never requested", msg
            )
        return ClientView(
            document=cycle.document,
            state=aggregate.approval_state,
            message=cycle.latest_message,
            requested_at=cycle.requested_at,
            requested_by=cycle.requested_by.name,
            actions=("approve", "reject") if cycle.is_pending else (),
            closed_at=cycle.closed_at,
            outcome=cycle.outcome,
        )

    # -- time travel -----------------------------------------------------------

    def document_as_of(self, document_id: str, at: datetime) -> DocumentRow | None:
        """The document's row (status, dates, ...) as it stood at ``at``."""
        doc_id = check_identifier("document_id", document_id)
        when = check_utc("at", at)
        return fold_document(self._events_until(doc_id, when))

    def approvals_tab_as_of(
        self, account_id: str, at: datetime
    ) -> tuple[DocumentRow, ...]:
        """A client's Approvals tab as it stood at ``at``, from the events."""
        account = check_identifier("account_id", account_id)
        when = check_utc("at", at)
        rows = []
        for doc_id in self._fresh_views().documents_ever_in(account):
            row = fold_document(self._events_until(doc_id, when))
            if (
                row is not None
                and row.account_id == account
                and row.awaits_or_has_decision
            ):
                rows.append(row)
        rows.sort(key=lambda r: (r.requested_at, r.document_id), reverse=True)
        return tuple(rows)

    def _events_until(self, document_id: str, at: datetime) -> list[Any]:
        events: list[Any] = list(self.events.get(approval_request_id(document_id)))
        return [e for e in events if e.timestamp <= at]

    def _aggregate(self, document_id: str) -> ApprovalRequest | None:
        try:
            found: object = self.repository.get(approval_request_id(document_id))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, ApprovalRequest) else None

    # -- operations --------------------------------------------------------------

    def views_status(self) -> list[ViewPosition]:
        """Each read model's position against the head of the event log."""
        head = self.recorder.max_notification_id() or 0
        return [
            ViewPosition(view, self.views.position(view, self.name), head)
            for view in VIEW_NAMES
        ]

    def rebuild_views(self, progress: Progress | None = None) -> int:
        """Replay every event into fresh read models, then switch to them.

        Readers see the old read models until the switch. ``progress`` is told
        the running count. Returns the number of events replayed.
        """

        def source(after: int, limit: int) -> list[tuple[int, Any]]:
            return read_events(self, after, limit)  # type: ignore[arg-type]

        return self.views.rebuild(
            self.name,
            source,
            progress or (lambda _: None),
        )

    def follow(self, interval: float = 1.0) -> ViewRunner:
        """Keep the read models following the log in a background thread."""
        return ViewRunner(self, self.views, interval=interval)  # type: ignore[arg-type]


_CSV_FIELDS = (
    "document_id",
    "version",
    "at",
    "event",
    "actor_id",
    "actor_name",
    "actor_role",
    "summary",
    "details",
)
