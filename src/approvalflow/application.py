"""The ``Approvals`` application: commands, authorization and queries.

Every command names its acting user, validates its arguments, asks the
Directory port who may act, reads the time from the Clock port, and records
its events in one transaction, or raises an :class:`ApprovalFlowError` and
records nothing. Two writers racing on one document cannot both win: the
loser's transaction conflicts on the aggregate's version, and the command is
re-checked against the winner's state, which usually turns it into a clear
error (``AlreadyPendingError``, ``NotPendingError``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs
from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    JSONTranscoder,
    Recording,
)
from eventsourcing.popo import POPOFactory
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import EnvType

from approvalflow.domain.aggregate import ApprovalRequest, Cycle, approval_request_id
from approvalflow.domain.errors import (
    ConcurrentChangeError,
    ConfigurationError,
    DocumentAccountMismatchError,
    DocumentNotVisibleError,
    InvalidInputError,
    NotAuthorizedError,
    NotPendingError,
    UnknownDocumentError,
)
from approvalflow.domain.validation import (
    MAX_COMMENT,
    MAX_MESSAGE,
    check_identifier,
    check_int,
    check_optional_text,
    check_utc,
)
from approvalflow.domain.values import (
    ActivityKind,
    Actor,
    ActorRole,
    ApprovalState,
    DocumentFacts,
    EntryPoint,
    NotificationReport,
    Rejection,
    ReminderPolicy,
    reminder_policy_from,
)
from approvalflow.history import HistoryEntry, history_entry
from approvalflow.notifications.delivery import Notifier
from approvalflow.notifications.emails import EmailComposer
from approvalflow.notifications.outbox import (
    Backlog,
    DeliveryStore,
    MemoryDeliveryStore,
)
from approvalflow.notifications.outbox_sql import (
    PostgresDeliveryStore,
    SQLiteDeliveryStore,
)
from approvalflow.persistence import register_transcodings
from approvalflow.ports import Clock, Directory, Links, Mailer, PortalNotifications
from approvalflow.queries import ReadSide
from approvalflow.readmodels.inline import (
    InlineWriter,
    inline_recorder,
    read_model_store,
)

__all__ = ["KEEP", "Approvals", "BatchRequest", "DocumentStatus", "Keep"]

#: How often a command is re-checked after losing a race before giving up.
MAX_ATTEMPTS = 5
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


@attrs.frozen
class DocumentStatus:
    """Where a document's approval stands (F13)."""

    document_id: str
    state: ApprovalState
    pending_payment: bool
    invoice_id: str | None
    #: The latest cycle's number (``None``: never requested).
    cycle: int | None
    requested_at: datetime | None
    closed_at: datetime | None
    next_reminder_at: datetime | None


class Approvals(ReadSide, Application[UUID]):
    """Ask clients to approve documents, and know where each approval stands.

    Build one with :func:`approvalflow.connect`; use it in a ``with`` block
    (or call :meth:`close`) so its database connections are released.
    """

    name = "Approvals"

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        directory: Directory | None = None,
        clock: Clock | None = None,
        mailer: Mailer | None = None,
        portal: PortalNotifications | None = None,
        links: Links | None = None,
        refresh_views_on_read: bool = True,
        refresh_views_after_write: bool = True,
    ) -> None:
        from approvalflow.clocks import SystemClock  # noqa: PLC0415 - keeps ports optional

        self.clock: Clock = clock if clock is not None else SystemClock()
        self._directory = directory
        self.mailer = mailer
        self.portal = portal
        self.links = links
        self.refresh_views_on_read = refresh_views_on_read
        self._views = None
        self._inline: InlineWriter | None = None
        self._delivery_store: DeliveryStore | None = None
        super().__init__(env)
        self._views = read_model_store(self.factory, self.recorder, self.mapper)
        if self._views is not None:
            self._inline = InlineWriter(self._views, self.name)
            self.refresh_views_after_write = refresh_views_after_write
            if self._views.needs_rebuild:
                self.rebuild_views()

    @property
    def refresh_views_after_write(self) -> bool:
        """Whether commands write the read models in their own transaction.

        When off, :meth:`follow` or :meth:`refresh_views` catch them up.
        """
        return getattr(self.recorder, "inline", None) is not None

    @refresh_views_after_write.setter
    def refresh_views_after_write(self, value: bool) -> None:
        if hasattr(self.recorder, "inline"):
            setattr(self.recorder, "inline", self._inline if value else None)  # noqa: B010

    def construct_recorder(self) -> ApplicationRecorder:
        """Eventsourcing's recorder for the store, writing read models inline."""
        recorder: ApplicationRecorder = inline_recorder(self.factory)
        return recorder

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

    # -- wiring helpers ----------------------------------------------------

    @property
    def directory(self) -> Directory:
        """The Directory port; commands need it, queries do not."""
        if self._directory is None:
            msg = (
                "this Approvals application has no directory port; pass "
                "directory=... to approvalflow.connect() to run commands "
                "(queries and audit replays work without one)"
            )
            raise ConfigurationError(msg)
        return self._directory

    def _now(self) -> datetime:
        try:
            return check_utc("clock.now()", self.clock.now())
        except InvalidInputError as exc:
            msg = f"the clock port returned an unusable time: {exc}"
            raise ConfigurationError(msg) from exc

    def _firm_member(self, user_id: object, action: str) -> Actor:
        uid = check_identifier("by", user_id)
        member = self.directory.firm_member(uid)
        if member is None:
            raise NotAuthorizedError(
                uid, action, "only firm members can request, resend or cancel approvals"
            )
        return Actor(member.user_id, member.name, ActorRole.FIRM_MEMBER)

    def _linked_client(self, user_id: str, account_id: str, action: str) -> Actor:
        user = self.directory.client_user(user_id)
        linked = {link.user_id for link in self.directory.account_links(account_id)}
        if user is None or user_id not in linked:
            raise NotAuthorizedError(
                user_id,
                action,
                f"only client users linked to account {account_id!r} can "
                "approve or reject its documents",
            )
        return Actor(user.user_id, user.name, ActorRole.CLIENT_USER)

    def _firm_member_or_linked_client(
        self, user_id: str, account_id: str, action: str
    ) -> Actor:
        member = self.directory.firm_member(user_id)
        if member is not None:
            return Actor(member.user_id, member.name, ActorRole.FIRM_MEMBER)
        return self._linked_client(user_id, account_id, action)

    def _document(self, document_id: str) -> DocumentFacts:
        document = self.directory.document(document_id)
        if document is None:
            raise UnknownDocumentError(document_id)
        return document.facts

    def _load(self, document_id: str) -> ApprovalRequest | None:
        try:
            aggregate: object = self.repository.get(approval_request_id(document_id))
        except AggregateNotFoundError:
            return None
        assert isinstance(aggregate, ApprovalRequest)
        return aggregate

    def _write(
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
            changed = plan(self._now())
            if not changed:
                return changed
            try:
                self.save(*changed)
            except IntegrityError:
                continue
            return changed
        raise ConcurrentChangeError(", ".join(document_ids), MAX_ATTEMPTS)

    def _require(self, document_id: str, action: str) -> ApprovalRequest:
        aggregate = self._load(document_id)
        if aggregate is None:
            raise NotPendingError(document_id, action, "never requested")
        return aggregate

    def _account_of(self, document_id: str, aggregate: ApprovalRequest | None) -> str:
        if aggregate is not None and aggregate.current_cycle is not None:
            return aggregate.current_cycle.document.account_id
        return self._document(document_id).account_id

    def _loaded_once(
        self, document_id: str, action: str, aggregate: ApprovalRequest | None
    ) -> Callable[[], ApprovalRequest]:
        """The aggregate already loaded, then a fresh load on each retry."""
        first = [aggregate]

        def load() -> ApprovalRequest:
            found = first.pop() if first else None
            return found if found is not None else self._require(document_id, action)

        return load

    # -- commands: firm side -----------------------------------------------

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
        """Ask the document's client account to approve it (F1-F3, F11).

        ``by`` must be a firm member; the document must be known to the
        directory, client-visible and not already pending. ``account_id``,
        when given, must be the document's account (a guard against asking
        the wrong client). ``reminders=None`` means no automatic reminders.
        Returns the new cycle.
        """
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
        actor = self._firm_member(by, "request approval")
        facts = self._requestable(doc_id, expected)
        saved = self._write(
            [doc_id], lambda now: [self._plan_request(item, facts, actor, now)]
        )
        cycle = saved[0].current_cycle
        assert cycle is not None
        return cycle

    def request_approvals(
        self, requests: Sequence[BatchRequest | str], *, by: str
    ) -> list[Cycle]:
        """Request approval of many documents at once, all or nothing.

        Each item is a :class:`BatchRequest` or a bare document id. If any
        document cannot be requested, nothing is recorded and the error names
        it. Returns the new cycles in the order given.
        """
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
        actor = self._firm_member(by, "request approval")
        facts = {
            item.document_id: self._requestable(item.document_id, None)
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
        for aggregate in self._write(ids, plan):
            cycle = aggregate.current_cycle
            assert cycle is not None
            cycles.append(cycle)
        return cycles

    def _requestable(
        self, document_id: str, expected_account: str | None
    ) -> DocumentFacts:
        document = self.directory.document(document_id)
        if document is None:
            raise UnknownDocumentError(document_id)
        if (
            expected_account is not None
            and document.facts.account_id != expected_account
        ):
            raise DocumentAccountMismatchError(
                document_id, expected_account, document.facts.account_id
            )
        if not document.client_visible:
            raise DocumentNotVisibleError(document_id)
        return document.facts

    def _never_recorded(self, document_ids: Sequence[str]) -> set[str]:
        if self._views is None:
            return set()
        return set(document_ids) - self._views.recorded(document_ids)

    def _plan_request(
        self,
        item: BatchRequest,
        facts: DocumentFacts,
        actor: Actor,
        now: datetime,
        fresh: bool = False,
    ) -> ApprovalRequest:
        loaded = None if fresh else self._load(item.document_id)
        aggregate = loaded or ApprovalRequest.open(item.document_id, now)
        aggregate.request(
            document=facts,
            by=actor,
            message=item.message,
            reminders=item.reminders,
            entry_point=item.entry_point,
            at=now,
        )
        return aggregate

    def resend(
        self,
        document_id: str,
        *,
        by: str,
        message: str | None = None,
        reminders: ReminderPolicy | dict[str, int] | Keep | None = KEEP,
    ) -> None:
        """Resend the pending request (F5): one more email, task to the top.

        ``message`` is an optional new message. ``reminders`` sets a new
        policy (``None`` turns reminders off); by default the current one is
        kept. Either way the reminder schedule restarts from this resend.
        """
        doc_id = check_identifier("document_id", document_id)
        text = check_optional_text("message", message, max_length=MAX_MESSAGE)
        policy = (
            reminders
            if isinstance(reminders, Keep)
            else reminder_policy_from(reminders)
        )
        actor = self._firm_member(by, "resend approval requests")

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = self._require(doc_id, "resend")
            pending = aggregate.pending_cycle
            effective = (
                pending.reminders if isinstance(policy, Keep) and pending else policy
            )
            aggregate.resend(
                by=actor,
                message=text,
                reminders=None if isinstance(effective, Keep) else effective,
                at=now,
            )
            return [aggregate]

        self._write([doc_id], plan)

    def cancel(self, document_id: str, *, by: str, note: str | None = None) -> None:
        """Cancel the pending request (F10); reminders stop, the task goes."""
        doc_id = check_identifier("document_id", document_id)
        text = check_optional_text("note", note, max_length=MAX_COMMENT)
        actor = self._firm_member(by, "cancel approval requests")

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = self._require(doc_id, "cancel")
            aggregate.cancel(by=actor, note=text, at=now)
            return [aggregate]

        self._write([doc_id], plan)

    def lock_to_invoice(self, document_id: str, *, invoice_id: str, by: str) -> None:
        """Record that the host locked the document to an unpaid invoice (F13)."""
        doc_id = check_identifier("document_id", document_id)
        inv = check_identifier("invoice_id", invoice_id)
        actor = self._firm_member(by, "lock documents to invoices")
        facts = self._document(doc_id)

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = self._load(doc_id) or ApprovalRequest.open(doc_id, now)
            aggregate.lock_to_invoice(invoice_id=inv, by=actor, document=facts, at=now)
            return [aggregate]

        self._write([doc_id], plan)

    def mark_invoice_paid(self, document_id: str, *, invoice_id: str, by: str) -> None:
        """Record that the document's invoice was paid (F13).

        ``by`` is a firm member, or a client user linked to the document's
        account (clients pay their own invoices).
        """
        doc_id = check_identifier("document_id", document_id)
        inv = check_identifier("invoice_id", invoice_id)
        uid = check_identifier("by", by)
        loaded = self._load(doc_id)
        actor = self._firm_member_or_linked_client(
            uid, self._account_of(doc_id, loaded), "mark invoices paid"
        )
        load = self._loaded_once(doc_id, "mark the invoice paid for", loaded)

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = load()
            aggregate.mark_invoice_paid(invoice_id=inv, by=actor, at=now)
            return [aggregate]

        self._write([doc_id], plan)

    def record_activity(
        self, document_id: str, *, kind: ActivityKind | str, by: str
    ) -> None:
        """Record activity the host saw on a document (F14): uploaded, sent, ...

        It puts the document at the top of the recent list. ``by`` is a firm
        member, or a client user linked to the document's account (clients
        upload and download too). The document must be known to the directory.
        """
        doc_id = check_identifier("document_id", document_id)
        activity = _activity_kind(kind)
        uid = check_identifier("by", by)
        facts = self._document(doc_id)
        actor = self._firm_member_or_linked_client(
            uid, facts.account_id, "record activity"
        )

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = self._load(doc_id) or ApprovalRequest.open(doc_id, now)
            aggregate.report_activity(kind=activity, by=actor, document=facts, at=now)
            return [aggregate]

        self._write([doc_id], plan)

    # -- commands: client side ---------------------------------------------

    def approve(self, document_id: str, *, by: str, comment: str | None = None) -> None:
        """Approve the pending request (F8); ``by`` is a linked client user."""
        doc_id = check_identifier("document_id", document_id)
        text = check_optional_text("comment", comment, max_length=MAX_COMMENT)
        loaded = self._load(doc_id)
        actor = self._linked_client(
            check_identifier("by", by), self._account_of(doc_id, loaded), "approve"
        )
        load = self._loaded_once(doc_id, "approve", loaded)

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = load()
            aggregate.approve(by=actor, comment=text, at=now)
            return [aggregate]

        self._write([doc_id], plan)

    def reject(
        self,
        document_id: str,
        *,
        by: str,
        reasons: Sequence[str],
        comment: str | None = None,
    ) -> None:
        """Reject the pending request (F9): one or more reasons, optional comment."""
        doc_id = check_identifier("document_id", document_id)
        rejection = Rejection(reasons=reasons, comment=comment)
        loaded = self._load(doc_id)
        actor = self._linked_client(
            check_identifier("by", by), self._account_of(doc_id, loaded), "reject"
        )
        load = self._loaded_once(doc_id, "reject", loaded)

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate = load()
            aggregate.reject(by=actor, rejection=rejection, at=now)
            return [aggregate]

        self._write([doc_id], plan)

    # -- commands: scheduler -----------------------------------------------

    def remind(self, document_id: str) -> bool:
        """Record the automatic reminder if one is due now (F6).

        Returns ``True`` if this call recorded it, ``False`` if none was due
        (not pending, reminders off or used up, not yet due, or another
        worker recorded it first). The acting user is the library itself.
        """
        doc_id = check_identifier("document_id", document_id)
        recorded = False

        def plan(now: datetime) -> list[ApprovalRequest]:
            nonlocal recorded
            recorded = False
            aggregate = self._load(doc_id)
            if aggregate is None or not aggregate.reminder_due(now):
                return []
            aggregate.remind(at=now)
            recorded = True
            return [aggregate]

        self._write([doc_id], plan)
        return recorded

    def send_due_reminders(self, limit: int = 500) -> list[str]:
        """Record every automatic reminder due now (F6); return the documents.

        Due documents come from the due-reminders index, so a pass costs time
        in proportion to the reminders due, not to the requests pending. Each
        is re-checked by its aggregate in the same transaction as the
        ``Reminded`` event, so two workers running at once record each
        reminder once. After downtime each overdue request gets one reminder;
        the next falls due a full interval later.
        """
        size = check_int("limit", limit, low=1, high=10_000)
        self.refresh_views()
        sent = []
        for document_id in self.views.due_reminders(self._now(), size):
            if self.remind(document_id):
                sent.append(document_id)
        return sent

    def record_notified(self, record_id: UUID, report: NotificationReport) -> None:
        """Record who was told about an event (used by the delivery follower).

        Recording the same event's report twice records it once.
        """

        def plan(now: datetime) -> list[ApprovalRequest]:
            aggregate: object = self.repository.get(record_id)
            assert isinstance(aggregate, ApprovalRequest)
            if report.about_version in aggregate.notified:
                return []
            aggregate.record_notified(report=report, at=now)
            return [aggregate]

        self._write([str(record_id)], plan)

    @property
    def _deliveries(self) -> DeliveryStore:
        # Made on first use: only processes that deliver need its tables.
        if self._delivery_store is None:
            self._delivery_store = _delivery_store(self.factory)
        return self._delivery_store

    def delivery_backlog(self) -> Backlog:
        """How far deliveries lag behind the log, and what waits or failed."""
        return self._deliveries.backlog(self.recorder.max_notification_id() or 0)

    def skip_deliveries(self) -> int:
        """Mark everything recorded so far as delivered; return how many events.

        For a store that existed before deliveries were switched on: without
        this, the first worker would send every notification of its history.
        Only events recorded afterwards will be delivered.
        """
        store = self._deliveries
        head = self.recorder.max_notification_id() or 0
        while (position := store.position()) < head:
            if store.advance(position, head):
                return head - position
        return 0

    def notifier(
        self,
        *,
        mailer: Mailer | None = None,
        composer: EmailComposer | None = None,
        links: Links | None = None,
        portal: PortalNotifications | None = None,
        worker: str | None = None,
        lease_clock: Clock | None = None,
    ) -> Notifier:
        """The delivery follower for this store (see :class:`Notifier`).

        Ports default to the ones given to :func:`~approvalflow.connect`;
        ``composer`` defaults to English emails signed "Your firm" from
        ``no-reply@example.com``, which a host will want to set.
        """
        chosen_mailer = mailer or self.mailer
        chosen_links = links or self.links
        if chosen_mailer is None or chosen_links is None:
            msg = "deliveries need a mailer and a links port: pass mailer= and links="
            raise ConfigurationError(msg)
        return Notifier(
            self,
            store=self._deliveries,
            mailer=chosen_mailer,
            composer=composer
            or EmailComposer(sender="no-reply@example.com", firm_name="Your firm"),
            links=chosen_links,
            portal=portal or self.portal,
            worker=worker,
            lease_clock=lease_clock,
        )

    # -- queries -----------------------------------------------------------

    def get_request(self, document_id: str) -> ApprovalRequest | None:
        """The document's aggregate as stored, or ``None`` if never recorded."""
        return self._load(check_identifier("document_id", document_id))

    def status(self, document_id: str) -> DocumentStatus:
        """The document's current approval status (F13)."""
        doc_id = check_identifier("document_id", document_id)
        aggregate = self._load(doc_id)
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
        )

    def cycles(self, document_id: str) -> tuple[Cycle, ...]:
        """Every request cycle of the document, oldest first (F11)."""
        aggregate = self._load(check_identifier("document_id", document_id))
        return aggregate.cycles if aggregate else ()

    def history(self, document_id: str) -> tuple[HistoryEntry, ...]:
        """Every recorded event of the document, in order (F18).

        Read from the event store alone: it needs no directory.
        """
        doc_id = check_identifier("document_id", document_id)
        return tuple(
            history_entry(event)
            for event in self.events.get(approval_request_id(doc_id))
        )


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


def _delivery_store(factory: InfrastructureFactory[Any]) -> DeliveryStore:
    """Delivery bookkeeping for the event store's kind."""
    if isinstance(factory, SQLiteFactory):
        return SQLiteDeliveryStore(factory.datastore)
    if isinstance(factory, POPOFactory):
        return MemoryDeliveryStore()
    if type(factory).__module__ == "eventsourcing.postgres":
        return PostgresDeliveryStore(getattr(factory, "datastore"))  # noqa: B009
    msg = "deliveries need SQLite, PostgreSQL or memory:// in this release"
    raise ConfigurationError(msg)


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
