"""The ApprovalRequest aggregate on its own: cycles, reminders, invoices."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from approvalflow import (
    Actor,
    ActorRole,
    AlreadyPendingError,
    ApprovalRequest,
    ApprovalState,
    DocumentFacts,
    InvalidStateError,
    NotPendingError,
    Rejection,
    ReminderPolicy,
    approval_request_id,
)
from approvalflow.domain.values import NotificationReport
from tests.helpers import START

FIRM = Actor("f1", "Anna Martin", ActorRole.FIRM_MEMBER)
CLIENT = Actor("c1", "Claire Dupont", ActorRole.CLIENT_USER)
FACTS = DocumentFacts("d1", "acme", "Document 1", "pdf", "Anna Martin")
DAY = timedelta(days=1)


def requested(
    policy: ReminderPolicy | None = None, at: datetime = START
) -> ApprovalRequest:
    aggregate = ApprovalRequest.open("d1", at)
    aggregate.request(
        document=FACTS,
        by=FIRM,
        message="Please approve",
        reminders=policy,
        entry_point=None,
        at=at,
    )
    return aggregate


def replayed(aggregate: ApprovalRequest) -> ApprovalRequest:
    """The aggregate rebuilt from its own events, as a store would."""
    events = aggregate.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert isinstance(rebuilt, ApprovalRequest)
    return rebuilt


def state_of(aggregate: ApprovalRequest) -> ApprovalState:
    return aggregate.approval_state


def test_id_is_derived_from_the_document_id() -> None:
    assert approval_request_id("d1") == approval_request_id("d1")
    assert approval_request_id("d1") != approval_request_id("d2")
    assert requested().id == approval_request_id("d1")


def test_a_request_opens_a_pending_cycle() -> None:
    aggregate = requested()
    assert aggregate.approval_state is ApprovalState.PENDING
    assert aggregate.pending_cycle is not None
    assert aggregate.pending_cycle.message == "Please approve"


def test_a_second_request_while_pending_is_refused() -> None:
    aggregate = requested()
    with pytest.raises(AlreadyPendingError):
        aggregate.request(
            document=FACTS,
            by=FIRM,
            message=None,
            reminders=None,
            entry_point=None,
            at=START,
        )


def test_reminder_falls_due_after_the_quiet_days() -> None:
    aggregate = requested(ReminderPolicy(days_before_next=3, count=2))
    assert aggregate.next_reminder_at() == START + 3 * DAY
    assert not aggregate.reminder_due(START + 3 * DAY - timedelta(seconds=1))
    assert aggregate.reminder_due(START + 3 * DAY)


def test_no_reminders_without_a_policy() -> None:
    aggregate = requested(None)
    assert aggregate.next_reminder_at() is None
    assert not aggregate.reminder_due(START + 400 * DAY)


def test_reminders_stop_at_the_count() -> None:
    aggregate = requested(ReminderPolicy(days_before_next=2, count=2))
    aggregate.remind(at=START + 2 * DAY)
    aggregate.remind(at=START + 4 * DAY)
    assert aggregate.next_reminder_at() is None
    with pytest.raises(InvalidStateError, match="no more reminders"):
        aggregate.remind(at=START + 60 * DAY)


def test_after_downtime_one_overdue_reminder_then_a_full_interval() -> None:
    aggregate = requested(ReminderPolicy(days_before_next=3, count=5))
    late = START + 20 * DAY  # four slots were missed while the process was down
    aggregate.remind(at=late)
    assert not aggregate.reminder_due(late)
    assert aggregate.next_reminder_at() == late + 3 * DAY


def test_a_reminder_before_it_is_due_is_refused() -> None:
    aggregate = requested(ReminderPolicy(days_before_next=3, count=1))
    with pytest.raises(InvalidStateError, match="not due"):
        aggregate.remind(at=START + DAY)


def test_resend_restarts_the_schedule_and_can_change_it() -> None:
    aggregate = requested(ReminderPolicy(days_before_next=3, count=1))
    aggregate.remind(at=START + 3 * DAY)
    assert aggregate.next_reminder_at() is None
    resent_at = START + 5 * DAY
    aggregate.resend(
        by=FIRM,
        message=None,
        reminders=ReminderPolicy(days_before_next=7),
        at=resent_at,
    )
    assert aggregate.next_reminder_at() == resent_at + 7 * DAY
    cycle = aggregate.pending_cycle
    assert cycle is not None
    assert (cycle.resends, cycle.reminders_sent, cycle.reminders_in_schedule) == (
        1,
        1,
        0,
    )
    assert cycle.latest_message == "Please approve"


@pytest.mark.parametrize("decision", ["approve", "reject", "cancel"])
def test_a_decision_stops_reminders(decision: str) -> None:
    aggregate = requested(ReminderPolicy(days_before_next=1, count=30))
    at = START + DAY
    if decision == "approve":
        aggregate.approve(by=CLIENT, comment=None, at=at)
    elif decision == "reject":
        aggregate.reject(by=CLIENT, rejection=Rejection(("Wrong",)), at=at)
    else:
        aggregate.cancel(by=FIRM, note=None, at=at)
    assert aggregate.next_reminder_at() is None
    assert not aggregate.reminder_due(at + 10 * DAY)
    with pytest.raises(NotPendingError):
        aggregate.remind(at=at + 10 * DAY)


def test_exactly_one_decision_closes_a_cycle() -> None:
    aggregate = requested()
    aggregate.approve(by=CLIENT, comment="fine", at=START + DAY)
    attempts: list[Callable[[], None]] = [
        lambda: aggregate.reject(by=CLIENT, rejection=Rejection(("x",)), at=START),
        lambda: aggregate.cancel(by=FIRM, note=None, at=START),
        lambda: aggregate.approve(by=CLIENT, comment=None, at=START),
        lambda: aggregate.resend(by=FIRM, message=None, reminders=None, at=START),
    ]
    for attempt in attempts:
        with pytest.raises(NotPendingError, match="it is approved"):
            attempt()


def test_status_reads_none_after_a_cancel_and_history_stays() -> None:
    aggregate = requested()
    aggregate.reject(by=CLIENT, rejection=Rejection(("Wrong year",)), at=START + DAY)
    assert state_of(aggregate) is ApprovalState.REJECTED
    aggregate.request(
        document=FACTS,
        by=FIRM,
        message=None,
        reminders=None,
        entry_point=None,
        at=START,
    )
    aggregate.cancel(by=FIRM, note="sent by mistake", at=START + 2 * DAY)
    assert state_of(aggregate) is ApprovalState.NONE
    assert [c.outcome.value for c in aggregate.cycles] == ["rejected", "cancelled"]
    assert aggregate.cycles[0].rejection == Rejection(("Wrong year",))


def test_invoice_lock_means_pending_payment_until_paid() -> None:
    aggregate = ApprovalRequest.open("d1", START)
    aggregate.lock_to_invoice(invoice_id="INV-1", by=FIRM, document=FACTS, at=START)
    assert aggregate.pending_payment
    with pytest.raises(InvalidStateError, match="already locked"):
        aggregate.lock_to_invoice(invoice_id="INV-2", by=FIRM, document=FACTS, at=START)
    with pytest.raises(InvalidStateError, match="locked to invoice 'INV-1'"):
        aggregate.mark_invoice_paid(invoice_id="INV-2", by=FIRM, at=START)
    aggregate.mark_invoice_paid(invoice_id="INV-1", by=CLIENT, at=START + DAY)
    assert not aggregate.pending_payment
    with pytest.raises(InvalidStateError, match="not locked"):
        aggregate.mark_invoice_paid(invoice_id="INV-1", by=CLIENT, at=START + DAY)


def test_replaying_the_events_rebuilds_the_same_aggregate() -> None:
    aggregate = requested(ReminderPolicy(days_before_next=2, count=3))
    aggregate.remind(at=START + 2 * DAY)
    aggregate.resend(by=FIRM, message="again", reminders=None, at=START + 3 * DAY)
    aggregate.reject(
        by=CLIENT, rejection=Rejection(("a", "b"), "comment"), at=START + 4 * DAY
    )
    aggregate.lock_to_invoice(
        invoice_id="INV-9", by=FIRM, document=FACTS, at=START + 5 * DAY
    )
    live = aggregate.__dict__.copy()
    live.pop("_pending_events")
    rebuilt = replayed(aggregate).__dict__.copy()
    rebuilt.pop("_pending_events")
    assert rebuilt == live


def test_every_event_has_an_explicit_stable_topic() -> None:
    names = [
        "Created", "Requested", "Resent", "Reminded", "Approved", "Rejected",
        "Cancelled", "LockedToInvoice", "InvoicePaid",
    ]  # fmt: skip
    for name in names:
        event_class = getattr(ApprovalRequest, name)
        assert f"approvalflow:ApprovalRequest.{name}" == event_class.TOPIC


def test_stored_topics_and_record_ids_never_change() -> None:
    # Both are in every stored event: changing one makes stored histories
    # unreadable (topics) or unfindable (record ids). Written out in full.
    from uuid import UUID  # noqa: PLC0415

    e = ApprovalRequest
    topics = {
        cls.__name__: cls.TOPIC
        for cls in (
            e.Created, e.Requested, e.Resent, e.Reminded, e.Approved, e.Rejected,
            e.Cancelled, e.LockedToInvoice, e.InvoicePaid, e.ActivityReported,
            e.Notified,
        )
    }  # fmt: skip
    assert topics == {name: f"approvalflow:ApprovalRequest.{name}" for name in topics}
    assert e.TOPIC == "approvalflow:ApprovalRequest"
    assert approval_request_id("d1") == UUID("e8b4a0d9-20a6-5fbd-8f41-50ffa173b1e0")


def test_a_paid_invoice_keeps_its_id_and_records_when(clock_start: datetime) -> None:
    staff = Actor("f1", "Anna", ActorRole.FIRM_MEMBER)
    aggregate = ApprovalRequest.open("d1", clock_start)
    facts = DocumentFacts("d1", "acme", "Doc", "pdf", "Anna")
    aggregate.lock_to_invoice(
        invoice_id="I-1", by=staff, document=facts, at=clock_start
    )
    paid_at = clock_start + timedelta(days=2)
    aggregate.mark_invoice_paid(invoice_id="I-1", by=staff, at=paid_at)
    assert aggregate.invoice is not None
    assert (aggregate.invoice.invoice_id, aggregate.invoice.paid_at) == ("I-1", paid_at)
    assert aggregate.pending_payment is False


@pytest.fixture
def clock_start() -> datetime:
    return START


def test_who_was_told_is_recorded_once_per_event_version() -> None:

    aggregate = ApprovalRequest.open("d1", START)
    first = NotificationReport(about_version=2, about_event="Requested", deliveries=())
    second = NotificationReport(about_version=3, about_event="Resent", deliveries=())
    aggregate.record_notified(report=first, at=START)
    aggregate.record_notified(report=second, at=START)
    assert aggregate.notified == {2, 3}
    with pytest.raises(InvalidStateError, match="already notified about version 2"):
        aggregate.record_notified(report=first, at=START)


def test_a_cycle_stored_before_later_fields_existed_reads_with_their_defaults() -> None:
    # Nothing recorded may become unreadable: a stored cycle lacking fields
    # added since takes their defaults.
    from approvalflow.domain.aggregate import Cycle  # noqa: PLC0415
    from approvalflow.domain.values import CycleOutcome  # noqa: PLC0415
    from approvalflow.persistence import converter  # noqa: PLC0415

    stored = {
        "number": 1,
        "document": {
            "document_id": "d1",
            "account_id": "acme",
            "name": "Doc",
            "file_type": "pdf",
            "uploaded_by": "Anna",
        },
        "requested_at": START.isoformat(),
        "requested_by": {"user_id": "f1", "name": "Anna", "role": "firm_member"},
        "message": None,
        "reminders": None,
        "entry_point": None,
    }
    cycle = converter.structure(stored, Cycle)
    assert cycle.outcome is CycleOutcome.PENDING
    assert (
        cycle.schedule_started_at,
        cycle.last_contact_at,
        cycle.latest_message,
        cycle.closed_at,
        cycle.closed_by,
        cycle.comment,
        cycle.rejection,
        cycle.cancel_note,
    ) == (None, None, None, None, None, None, None, None)
    assert (cycle.reminders_in_schedule, cycle.reminders_sent, cycle.resends) == (
        0,
        0,
        0,
    )


def _approve(aggregate: ApprovalRequest) -> None:
    aggregate.approve(by=CLIENT, comment=None, at=START)


def _reject(aggregate: ApprovalRequest) -> None:
    aggregate.reject(by=CLIENT, rejection=Rejection(("No",)), at=START)


def _cancel(aggregate: ApprovalRequest) -> None:
    aggregate.cancel(by=FIRM, note=None, at=START)


def _remind_late(aggregate: ApprovalRequest) -> None:
    aggregate.remind(at=START + 30 * DAY)


_ACTIONS: dict[str, Callable[[ApprovalRequest], None]] = {
    "approve": _approve,
    "reject": _reject,
    "cancel": _cancel,
    "remind": _remind_late,
}


def _refusal(action: Callable[[], object]) -> str:
    with pytest.raises(InvalidStateError) as caught:
        action()
    return str(caught.value)


def test_every_refusal_of_the_aggregate_says_what_and_what_is_allowed() -> None:
    only_pending = (
        "only a pending request can be resent, approved, rejected, cancelled or "
        "reminded"
    )
    fresh = ApprovalRequest.open("d1", START)
    assert _refusal(lambda: fresh.resend(by=FIRM, message=None, reminders=None,
                                         at=START)) == (
        f"cannot resend document 'd1': it is never requested; {only_pending}"
    )  # fmt: skip
    pending = requested(ReminderPolicy(2, 1))
    assert _refusal(lambda: pending.remind(at=START + DAY)) == (
        "cannot remind document 'd1': it is not due for a reminder; the next "
        f"reminder is due at {(START + 2 * DAY).isoformat()}"
    )
    pending.remind(at=START + 2 * DAY)
    assert _refusal(lambda: pending.remind(at=START + 9 * DAY)) == (
        "cannot remind document 'd1': it is not due for a reminder; no more "
        "reminders are scheduled for this request"
    )
    for closing, state in (
        ("approve", "approved"),
        ("reject", "rejected"),
        ("cancel", "cancelled"),
    ):
        closed = requested()
        _ACTIONS[closing](closed)
        for verb, act in _ACTIONS.items():
            assert _refusal(functools.partial(act, closed)) == (
                f"cannot {verb} document 'd1': it is {state}; {only_pending}"
            )
    locked = requested()
    locked.lock_to_invoice(invoice_id="INV-1", by=FIRM, document=FACTS, at=START)
    assert _refusal(lambda: locked.lock_to_invoice(
        invoice_id="INV-2", by=FIRM, document=FACTS, at=START)) == (
        "cannot lock to an invoice document 'd1': it is already locked to unpaid "
        "invoice 'INV-1'; a document waits for one invoice at a time; report it "
        "paid first"
    )  # fmt: skip
    assert _refusal(lambda: locked.mark_invoice_paid(
        invoice_id="INV-2", by=FIRM, at=START)) == (
        "cannot mark invoice 'INV-2' paid for document 'd1': it is locked to "
        "invoice 'INV-1'; name the invoice the document is locked to"
    )  # fmt: skip
    assert _refusal(lambda: requested().mark_invoice_paid(
        invoice_id="INV-1", by=FIRM, at=START)) == (
        "cannot mark the invoice paid for document 'd1': it is not locked to an "
        "unpaid invoice; only a document locked to an unpaid invoice can be "
        "marked paid"
    )  # fmt: skip
    told = requested()
    report = NotificationReport(about_version=2, about_event="Requested",
                                deliveries=())  # fmt: skip
    told.record_notified(report=report, at=START)
    assert _refusal(lambda: told.record_notified(report=report, at=START)) == (
        "cannot record the notifications of document 'd1': it is already "
        "notified about version 2; each event's notifications are recorded once"
    )


def test_a_pending_documents_state_reads_pending_approval() -> None:
    pending = requested()
    assert pending.describe_state() == "pending approval"
    with pytest.raises(AlreadyPendingError, match="already pending approval"):
        pending.request(document=FACTS, by=FIRM, message=None, reminders=None,
                        entry_point=None, at=START)  # fmt: skip
