"""Commands: load, decide, save, with the lost-race re-check.

Every command names its acting user, validates its arguments, asks
:class:`~approvalflow._authorization.Authorization` who may act, reads the
time from the Clock port, and records its events in one transaction through
:meth:`ApprovalLog.write`, or raises an :class:`ApprovalFlowError` and records
nothing. Two writers racing on one document cannot both win: the loser's
transaction conflicts on the aggregate's version, and the command is
re-checked against the winner's state, which usually turns it into a clear
error (``AlreadyPendingError``, ``NotPendingError``).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID

import attrs

from approvalflow._authorization import Authorization
from approvalflow._log import ApprovalLog
from approvalflow._observe import observed_command, reminder_recorded
from approvalflow.domain.aggregate import ApprovalRequest, Cycle
from approvalflow.domain.errors import InvalidInputError, NotPendingError
from approvalflow.domain.reminders import is_open
from approvalflow.domain.validation import (
    MAX_COMMENT,
    MAX_MESSAGE,
    check_identifier,
    check_int,
    check_optional_text,
)
from approvalflow.domain.values import (
    ELAPSED,
    ActivityKind,
    Actor,
    DocumentFacts,
    EntryPoint,
    NotificationReport,
    Rejection,
    ReminderPolicy,
    ReminderSchedule,
    reminder_policy_from,
)

__all__ = ["KEEP", "MAX_BATCH", "BatchRequest", "Commands", "Keep"]

#: The most documents one batch request may name.
MAX_BATCH = 1_000


class Keep(enum.Enum):
    """Marker type of :data:`KEEP`."""

    KEEP = "keep"


#: Pass as ``reminders=`` to :meth:`Approvals.resend` to keep the current policy.
KEEP = Keep.KEEP


@attrs.frozen
class BatchRequest:
    """One document of :meth:`Approvals.request_approvals`."""

    document_id: str
    message: str | None = None
    reminders: ReminderPolicy | None = None
    entry_point: EntryPoint | None = EntryPoint.UPLOAD


class Commands:
    """Every command of ``Approvals``, on the log and the authorization."""

    def __init__(
        self,
        log: ApprovalLog,
        auth: Authorization,
        schedule: ReminderSchedule | None = None,
    ) -> None:
        self.log = log
        self.auth = auth
        #: The firm's reminder schedule, for policies that name none
        #: (``None``: the plain rule, x days after the last contact).
        self.schedule = schedule

    def _scheduled(
        self, policy: ReminderPolicy | None, account_id: str
    ) -> ReminderPolicy | None:
        """``policy`` with the schedule to record: its own, or the firm's.

        The firm's is moved to the recipients' time zone when those of the
        account's notified users who state one agree on it.
        """
        if policy is None or policy.schedule is not None or self.schedule is None:
            return policy
        schedule = self.schedule
        if schedule != ELAPSED:
            directory = self.auth.directory
            zones = set()
            for link in directory.account_links(account_id):
                user = directory.client_user(link.user_id) if link.notify else None
                zone = getattr(user, "time_zone", None)
                if zone:
                    zones.add(zone)
            if len(zones) == 1:
                # A zone the directory got wrong: the firm's applies.
                with contextlib.suppress(InvalidInputError):
                    schedule = attrs.evolve(schedule, time_zone=zones.pop())
        return attrs.evolve(policy, schedule=schedule)

    # -- commands: firm side -----------------------------------------------

    @observed_command("request_approval")
    def request_approval(
        self,
        document_id: str,
        *,
        by: str,
        account_id: str | None = None,
        message: str | None = None,
        reminders: ReminderPolicy | dict[str, int] | None = None,
        entry_point: EntryPoint | str | None = None,
    ) -> Cycle:
        """See :meth:`Approvals.request_approval`."""
        doc_id = check_identifier("document_id", document_id)
        item = BatchRequest(
            doc_id,
            check_optional_text("message", message, max_length=MAX_MESSAGE),
            reminder_policy_from(reminders),
            _entry_point(entry_point),
        )
        expected = (
            None if account_id is None else check_identifier("account_id", account_id)
        )
        actor = self.auth.firm_member(by, "request approval")
        facts = self.auth.requestable(doc_id, expected)
        saved = self.log.write(
            [doc_id], lambda now: [self._plan_request(item, facts, actor, now)]
        )
        cycle = saved[0].current_cycle
        assert cycle is not None
        return cycle

    @observed_command("request_approvals")
    def request_approvals(
        self, requests: Sequence[BatchRequest | str], *, by: str
    ) -> list[Cycle]:
        """See :meth:`Approvals.request_approvals`."""
        if isinstance(requests, str) or not isinstance(requests, Sequence):
            raise InvalidInputError(
                "requests",
                f"got {type(requests).__name__}",
                "a list of document ids or BatchRequest items",
            )
        if not 1 <= len(requests) <= MAX_BATCH:
            raise InvalidInputError(
                "requests", f"has {len(requests)} items", f"1 to {MAX_BATCH} documents"
            )
        items = [_batch_item(i, raw) for i, raw in enumerate(requests)]
        ids = [item.document_id for item in items]
        if len(set(ids)) != len(ids):
            raise InvalidInputError(
                "requests", "names a document twice", "each document once per batch"
            )
        actor = self.auth.firm_member(by, "request approval")
        facts = {
            item.document_id: self.auth.requestable(item.document_id, None)
            for item in items
        }

        # Documents never recorded need no load; the read models say which,
        # in a query or two. A hint only: if one was recorded after all (its
        # read model behind), saving it conflicts and the retry loads them all.
        fresh = self._never_recorded(ids)

        def plan(now: datetime) -> list[ApprovalRequest]:
            planned = [
                self._plan_request(
                    item, facts[item.document_id], actor, now, item.document_id in fresh
                )
                for item in items
            ]
            fresh.clear()
            return planned

        cycles = []
        for aggregate in self.log.write(ids, plan):
            cycle = aggregate.current_cycle
            assert cycle is not None
            cycles.append(cycle)
        return cycles

    def _never_recorded(self, document_ids: Sequence[str]) -> set[str]:
        return set(document_ids) - self.log.views.recorded(document_ids)

    def _plan_request(
        self,
        item: BatchRequest,
        facts: DocumentFacts,
        actor: Actor,
        now: datetime,
        fresh: bool = False,
    ) -> ApprovalRequest:
        loaded = None if fresh else self.log.load(item.document_id)
        aggregate = loaded or ApprovalRequest.open(item.document_id, now)
        aggregate.request(
            document=facts,
            by=actor,
            message=item.message,
            reminders=self._scheduled(item.reminders, facts.account_id),
            entry_point=item.entry_point,
            at=now,
        )
        return aggregate

    @observed_command("resend")
    def resend(
        self,
        document_id: str,
        *,
        by: str,
        message: str | None = None,
        reminders: ReminderPolicy | dict[str, int] | Keep | None = KEEP,
    ) -> None:
        """See :meth:`Approvals.resend`."""
        doc_id = check_identifier("document_id", document_id)
        text = check_optional_text("message", message, max_length=MAX_MESSAGE)
        policy = (
            reminders
            if isinstance(reminders, Keep)
            else reminder_policy_from(reminders)
        )
        actor = self.auth.firm_member(by, "resend approval requests")

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = self._require(doc_id, "resend")
            pending = aggregate.pending_cycle
            effective = (
                pending.reminders if isinstance(policy, Keep) and pending else policy
            )
            if pending is not None and isinstance(effective, ReminderPolicy):
                effective = self._scheduled(effective, pending.document.account_id)
            aggregate.resend(
                by=actor,
                message=text,
                reminders=None if isinstance(effective, Keep) else effective,
                at=now,
            )
            return [aggregate]

        self.log.write([doc_id], plan)

    @observed_command("cancel")
    def cancel(self, document_id: str, *, by: str, note: str | None = None) -> None:
        """See :meth:`Approvals.cancel`."""
        doc_id = check_identifier("document_id", document_id)
        text = check_optional_text("note", note, max_length=MAX_COMMENT)
        actor = self.auth.firm_member(by, "cancel approval requests")

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = self._require(doc_id, "cancel")
            aggregate.cancel(by=actor, note=text, at=now)
            return [aggregate]

        self.log.write([doc_id], plan)

    @observed_command("lock_to_invoice")
    def lock_to_invoice(self, document_id: str, *, invoice_id: str, by: str) -> None:
        """See :meth:`Approvals.lock_to_invoice`."""
        doc_id = check_identifier("document_id", document_id)
        inv = check_identifier("invoice_id", invoice_id)
        actor = self.auth.firm_member(by, "lock documents to invoices")
        facts = self.auth.document(doc_id)

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = self.log.load(doc_id) or ApprovalRequest.open(doc_id, now)
            aggregate.lock_to_invoice(invoice_id=inv, by=actor, document=facts, at=now)
            return [aggregate]

        self.log.write([doc_id], plan)

    @observed_command("mark_invoice_paid")
    def mark_invoice_paid(self, document_id: str, *, invoice_id: str, by: str) -> None:
        """See :meth:`Approvals.mark_invoice_paid`."""
        doc_id = check_identifier("document_id", document_id)
        inv = check_identifier("invoice_id", invoice_id)
        uid = check_identifier("by", by)
        loaded = self.log.load(doc_id)
        actor = self.auth.firm_member_or_linked_client(
            uid, self._invoice_account(doc_id, loaded, uid), "mark invoices paid"
        )
        load = self._loaded_once(doc_id, "mark the invoice paid for", loaded)

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = load()
            aggregate.mark_invoice_paid(invoice_id=inv, by=actor, at=now)
            return [aggregate]

        self.log.write([doc_id], plan)

    @observed_command("record_activity")
    def record_activity(
        self, document_id: str, *, kind: ActivityKind | str, by: str
    ) -> None:
        """See :meth:`Approvals.record_activity`."""
        doc_id = check_identifier("document_id", document_id)
        activity = _activity_kind(kind)
        uid = check_identifier("by", by)
        self.auth.account_of(doc_id, uid, "record activity")
        facts = self.auth.document(doc_id)
        actor = self.auth.firm_member_or_linked_client(
            uid, facts.account_id, "record activity"
        )

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = self.log.load(doc_id) or ApprovalRequest.open(doc_id, now)
            aggregate.report_activity(kind=activity, by=actor, document=facts, at=now)
            return [aggregate]

        self.log.write([doc_id], plan)

    # -- commands: client side ---------------------------------------------

    @observed_command("approve")
    def approve(self, document_id: str, *, by: str, comment: str | None = None) -> None:
        """See :meth:`Approvals.approve`."""
        doc_id = check_identifier("document_id", document_id)
        text = check_optional_text("comment", comment, max_length=MAX_COMMENT)
        loaded = self.log.load(doc_id)
        uid = check_identifier("by", by)
        actor = self.auth.linked_client(
            uid, self._account_of(doc_id, loaded, uid, "approve"), "approve"
        )
        load = self._loaded_once(doc_id, "approve", loaded)

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = load()
            aggregate.approve(by=actor, comment=text, at=now)
            return [aggregate]

        self.log.write([doc_id], plan)

    @observed_command("reject")
    def reject(
        self,
        document_id: str,
        *,
        by: str,
        reasons: Sequence[str],
        comment: str | None = None,
    ) -> None:
        """See :meth:`Approvals.reject`."""
        doc_id = check_identifier("document_id", document_id)
        rejection = Rejection(reasons=reasons, comment=comment)
        loaded = self.log.load(doc_id)
        uid = check_identifier("by", by)
        actor = self.auth.linked_client(
            uid, self._account_of(doc_id, loaded, uid, "reject"), "reject"
        )
        load = self._loaded_once(doc_id, "reject", loaded)

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = load()
            aggregate.reject(by=actor, rejection=rejection, at=now)
            return [aggregate]

        self.log.write([doc_id], plan)

    # -- commands: scheduler -----------------------------------------------

    @observed_command("remind")
    def remind(self, document_id: str) -> bool:
        """See :meth:`Approvals.remind`."""
        doc_id = check_identifier("document_id", document_id)
        recorded = False

        def plan(now: datetime) -> list[ApprovalRequest]:
            nonlocal recorded
            recorded = False
            aggregate = self.log.load(doc_id)
            if aggregate is None or not aggregate.reminder_due(now):
                return []
            pending = aggregate.pending_cycle
            if (
                pending is not None
                and pending.reminders is not None
                and pending.reminders.schedule is None
                and not is_open(now, self.schedule)
            ):
                # Recorded without a schedule, sent in the firm's opening
                # hours when this application has one: later, never earlier.
                return []
            aggregate.remind(at=now)
            recorded = True
            return [aggregate]

        self.log.write([doc_id], plan)
        return recorded

    def send_due_reminders(self, limit: int = 500) -> list[str]:
        """See :meth:`Approvals.send_due_reminders`."""
        size = check_int("limit", limit, low=1, high=10_000)
        self.log.refresh_views()
        sent = []
        for document_id in self.log.views.due_reminders(self.log.now(), size):
            if self.remind(document_id):
                reminder_recorded(document_id)
                sent.append(document_id)
        return sent

    def record_notified(self, record_id: UUID, report: NotificationReport) -> None:
        """See :meth:`Approvals.record_notified`."""

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate: object = self.log.repository.get(record_id)
            assert isinstance(aggregate, ApprovalRequest)
            if report.about_version in aggregate.notified:
                return []
            aggregate.record_notified(report=report, at=now)
            return [aggregate]

        self.log.write([str(record_id)], plan)

    def _require(self, document_id: str, action: str) -> ApprovalRequest:
        aggregate = self.log.load(document_id)
        if aggregate is None:
            raise NotPendingError(document_id, action, "never requested")
        return aggregate

    def _invoice_account(
        self, document_id: str, aggregate: ApprovalRequest | None, user_id: str
    ) -> str:
        """The account whose clients pay the document's invoice: the lock's."""
        lock = aggregate.invoice if aggregate is not None else None
        if lock is not None and lock.account_id is not None:
            return lock.account_id
        return self._account_of(document_id, aggregate, user_id, "mark invoices paid")

    def _account_of(
        self,
        document_id: str,
        aggregate: ApprovalRequest | None,
        user_id: str,
        action: str,
    ) -> str:
        if aggregate is not None and aggregate.current_cycle is not None:
            return aggregate.current_cycle.document.account_id
        return self.auth.account_of(document_id, user_id, action)

    def _loaded_once(
        self, document_id: str, action: str, aggregate: ApprovalRequest | None
    ) -> Callable[[], ApprovalRequest]:
        """The aggregate already loaded, then a fresh load on each retry."""
        first = [aggregate]

        def load() -> ApprovalRequest:
            found = first.pop() if first else None
            return found if found is not None else self._require(document_id, action)

        return load


def _entry_point(value: object) -> EntryPoint | None:
    if value is None or isinstance(value, EntryPoint):
        return value
    if isinstance(value, str) and value in EntryPoint.__members__.values():
        return EntryPoint(value)
    raise InvalidInputError(
        "entry_point",
        f"got {value!r}",
        "None or one of " + ", ".join(repr(e.value) for e in EntryPoint),
    )


def _activity_kind(value: object) -> ActivityKind:
    if isinstance(value, str) and value in ActivityKind.__members__.values():
        return ActivityKind(value)
    raise InvalidInputError(
        "kind",
        f"got {value!r}",
        "one of " + ", ".join(repr(k.value) for k in ActivityKind),
    )


def _batch_item(index: int, raw: object) -> BatchRequest:
    if isinstance(raw, str):
        return BatchRequest(check_identifier(f"requests[{index}]", raw))
    if not isinstance(raw, BatchRequest):
        raise InvalidInputError(
            f"requests[{index}]",
            f"got {type(raw).__name__}",
            "a document id or a BatchRequest",
        )
    return BatchRequest(
        check_identifier(f"requests[{index}].document_id", raw.document_id),
        check_optional_text(
            f"requests[{index}].message", raw.message, max_length=MAX_MESSAGE
        ),
        reminder_policy_from(raw.reminders),
        _entry_point(raw.entry_point),
    )
