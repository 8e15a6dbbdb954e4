"""What the read models hold, and the pure functions that fold events into it.

The functions here know nothing of storage: each store (in-memory, SQLite)
keeps the rows they return. The same fold also answers "as of" questions
(time travel) straight from the events.
"""

from __future__ import annotations

import base64
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from approvalflow.domain.errors import InvalidInputError
from approvalflow.domain.values import ApprovalState, DocumentFacts, ReminderPolicy
from approvalflow.history import history_entry

__all__ = [
    "RECENT_WINDOW",
    "AuditRow",
    "DocumentRow",
    "Page",
    "RejectionRow",
    "StatusFilter",
    "audit_row",
    "evolve_document",
    "fold_document",
    "record_key",
    "rejection_row",
]

#: How far back the recent list looks (F14).
RECENT_WINDOW = timedelta(days=30)


class StatusFilter(enum.StrEnum):
    """The recent list's and the Approvals tab's filters (F15)."""

    ALL = "all"
    PENDING_PAYMENT = "pending_payment"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


@attrs.frozen
class DocumentRow:
    """One document as the lists show it (F13-F17)."""

    document_id: str
    account_id: str
    name: str
    file_type: str
    uploaded_by: str
    description: str | None
    state: ApprovalState
    pending_payment: bool
    invoice_id: str | None
    #: The latest cycle's number (``None``: never requested).
    cycle: int | None
    #: When approval was last requested.
    requested_at: datetime | None
    #: When the latest cycle was rejected (``None`` unless it was).
    rejected_at: datetime | None
    #: The latest activity that puts the document in the recent list.
    last_activity_at: datetime
    #: What that activity was: ``requested``, ``approved``, ``uploaded``, ...
    last_activity: str
    #: The pending request's reminder settings (``None``: reminders off).
    reminders: ReminderPolicy | None = None
    #: When the next automatic reminder falls due (the due-reminders index).
    next_reminder_at: datetime | None = None

    @property
    def awaits_or_has_decision(self) -> bool:
        """Whether it belongs on the client's Approvals tab (F16)."""
        return self.state is not ApprovalState.NONE

    def matches(self, filters: frozenset[StatusFilter]) -> bool:
        """Whether the row passes any of the filters (none or ALL: all pass)."""
        if not filters or StatusFilter.ALL in filters:
            return True
        return (StatusFilter.PENDING_PAYMENT in filters and self.pending_payment) or (
            StatusFilter(self.state.value) in filters
            if self.state is not ApprovalState.NONE
            else False
        )


@attrs.frozen
class RejectionRow:
    """One rejection of a document, with its reasons and comment (F9)."""

    document_id: str
    cycle: int
    rejected_at: datetime
    by_user_id: str
    by_name: str
    reasons: tuple[str, ...]
    comment: str | None


@attrs.frozen
class AuditRow:
    """One line of a document's audit trail (F18)."""

    document_id: str
    version: int
    at: datetime
    event: str
    actor_id: str | None
    actor_name: str | None
    actor_role: str | None
    #: The event's facts (message, reminder settings, reasons, ...), JSON-ready.
    details: Mapping[str, Any]
    #: The same, in words.
    summary: str

    def as_record(self) -> dict[str, Any]:
        """A flat, JSON-ready record (for JSON Lines and CSV exports)."""
        return {
            "document_id": self.document_id,
            "version": self.version,
            "at": self.at.isoformat(),
            "event": self.event,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "actor_role": self.actor_role,
            "summary": self.summary,
            "details": dict(self.details),
        }


@attrs.frozen
class Page:
    """One page of a list, and the cursor to pass for the next one."""

    rows: tuple[DocumentRow, ...]
    #: Pass as ``after=`` to get the next page; ``None`` on the last page.
    next_cursor: str | None


# -- the fold ------------------------------------------------------------------

# Events that count as activity on the document (F14). Reminders are sent by
# approvalflow itself and do not make a document "actively used".
_ACTIVITY = {
    "Requested": "requested",
    "Resent": "resent",
    "Approved": "approved",
    "Rejected": "rejected",
    "Cancelled": "cancelled",
    "LockedToInvoice": "locked_to_invoice",
    "InvoicePaid": "invoice_paid",
}


def evolve_document(row: DocumentRow | None, event: Any) -> DocumentRow | None:
    """The document's row after ``event`` (``None`` until facts are known)."""
    name = type(event).__name__
    facts: DocumentFacts | None = getattr(event, "document", None)
    if row is None:
        if facts is None:
            return None  # Created, or an event without facts: nothing to show yet
        row = DocumentRow(
            document_id=facts.document_id,
            account_id=facts.account_id,
            name=facts.name,
            file_type=facts.file_type,
            uploaded_by=facts.uploaded_by,
            description=facts.description,
            state=ApprovalState.NONE,
            pending_payment=False,
            invoice_id=None,
            cycle=None,
            requested_at=None,
            rejected_at=None,
            last_activity_at=event.timestamp,
            last_activity="",
        )
    changes: dict[str, Any] = {}
    if facts is not None:
        changes.update(
            account_id=facts.account_id,
            name=facts.name,
            file_type=facts.file_type,
            uploaded_by=facts.uploaded_by,
            description=facts.description,
        )
    if name == "Requested":
        changes.update(
            state=ApprovalState.PENDING,
            cycle=event.cycle,
            requested_at=event.timestamp,
            rejected_at=None,
            reminders=event.reminders,
            next_reminder_at=_first_reminder(event.reminders, event.timestamp),
        )
    elif name == "Resent":
        # A resend starts a new schedule under the policy it carries.
        changes.update(
            reminders=event.reminders,
            next_reminder_at=_first_reminder(event.reminders, event.timestamp),
        )
    elif name == "Reminded":
        policy = row.reminders
        more = policy is not None and event.number < policy.count
        changes.update(
            next_reminder_at=event.timestamp + policy.interval
            if more and policy
            else None
        )
    elif name == "Approved":
        changes.update(state=ApprovalState.APPROVED, next_reminder_at=None)
    elif name == "Rejected":
        changes.update(
            state=ApprovalState.REJECTED,
            rejected_at=event.timestamp,
            next_reminder_at=None,
        )
    elif name == "Cancelled":
        changes.update(state=ApprovalState.NONE, next_reminder_at=None)
    elif name == "LockedToInvoice":
        changes.update(pending_payment=True, invoice_id=event.invoice_id)
    elif name == "InvoicePaid":
        changes.update(pending_payment=False)
    activity = _ACTIVITY.get(name) or (
        event.kind if name == "ActivityReported" else None
    )
    if activity is not None:
        changes.update(last_activity_at=event.timestamp, last_activity=activity)
    return attrs.evolve(row, **changes)


def _first_reminder(policy: ReminderPolicy | None, at: datetime) -> datetime | None:
    return None if policy is None else at + policy.interval


def fold_document(events: Iterable[Any]) -> DocumentRow | None:
    """The row a sequence of one document's events leads to."""
    row: DocumentRow | None = None
    for event in events:
        row = evolve_document(row, event)
    return row


def rejection_row(document_id: str, event: Any) -> RejectionRow | None:
    """The rejection an event records, if it is a ``Rejected`` event."""
    if type(event).__name__ != "Rejected":
        return None
    return RejectionRow(
        document_id=document_id,
        cycle=event.cycle,
        rejected_at=event.timestamp,
        by_user_id=event.by.user_id,
        by_name=event.by.name,
        reasons=tuple(event.rejection.reasons),
        comment=event.rejection.comment,
    )


def record_key(event: Any) -> str:
    """The key a store files an event's rows under: its record's id, as hex.

    Most events do not carry the document id; the record id is derived from
    it (:func:`~approvalflow.approval_request_id`), so queries by document id
    find the rows.
    """
    return str(event.originator_id.hex)


def audit_row(document_id: str, event: Any) -> AuditRow:
    """The audit trail line of one event."""
    entry = history_entry(event)
    return AuditRow(
        document_id=document_id,
        version=entry.version,
        at=entry.at,
        event=entry.event,
        actor_id=entry.actor.user_id if entry.actor else None,
        actor_name=entry.actor.name if entry.actor else None,
        actor_role=entry.actor.role.value if entry.actor else None,
        details=entry.details,
        summary=entry.summary(),
    )


# -- keyset pagination ---------------------------------------------------------


def encode_cursor(at: datetime, document_id: str) -> str:
    """An opaque cursor after the row (``at``, ``document_id``)."""
    raw = json.dumps([at.isoformat(), document_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: object) -> tuple[datetime, str] | None:
    """The position a cursor points after; ``None`` for the first page."""
    if cursor is None:
        return None
    allowed = "None for the first page, or a next_cursor from the previous page"
    if not isinstance(cursor, str):
        raise InvalidInputError("after", f"got {type(cursor).__name__}", allowed)
    try:
        at_text, document_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        at = datetime.fromisoformat(at_text).astimezone(UTC)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError("after", "is not a cursor", allowed) from exc
    if not isinstance(document_id, str):
        raise InvalidInputError("after", "is not a cursor", allowed)
    return at, document_id


def check_filters(filters: object) -> frozenset[StatusFilter]:
    """Filters as a set; accepts StatusFilter values or their strings."""
    allowed = "a list of " + ", ".join(repr(f.value) for f in StatusFilter)
    if filters is None:
        return frozenset()
    if isinstance(filters, str) or not isinstance(filters, Sequence | frozenset | set):
        raise InvalidInputError("filters", f"got {type(filters).__name__}", allowed)
    result = set()
    for item in filters:
        if not isinstance(item, str) or item not in StatusFilter.__members__.values():
            raise InvalidInputError("filters", f"got {item!r}", allowed)
        result.add(StatusFilter(item))
    return frozenset(result)
