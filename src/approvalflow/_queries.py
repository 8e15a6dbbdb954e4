"""Queries: lists, the audit trail, time travel and the read models' state.

Lists come from the read models (:mod:`approvalflow.readmodels`), which
commands write in their own transaction; before each query, events recorded
by another path are caught up when ``refresh_views_on_read`` is on (the
default), so a query sees every write committed before it. The audit trail
and "as of" queries fold the events themselves.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any
from uuid import UUID

import attrs
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import OriginatorVersionError

from approvalflow import i18n
from approvalflow._log import ApprovalLog
from approvalflow.audit_verify import (
    BUNDLE_FORMAT,
    LOG_START,
    Report,
    StoredRecord,
    parse_head,
    verify,
)
from approvalflow.domain.aggregate import ApprovalRequest, Cycle, approval_request_id
from approvalflow.domain.errors import (
    InvalidInputError,
    InvalidStateError,
    StoreError,
)
from approvalflow.domain.reminders import in_zone, schedule_zone
from approvalflow.domain.validation import check_identifier, check_int, check_utc
from approvalflow.domain.values import ApprovalState, CycleOutcome, DocumentFacts
from approvalflow.history import HistoryEntry, account_names, history_entry
from approvalflow.readmodels.audit import AuditRow, audit_trail
from approvalflow.readmodels.documents import (
    RECENT_WINDOW,
    DocumentRow,
    Page,
    check_filters,
    decode_cursor,
    fold_document,
)
from approvalflow.readmodels.rejections import RejectionRow
from approvalflow.readmodels.store import VIEW_NAMES, ReadModelStore

__all__ = [
    "AccountPending",
    "ClientView",
    "DocumentStatus",
    "Queries",
    "ReasonsNotOfferedError",
    "ViewPosition",
]

log = logging.getLogger("approvalflow")

MAX_PAGE = 500


class ReasonsNotOfferedError(InvalidStateError):
    """Rejection reasons are not offered for an approved document."""

    def __init__(self, document_id: str) -> None:
        super().__init__(
            document_id,
            "show the rejection reasons of",
            "approved",
            "reasons are shown for documents that are not approved",
        )


@attrs.frozen
class AccountPending:
    """A client account with documents pending approval."""

    account_id: str
    pending: int


@attrs.frozen
class DocumentStatus:
    """Where a document's approval stands."""

    document_id: str
    state: ApprovalState
    pending_payment: bool
    invoice_id: str | None
    #: The latest cycle's number (``None``: never requested).
    cycle: int | None
    requested_at: datetime | None
    closed_at: datetime | None
    next_reminder_at: datetime | None
    #: The time zone the pending request's reminders fall due in.
    reminder_time_zone: str | None = None

    @property
    def next_reminder_local(self) -> datetime | None:
        """The next reminder in the client's hours (its schedule's zone)."""
        return in_zone(self.next_reminder_at, self.reminder_time_zone)


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
    """A request exactly as the client sees it, for staff to look at."""

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
    #: When the next automatic reminder falls due, and in which time zone.
    next_reminder_at: datetime | None = None
    reminder_time_zone: str | None = None

    @property
    def next_reminder_local(self) -> datetime | None:
        """The next reminder in the client's hours (its schedule's zone)."""
        return in_zone(self.next_reminder_at, self.reminder_time_zone)


class Queries:
    """Every query of ``Approvals``, over the read models and the event log."""

    def __init__(
        self,
        log: ApprovalLog,
        *,
        refresh_views_on_read: bool,
        account_name: Callable[[str], str | None] = lambda _account_id: None,
    ) -> None:
        self.log = log
        #: Whether each list query first catches up events recorded another way.
        self.refresh_views_on_read = refresh_views_on_read
        #: The display name of a client account (the Directory port's), if any.
        self.account_name = account_name

    def _fresh_views(self) -> ReadModelStore:
        views = self._current_views()
        if self.refresh_views_on_read:
            self.log.refresh_views()
        return views

    def _current_views(self) -> ReadModelStore:
        """The read models, or a refusal saying how to bring old ones up to date."""
        views = self.log.views
        if views.needs_rebuild:
            msg = (
                "this store's lists were made by an earlier approvalflow release "
                "and it is open read-only, so they cannot be rebuilt here; "
                "nothing was changed. Upgrade them once by opening the store "
                "for writing: approvalflow projections rebuild --db STORE "
                "(it rewrites only the lists), or read a writable copy "
                "(history, status and the audit chain work read-only)"
            )
            raise StoreError(msg)
        return views

    # -- one document --------------------------------------------------------------

    def get_request(self, document_id: str) -> ApprovalRequest | None:
        """See :meth:`Approvals.get_request`."""
        return self.log.load(check_identifier("document_id", document_id))

    def status(self, document_id: str) -> DocumentStatus:
        """See :meth:`Approvals.status`."""
        doc_id = check_identifier("document_id", document_id)
        aggregate = self.log.load(doc_id)
        if aggregate is None:
            return DocumentStatus(
                doc_id, ApprovalState.NONE, False, None, None, None, None, None
            )
        current = aggregate.current_cycle
        return DocumentStatus(
            document_id=doc_id,
            state=aggregate.approval_state,
            pending_payment=aggregate.pending_payment,
            invoice_id=aggregate.invoice.invoice_id if aggregate.invoice else None,
            cycle=current.number if current else None,
            requested_at=current.requested_at if current else None,
            closed_at=current.closed_at if current else None,
            next_reminder_at=aggregate.next_reminder_at(),
            reminder_time_zone=schedule_zone(current.reminders)
            if current and current.is_pending
            else None,
        )

    def cycles(self, document_id: str) -> tuple[Cycle, ...]:
        """See :meth:`Approvals.cycles`."""
        aggregate = self.log.load(check_identifier("document_id", document_id))
        return aggregate.cycles if aggregate else ()

    def history(self, document_id: str) -> tuple[HistoryEntry, ...]:
        """See :meth:`Approvals.history`."""
        doc_id = check_identifier("document_id", document_id)
        events = list(self.log.events.get(approval_request_id(doc_id)))
        for expected, event in enumerate(events, start=1):
            # A missing version is an event deleted outside approvalflow: a
            # history with a hole would read as a true one.
            if event.originator_version != expected:
                raise OriginatorVersionError(expected, event.originator_version)
        names = account_names(events, self.account_name)
        return tuple(history_entry(event, names) for event in events)

    # -- lists -------------------------------------------------------------------

    def recent(
        self,
        *,
        filters: Sequence[str] | None = None,
        account_id: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """See :meth:`Approvals.recent`."""
        wanted = check_filters(filters)
        account = (
            None if account_id is None else check_identifier("account_id", account_id)
        )
        size = check_int("limit", limit, low=1, high=MAX_PAGE)
        cursor = decode_cursor(after)
        since = self.log.clock.now() - RECENT_WINDOW
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
        """See :meth:`Approvals.approvals_tab`."""
        account = check_identifier("account_id", account_id)
        wanted = check_filters(filters)
        size = check_int("limit", limit, low=1, high=MAX_PAGE)
        cursor = decode_cursor(after)
        return self._fresh_views().approvals_tab(
            account_id=account, filters=wanted, after=cursor, limit=size
        )

    def accounts_pending(self) -> list[AccountPending]:
        """See :meth:`Approvals.accounts_pending`."""
        return [AccountPending(a, n) for a, n in self._fresh_views().accounts_pending()]

    def rejection_reasons(self, document_id: str) -> tuple[RejectionRow, ...]:
        """See :meth:`Approvals.rejection_reasons`."""
        doc_id = check_identifier("document_id", document_id)
        views = self._fresh_views()
        row = views.document(doc_id)
        if row is not None and row.state is ApprovalState.APPROVED:
            raise ReasonsNotOfferedError(doc_id)
        return views.rejections(doc_id)

    def audit_trail(
        self,
        document_id: str,
        *,
        language: str | None = None,
        time_zone: str | None = None,
    ) -> tuple[AuditRow, ...]:
        """See :meth:`Approvals.audit_trail`."""
        doc_id = check_identifier("document_id", document_id)
        _check_time_zone(time_zone)
        # Read from the events themselves: the audit trail is their history.
        return audit_trail(
            doc_id,
            self.log.events.get(approval_request_id(doc_id)),
            language=language,
            time_zone=time_zone,
            account_name=self.account_name,
        )

    def export_audit(
        self,
        document_id: str,
        out: IO[str],
        *,
        fmt: str = "jsonl",
        bom: bool = False,
        delimiter: str = ",",
        language: str | None = None,
        time_zone: str | None = None,
    ) -> int:
        """See :meth:`Approvals.export_audit`."""
        write = _audit_writer(out, fmt, _CSV_FIELDS, bom=bom, delimiter=delimiter)
        rows = self.audit_trail(document_id, language=language, time_zone=time_zone)
        for row in rows:
            write(row.as_record())
        return len(rows)

    def export_audit_log(
        self,
        out: IO[str],
        *,
        fmt: str = "jsonl",
        account_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        bom: bool = False,
        delimiter: str = ",",
        language: str | None = None,
        time_zone: str | None = None,
    ) -> int:
        """See :meth:`Approvals.export_audit_log`."""
        _check_time_zone(time_zone)
        account = (
            None if account_id is None else check_identifier("account_id", account_id)
        )
        start = None if since is None else check_utc("since", since)
        end = None if until is None else check_utc("until", until)
        if start is not None and end is not None and end <= start:
            raise InvalidInputError(
                "until",
                f"got {end.isoformat()}",
                f"a time after since ({start.isoformat()})",
            )
        write = _audit_writer(out, fmt, _LOG_CSV_FIELDS, bom=bom, delimiter=delimiter)
        written = 0
        # Per record: its document and the account of its latest facts. A
        # Created event carries neither account nor facts: it waits for the
        # record's next event (saved with it), which has them.
        known: dict[UUID, tuple[str | None, str | None]] = {}
        held: dict[UUID, tuple[int, Any]] = {}

        def emit(position: int, event: Any) -> None:
            nonlocal written
            document, owner = known.get(event.originator_id, (None, None))
            if account is not None and owner != account:
                return
            at = event.timestamp
            if (start is not None and at < start) or (end is not None and at >= end):
                return
            (row,) = audit_trail(
                document or "",
                [event],
                language=language,
                time_zone=time_zone,
                account_name=self.account_name,
            )
            write({"position": position, "account_id": owner, **row.as_record()})
            written += 1

        for notification in self._stored_notifications():
            event = self.log.mapper.to_domain_event(notification)
            origin = event.originator_id
            if isinstance(event, ApprovalRequest.Created):
                known[origin] = (event.document_id, None)
                held[origin] = (notification.id, event)
                continue
            facts = getattr(event, "document", None)
            if isinstance(facts, DocumentFacts):
                known[origin] = (facts.document_id, facts.account_id)
            if origin in held:
                emit(*held.pop(origin))
            emit(notification.id, event)
        for position, event in held.values():
            emit(position, event)
        return written

    def verify_audit(self, expected_head: str | None = None) -> Report:
        """See :meth:`Approvals.verify_audit`."""
        if expected_head is not None:
            try:
                parse_head(expected_head)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    "expected_head",
                    f"got {expected_head!r}",
                    "the head line a verification prints (head: #N and 64 "
                    "hexadecimal digits), or the 64 digits alone",
                ) from exc
        chain = self.log.views.chain
        checkpoint = chain.checkpoint()
        started = checkpoint is not None
        if checkpoint is None:
            # Not chained yet (an earlier release's store opened read-only):
            # every event is from before the chain.
            checkpoint = self.log.recorder.max_notification_id() or 0
        return verify(
            self._stored_records(),
            chain.records(),
            checkpoint=checkpoint,
            expected_head=expected_head,
            chain_started=started,
        )

    def export_audit_bundle(self, out: IO[str]) -> int:
        """See :meth:`Approvals.export_audit_bundle`."""
        if not callable(getattr(out, "write", None)):
            raise InvalidInputError(
                "out",
                f"got {type(out).__name__}, which has no write()",
                "a text file or stream open for writing",
            )
        chain = self.log.views.chain
        links = list(chain.records())
        events = [
            {
                "notification_id": r.notification_id,
                "originator_id": r.originator_id,
                "originator_version": r.originator_version,
                "topic": r.topic,
                "state": base64.b64encode(r.state).decode(),
            }
            for r in self._stored_records()
        ]
        head = links[-1] if links else None
        checkpoint = chain.checkpoint()
        bundle = {
            "format": BUNDLE_FORMAT,
            "algorithm": "sha256",
            "exported_at": self.log.clock.now().isoformat(),
            "checkpoint": checkpoint or 0,
            # An earlier release's store exported before any writable
            # opening has no chain yet: its events are not covered, not
            # foreign, and the verifier says so.
            "chain_started": checkpoint is not None,
            "head": {
                "notification_id": head.notification_id if head else 0,
                "log_hash": head.log_hash if head else LOG_START,
            },
            "events": events,
            "chain": [dataclasses.asdict(link) for link in links],
        }
        json.dump(bundle, out, indent=1, sort_keys=True)
        out.write("\n")
        return len(events)

    def document_of(self, originator_id: str) -> str | None:
        """The document id of a record, from its first event (if readable)."""
        try:
            first = next(iter(self.log.events.get(UUID(originator_id), lte=1)), None)
        except Exception:
            return None
        return getattr(first, "document_id", None)

    def _stored_notifications(self) -> Iterator[Any]:
        """Every stored event in log order, read in batches (memory stays flat).

        From the lowest id the table holds, not from 1: a row put in by hand
        at id 0 or below must be seen (and reported) like any other.
        """
        after: int | None = None
        while True:
            batch = self.log.recorder.select_notifications(
                start=after, limit=5_000, inclusive_of_start=False
            )
            if not batch:
                return
            yield from batch
            after = batch[-1].id

    def _stored_records(self) -> Iterator[StoredRecord]:
        for n in self._stored_notifications():
            yield StoredRecord(
                n.id,
                str(n.originator_id),
                n.originator_version,
                n.topic,
                bytes(n.state),
            )

    def client_view(self, document_id: str) -> ClientView:
        """See :meth:`Approvals.client_view`."""
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
            next_reminder_at=cycle.next_reminder_at,
            reminder_time_zone=schedule_zone(cycle.reminders)
            if cycle.is_pending
            else None,
        )

    # -- time travel -----------------------------------------------------------

    def document_as_of(self, document_id: str, at: datetime) -> DocumentRow | None:
        """See :meth:`Approvals.document_as_of`."""
        doc_id = check_identifier("document_id", document_id)
        when = check_utc("at", at)
        return fold_document(self._events_until(doc_id, when))

    def approvals_tab_as_of(
        self, account_id: str, at: datetime
    ) -> tuple[DocumentRow, ...]:
        """See :meth:`Approvals.approvals_tab_as_of`."""
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
        events: list[Any] = list(self.log.events.get(approval_request_id(document_id)))
        return [e for e in events if e.timestamp <= at]

    def _aggregate(self, document_id: str) -> ApprovalRequest | None:
        try:
            found: object = self.log.repository.get(approval_request_id(document_id))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, ApprovalRequest) else None

    # -- operations --------------------------------------------------------------

    def views_status(self) -> list[ViewPosition]:
        """See :meth:`Approvals.views_status`."""
        self._current_views()
        head = self.log.recorder.max_notification_id() or 0
        return [
            ViewPosition(view, self.log.views.position(view, self.log.name), head)
            for view in VIEW_NAMES
        ]


# A spreadsheet treats a cell starting with one of these as a formula
# (=HYPERLINK(...) from a name, say): such a cell is written with a leading
# apostrophe, which spreadsheets show as text and do not evaluate.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _check_time_zone(time_zone: str | None) -> None:
    """Refuse a time zone that is not an IANA one before anything is written."""
    if time_zone is None:
        return
    try:
        i18n.time_zone(time_zone)
    except ValueError as exc:
        raise InvalidInputError(
            "time_zone", f"got {time_zone!r}", "an IANA time zone such as Europe/Paris"
        ) from exc


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
# The firm-wide log adds where each event stands in it and whose it is.
_LOG_CSV_FIELDS = ("position", "account_id", *_CSV_FIELDS)


def _audit_writer(
    out: IO[str],
    fmt: str,
    fields: Sequence[str],
    *,
    bom: bool,
    delimiter: str,
) -> Any:
    """A function writing one audit record to ``out`` (the CSV header first).

    CSV cells a spreadsheet would evaluate are neutralised; ``bom`` starts
    the file with the byte-order mark Excel needs to read UTF-8 ("é" and
    not "Ã©"), and ``delimiter=";"`` suits spreadsheets set up for a comma
    as decimal mark (French Excel).
    """
    if fmt not in ("jsonl", "csv"):
        raise InvalidInputError("fmt", f"got {fmt!r}", "'jsonl' or 'csv'")
    if not callable(getattr(out, "write", None)):
        raise InvalidInputError(
            "out",
            f"got {type(out).__name__}, which has no write()",
            "a text file or stream open for writing",
        )
    if bom is not False and (bom is not True or fmt != "csv"):
        raise InvalidInputError(
            "bom", f"got {bom!r} with fmt={fmt!r}", "True only with fmt='csv'"
        )
    if delimiter not in (",", ";") or (delimiter != "," and fmt != "csv"):
        raise InvalidInputError(
            "delimiter",
            f"got {delimiter!r} with fmt={fmt!r}",
            "',' or ';', the latter only with fmt='csv'",
        )
    if fmt == "jsonl":

        def write_json(record: dict[str, Any]) -> None:
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")

        return write_json
    if bom:
        out.write("\ufeff")
    writer = csv.DictWriter(
        out, fieldnames=list(fields), lineterminator="\n", delimiter=delimiter
    )
    writer.writeheader()

    def write_csv(record: dict[str, Any]) -> None:
        record["details"] = json.dumps(
            record["details"], ensure_ascii=False, sort_keys=True
        )
        writer.writerow({k: _csv_cell(v) for k, v in record.items()})

    return write_csv
