"""The ``ApprovalRequest`` aggregate: one per document, through many cycles.

A *cycle* runs from a request to its close: approved, rejected or
cancelled; then the firm may request again. Resends and automatic reminders
happen while a cycle is pending. The host's invoice lock and payment are
recorded here too, because they decide the document's *pending payment*
status.

Event bodies only assign: they re-run on every replay, so they read no clock,
make no id and do no I/O. Every time comes in as the event's ``timestamp``,
taken by the application from its Clock port.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import attrs
from eventsourcing.domain import Aggregate

from approvalflow.domain.errors import (
    AlreadyPendingError,
    InvalidStateError,
    NotPendingError,
)
from approvalflow.domain.reminders import is_open, next_reminder_at
from approvalflow.domain.values import (
    ActivityKind,
    Actor,
    ApprovalState,
    CycleOutcome,
    DocumentFacts,
    EntryPoint,
    InvoiceLock,
    NotificationReport,
    Rejection,
    ReminderPolicy,
    as_recorded_before_working_day_counting,
)

__all__ = ["ApprovalRequest", "Cycle", "approval_request_id"]

# Fixed forever: changing it would orphan every stored aggregate.
_NAMESPACE = UUID("5d0c6a8e-4f3b-5c1e-9a57-2f7c1e0b8d42")


# A pure function of the document id, asked several times per command: a
# SHA-1 each time otherwise.
@functools.lru_cache(maxsize=4096)
def approval_request_id(document_id: str) -> UUID:
    """The aggregate id of a document's approval request.

    Derived from the document id, so two first requests for one document made
    at the same instant write the same aggregate and one of them loses.
    """
    return uuid5(_NAMESPACE, f"document:{document_id}")


@attrs.frozen
class Cycle:
    """One request cycle of a document, from request to decision or cancel."""

    number: int
    document: DocumentFacts
    requested_at: datetime
    requested_by: Actor
    message: str | None
    reminders: ReminderPolicy | None
    entry_point: EntryPoint | None
    outcome: CycleOutcome = CycleOutcome.PENDING
    #: The request or the latest resend: the current reminder schedule's start.
    schedule_started_at: datetime | None = None
    #: The latest email to the client (request, resend, reminder): the next
    #: reminder falls due ``days_before_next`` days after it.
    last_contact_at: datetime | None = None
    #: Reminders sent in the current schedule (reset by a resend).
    reminders_in_schedule: int = 0
    #: Reminders sent over the whole cycle.
    reminders_sent: int = 0
    resends: int = 0
    #: The latest message the client was sent (request or resend).
    latest_message: str | None = None
    closed_at: datetime | None = None
    closed_by: Actor | None = None
    comment: str | None = None
    rejection: Rejection | None = None
    cancel_note: str | None = None

    @property
    def is_pending(self) -> bool:
        """Whether the cycle still waits for the client."""
        return self.outcome is CycleOutcome.PENDING

    @property
    def next_reminder_at(self) -> datetime | None:
        """When the next automatic reminder falls due, or ``None`` if none will.

        Counted from the latest contact, so a reminder sent late (after
        downtime) pushes the next one a full interval on: no burst.
        """
        return next_reminder_at(
            pending=self.is_pending,
            policy=self.reminders,
            last_contact_at=self.last_contact_at,
            sent_in_schedule=self.reminders_in_schedule,
        )

    def reminder_due(self, at: datetime) -> bool:
        """Whether an automatic reminder is due at instant ``at``.

        One that fell due while no worker ran waits, if the schedule is
        closed at ``at``, for its next opening: never sent outside it.
        """
        due = self.next_reminder_at
        schedule = self.reminders.schedule if self.reminders else None
        return due is not None and at >= due and is_open(at, schedule)


def _recorded_before_working_day_counting(state: dict[str, Any]) -> None:
    """Give a version 1 event's schedule the rule it was recorded under.

    Its stored schedule lacks ``count_working_days`` and ``weekend``: then
    business days were counted, on a Saturday-Sunday weekend everywhere.
    """
    policy = state.get("reminders")
    if isinstance(policy, ReminderPolicy):
        state["reminders"] = as_recorded_before_working_day_counting(policy)


class ApprovalRequest(Aggregate):
    """The approval history of one document (see the module's docstring)."""

    TOPIC = "approvalflow:ApprovalRequest"

    class Created(Aggregate.Created):
        """The document's approval record was created (with its first event)."""

        TOPIC = "approvalflow:ApprovalRequest.Created"
        document_id: str

    class Requested(Aggregate.Event):
        """A firm member asked the client to approve the document."""

        TOPIC = "approvalflow:ApprovalRequest.Requested"
        #: 2: schedules record ``count_working_days`` and ``weekend``.
        class_version = 2
        cycle: int
        document: DocumentFacts
        by: Actor
        message: str | None
        reminders: ReminderPolicy | None
        entry_point: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """A version 1 event keeps the reminder rule it was recorded under."""
            _recorded_before_working_day_counting(state)

        def apply(self, aggregate: ApprovalRequest) -> None:
            """Evolve the aggregate (re-run on every replay)."""
            entry = EntryPoint(self.entry_point) if self.entry_point else None
            aggregate.cycles = (
                *aggregate.cycles,
                Cycle(
                    number=self.cycle,
                    document=self.document,
                    requested_at=self.timestamp,
                    requested_by=self.by,
                    message=self.message,
                    reminders=self.reminders,
                    entry_point=entry,
                    schedule_started_at=self.timestamp,
                    last_contact_at=self.timestamp,
                    latest_message=self.message,
                ),
            )

    class Resent(Aggregate.Event):
        """A firm member resent the pending request; reminders restart."""

        TOPIC = "approvalflow:ApprovalRequest.Resent"
        #: 2: schedules record ``count_working_days`` and ``weekend``.
        class_version = 2
        cycle: int
        by: Actor
        message: str | None
        #: The reminder policy in force from now on (``None``: reminders off).
        reminders: ReminderPolicy | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """A version 1 event keeps the reminder rule it was recorded under."""
            _recorded_before_working_day_counting(state)

        def apply(self, aggregate: ApprovalRequest) -> None:
            """Evolve the aggregate (re-run on every replay)."""
            current = aggregate.cycles[-1]
            aggregate._replace_last(
                attrs.evolve(
                    current,
                    reminders=self.reminders,
                    schedule_started_at=self.timestamp,
                    last_contact_at=self.timestamp,
                    reminders_in_schedule=0,
                    resends=current.resends + 1,
                    latest_message=self.message or current.latest_message,
                )
            )

    class Reminded(Aggregate.Event):
        """An automatic reminder went out for the pending request."""

        TOPIC = "approvalflow:ApprovalRequest.Reminded"
        cycle: int
        #: Which reminder of the current schedule this is (1-based).
        number: int
        #: When it fell due (``timestamp`` is when it was recorded).
        due_at: datetime

        def apply(self, aggregate: ApprovalRequest) -> None:
            """Evolve the aggregate (re-run on every replay)."""
            current = aggregate.cycles[-1]
            aggregate._replace_last(
                attrs.evolve(
                    current,
                    last_contact_at=self.timestamp,
                    reminders_in_schedule=self.number,
                    reminders_sent=current.reminders_sent + 1,
                )
            )

    class Approved(Aggregate.Event):
        """A linked client user approved the document."""

        TOPIC = "approvalflow:ApprovalRequest.Approved"
        cycle: int
        by: Actor
        comment: str | None

        def apply(self, aggregate: ApprovalRequest) -> None:
            """Evolve the aggregate (re-run on every replay)."""
            aggregate._close(
                CycleOutcome.APPROVED, self.timestamp, self.by, comment=self.comment
            )

    class Rejected(Aggregate.Event):
        """A linked client user rejected the document, saying why."""

        TOPIC = "approvalflow:ApprovalRequest.Rejected"
        cycle: int
        by: Actor
        rejection: Rejection

        def apply(self, aggregate: ApprovalRequest) -> None:
            """Evolve the aggregate (re-run on every replay)."""
            aggregate._close(
                CycleOutcome.REJECTED,
                self.timestamp,
                self.by,
                comment=self.rejection.comment,
                rejection=self.rejection,
            )

    class Cancelled(Aggregate.Event):
        """A firm member cancelled the pending request."""

        TOPIC = "approvalflow:ApprovalRequest.Cancelled"
        cycle: int
        by: Actor
        note: str | None

        def apply(self, aggregate: ApprovalRequest) -> None:
            """Evolve the aggregate (re-run on every replay)."""
            aggregate._close(
                CycleOutcome.CANCELLED, self.timestamp, self.by, cancel_note=self.note
            )

    class LockedToInvoice(Aggregate.Event):
        """The host locked the document to an unpaid invoice."""

        TOPIC = "approvalflow:ApprovalRequest.LockedToInvoice"
        invoice_id: str
        by: Actor
        #: The document as it was when locked (lists show its name and type).
        document: DocumentFacts

        def apply(self, aggregate: ApprovalRequest) -> None:
            """Evolve the aggregate (re-run on every replay)."""
            aggregate.invoice = InvoiceLock(
                invoice_id=self.invoice_id,
                locked_at=self.timestamp,
                account_id=self.document.account_id,
            )

    class InvoicePaid(Aggregate.Event):
        """The host reported the document's invoice paid."""

        TOPIC = "approvalflow:ApprovalRequest.InvoicePaid"
        invoice_id: str
        by: Actor

        def apply(self, aggregate: ApprovalRequest) -> None:
            """Evolve the aggregate (re-run on every replay)."""
            assert aggregate.invoice is not None  # guarded by mark_invoice_paid
            aggregate.invoice = attrs.evolve(aggregate.invoice, paid_at=self.timestamp)

    class ActivityReported(Aggregate.Event):
        """The host reported activity on the document (uploaded, sent, ...)."""

        TOPIC = "approvalflow:ApprovalRequest.ActivityReported"
        kind: str
        by: Actor
        #: The document as it was then (its name may have changed since).
        document: DocumentFacts

        def apply(self, aggregate: ApprovalRequest) -> None:
            """Evolve the aggregate (re-run on every replay)."""
            aggregate.last_reported = self.timestamp

    class Notified(Aggregate.Event):
        """approvalflow told people about an earlier event."""

        TOPIC = "approvalflow:ApprovalRequest.Notified"
        report: NotificationReport

        def apply(self, aggregate: ApprovalRequest) -> None:
            """Evolve the aggregate (re-run on every replay)."""
            aggregate.notified = aggregate.notified | {self.report.about_version}

    def __init__(self, document_id: str) -> None:
        self.document_id = document_id
        self.cycles: tuple[Cycle, ...] = ()
        self.invoice: InvoiceLock | None = None
        #: When the host last reported activity (``None``: never).
        self.last_reported: datetime | None = None
        #: Versions of the events whose notifications were recorded.
        self.notified: frozenset[int] = frozenset()

    @classmethod
    def open(cls, document_id: str, at: datetime) -> ApprovalRequest:
        """Start the approval record of a document (no cycle yet)."""
        return cls._create(
            cls.Created,
            id=approval_request_id(document_id),
            document_id=document_id,
            timestamp=at,
        )

    # -- queries ---------------------------------------------------------

    @property
    def current_cycle(self) -> Cycle | None:
        """The latest cycle, pending or closed; ``None`` if never requested."""
        return self.cycles[-1] if self.cycles else None

    @property
    def pending_cycle(self) -> Cycle | None:
        """The pending cycle, if any (there is never more than one)."""
        current = self.current_cycle
        return current if current is not None and current.is_pending else None

    @property
    def approval_state(self) -> ApprovalState:
        """The document's approval status; cancelled reads as NONE."""
        current = self.current_cycle
        if current is None:
            return ApprovalState.NONE
        return {
            CycleOutcome.PENDING: ApprovalState.PENDING,
            CycleOutcome.APPROVED: ApprovalState.APPROVED,
            CycleOutcome.REJECTED: ApprovalState.REJECTED,
            CycleOutcome.CANCELLED: ApprovalState.NONE,
        }[current.outcome]

    @property
    def pending_payment(self) -> bool:
        """Whether the document is locked to an invoice that is not paid."""
        return self.invoice is not None and not self.invoice.is_paid

    def describe_state(self) -> str:
        """The state in words, for error messages."""
        current = self.current_cycle
        if current is None:
            return "never requested"
        return {
            CycleOutcome.PENDING: "pending approval",
            CycleOutcome.APPROVED: "approved",
            CycleOutcome.REJECTED: "rejected",
            CycleOutcome.CANCELLED: "cancelled",
        }[current.outcome]

    def next_reminder_at(self) -> datetime | None:
        """When the next automatic reminder falls due, if one will."""
        pending = self.pending_cycle
        return pending.next_reminder_at if pending else None

    def reminder_due(self, at: datetime) -> bool:
        """Whether an automatic reminder is due at instant ``at``."""
        pending = self.pending_cycle
        return pending is not None and pending.reminder_due(at)

    # -- commands (validated arguments in, events out) -------------------

    def request(
        self,
        *,
        document: DocumentFacts,
        by: Actor,
        message: str | None,
        reminders: ReminderPolicy | None,
        entry_point: EntryPoint | None,
        at: datetime,
    ) -> None:
        """Open a new cycle; refused while one is pending."""
        if self.pending_cycle is not None:
            raise AlreadyPendingError(self.document_id)
        self.trigger_event(
            self.Requested,
            timestamp=at,
            cycle=len(self.cycles) + 1,
            document=document,
            by=by,
            message=message,
            reminders=reminders,
            entry_point=entry_point.value if entry_point else None,
        )

    def resend(
        self,
        *,
        by: Actor,
        message: str | None,
        reminders: ReminderPolicy | None,
        at: datetime,
    ) -> None:
        """Resend the pending request with the given effective policy."""
        pending = self._require_pending("resend")
        self.trigger_event(
            self.Resent,
            timestamp=at,
            cycle=pending.number,
            by=by,
            message=message,
            reminders=reminders,
        )

    def remind(self, *, at: datetime) -> None:
        """Record the automatic reminder due at ``at``."""
        pending = self._require_pending("remind")
        due = pending.next_reminder_at
        if due is None or at < due:
            raise InvalidStateError(
                self.document_id,
                "remind",
                "not due for a reminder",
                f"the next reminder is due at {due.isoformat()}"
                if due
                else "no more reminders are scheduled for this request",
            )
        self.trigger_event(
            self.Reminded,
            timestamp=at,
            cycle=pending.number,
            number=pending.reminders_in_schedule + 1,
            due_at=due,
        )

    def approve(self, *, by: Actor, comment: str | None, at: datetime) -> None:
        """Close the pending cycle as approved."""
        pending = self._require_pending("approve")
        self.trigger_event(
            self.Approved, timestamp=at, cycle=pending.number, by=by, comment=comment
        )

    def reject(self, *, by: Actor, rejection: Rejection, at: datetime) -> None:
        """Close the pending cycle as rejected, with reasons."""
        pending = self._require_pending("reject")
        self.trigger_event(
            self.Rejected,
            timestamp=at,
            cycle=pending.number,
            by=by,
            rejection=rejection,
        )

    def cancel(self, *, by: Actor, note: str | None, at: datetime) -> None:
        """Close the pending cycle as cancelled."""
        pending = self._require_pending("cancel")
        self.trigger_event(
            self.Cancelled, timestamp=at, cycle=pending.number, by=by, note=note
        )

    def lock_to_invoice(
        self, *, invoice_id: str, by: Actor, document: DocumentFacts, at: datetime
    ) -> None:
        """Record that the document is locked to an unpaid invoice."""
        if self.pending_payment:
            assert self.invoice is not None
            raise InvalidStateError(
                self.document_id,
                "lock to an invoice",
                f"already locked to unpaid invoice {self.invoice.invoice_id!r}",
                "a document waits for one invoice at a time; report it paid first",
            )
        self.trigger_event(
            self.LockedToInvoice,
            timestamp=at,
            invoice_id=invoice_id,
            by=by,
            document=document,
        )

    def mark_invoice_paid(self, *, invoice_id: str, by: Actor, at: datetime) -> None:
        """Record that the invoice the document is locked to was paid."""
        if not self.pending_payment or self.invoice is None:
            raise InvalidStateError(
                self.document_id,
                "mark the invoice paid for",
                "not locked to an unpaid invoice",
                "only a document locked to an unpaid invoice can be marked paid",
            )
        if self.invoice.invoice_id != invoice_id:
            raise InvalidStateError(
                self.document_id,
                f"mark invoice {invoice_id!r} paid for",
                f"locked to invoice {self.invoice.invoice_id!r}",
                "name the invoice the document is locked to",
            )
        self.trigger_event(self.InvoicePaid, timestamp=at, invoice_id=invoice_id, by=by)

    def report_activity(
        self, *, kind: ActivityKind, by: Actor, document: DocumentFacts, at: datetime
    ) -> None:
        """Record activity the host reports on the document."""
        self.trigger_event(
            self.ActivityReported,
            timestamp=at,
            kind=kind.value,
            by=by,
            document=document,
        )

    def record_notified(self, *, report: NotificationReport, at: datetime) -> None:
        """Record who was told about the event at ``report.about_version``."""
        if report.about_version in self.notified:
            raise InvalidStateError(
                self.document_id,
                "record the notifications of",
                f"already notified about version {report.about_version}",
                "each event's notifications are recorded once",
            )
        self.trigger_event(self.Notified, timestamp=at, report=report)

    # -- helpers for event bodies ----------------------------------------

    def _require_pending(self, action: str) -> Cycle:
        pending = self.pending_cycle
        if pending is None:
            raise NotPendingError(self.document_id, action, self.describe_state())
        return pending

    def _replace_last(self, cycle: Cycle) -> None:
        self.cycles = (*self.cycles[:-1], cycle)

    def _close(
        self, outcome: CycleOutcome, at: datetime, by: Actor, **details: Any
    ) -> None:
        self._replace_last(
            attrs.evolve(
                self.cycles[-1], outcome=outcome, closed_at=at, closed_by=by, **details
            )
        )
