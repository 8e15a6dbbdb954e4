"""The ``Approvals`` application: one object a host holds, built of roles.

``Approvals`` is what :func:`approvalflow.connect` returns. It composes, and
only forwards to:

- :class:`~approvalflow._commands.Commands`: load, decide, save (with the
  lost-race re-check), each command authorized by
- :class:`~approvalflow._authorization.Authorization`, which asks the
  Directory port;
- :class:`~approvalflow._queries.Queries`: lists, audit trail, time travel;
- :class:`~approvalflow._log.ApprovalLog`: eventsourcing's application, the
  storage adapter's recorder, read models and delivery bookkeeping;
- the delivery ports wired by ``connect()``, for :meth:`Approvals.notifier`.

It names no concrete adapter: ``connect()`` is the one place that does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import IO, Any
from uuid import UUID

import attrs
from eventsourcing.application import Repository
from eventsourcing.persistence import ApplicationRecorder, EventStore, Mapper

from approvalflow._authorization import Authorization
from approvalflow._commands import KEEP, BatchRequest, Commands, Keep
from approvalflow._health import HealthReport, delivery_problems, view_problems
from approvalflow._log import ApprovalLog
from approvalflow._queries import (
    AccountPending,
    ClientView,
    DocumentStatus,
    Queries,
    ViewPosition,
)
from approvalflow._reader import UserQueries
from approvalflow._store_errors import translating_store_errors
from approvalflow.audit_verify import Report
from approvalflow.domain.aggregate import ApprovalRequest, Cycle
from approvalflow.domain.errors import ConfigurationError, InvalidInputError
from approvalflow.domain.validation import check_int
from approvalflow.domain.values import (
    ActivityKind,
    EntryPoint,
    NotificationReport,
    ReminderPolicy,
    ReminderSchedule,
)
from approvalflow.follower import read_events
from approvalflow.history import HistoryEntry
from approvalflow.notifications.delivery import DEFAULT_LEASE, Notifier, message_kinds
from approvalflow.notifications.emails import EmailComposer
from approvalflow.notifications.outbox import Backlog, DeliveriesToSkip
from approvalflow.ports import (
    Clock,
    Directory,
    EventSink,
    Links,
    Mailer,
    PortalNotifications,
)
from approvalflow.readmodels.audit import AuditRow
from approvalflow.readmodels.documents import DocumentRow, Page
from approvalflow.readmodels.follow import ViewRunner
from approvalflow.readmodels.rejections import RejectionRow
from approvalflow.readmodels.store import Progress, ReadModelStore

__all__ = ["KEEP", "Approvals", "BatchRequest", "DeliveryPorts", "DocumentStatus"]


def _account_name(directory: Directory | None) -> Callable[[str], str | None]:
    """How history names a client account: the directory's name, if it has one.

    Without a directory (a store opened for replays and audits), or for an
    account the directory no longer knows, history writes the account's id.
    """

    def name(account_id: str) -> str | None:
        if directory is None:
            return None
        account = directory.account(account_id)
        return account.name if account is not None else None

    return name


@attrs.frozen
class DeliveryPorts:
    """The ports deliveries use, as wired by :func:`approvalflow.connect`."""

    mailer: Mailer | None = None
    composer: EmailComposer | None = None
    links: Links | None = None
    portal: PortalNotifications | None = None
    event_sink: EventSink | None = None
    #: Measures delivery leases between worker processes (real time).
    lease_clock: Clock | None = None


@translating_store_errors
class Approvals:
    """Ask clients to approve documents, and know where each approval stands.

    Build one with :func:`approvalflow.connect`; use it in a ``with`` block
    (or call :meth:`close`) so its database connections are released. One
    instance may be shared by a web server's threads. A database failure is
    a :class:`~approvalflow.StoreError` (busy, unavailable or corrupt),
    never the driver's own exception.
    """

    def __init__(
        self,
        log: ApprovalLog,
        *,
        directory: Directory | None,
        delivery: DeliveryPorts,
        refresh_views_on_read: bool = True,
        reminder_schedule: ReminderSchedule | None = None,
    ) -> None:
        self._log = log
        self._auth = Authorization(directory)
        self._commands = Commands(log, self._auth, reminder_schedule)
        self._queries = Queries(
            log,
            refresh_views_on_read=refresh_views_on_read,
            account_name=_account_name(directory),
        )
        self._delivery = delivery

    # -- the parts -----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The application's name in the store."""
        return self._log.name

    @property
    def log(self) -> ApprovalLog:
        """The eventsourcing application underneath (for tools and tests)."""
        return self._log

    @property
    def clock(self) -> Clock:
        """The Clock port."""
        return self._log.clock

    @property
    def directory(self) -> Directory:
        """The Directory port (a :class:`ConfigurationError` if none was given)."""
        return self._auth.directory

    @property
    def mailer(self) -> Mailer | None:
        """The Mailer port, if one was given."""
        return self._delivery.mailer

    @property
    def links(self) -> Links | None:
        """The Links port, if one was given."""
        return self._delivery.links

    @property
    def portal(self) -> PortalNotifications | None:
        """The PortalNotifications port, if one was given."""
        return self._delivery.portal

    @property
    def recorder(self) -> ApplicationRecorder:
        """Eventsourcing's recorder of the events."""
        return self._log.recorder

    @property
    def mapper(self) -> Mapper[Any]:
        """How stored events become domain events."""
        return self._log.mapper

    @property
    def repository(self) -> Repository[Any]:
        """Aggregates, at any version."""
        return self._log.repository

    @property
    def events(self) -> EventStore[Any]:
        """The event store (every document's events, in order)."""
        return self._log.events

    @property
    def views(self) -> ReadModelStore:
        """The read models' store."""
        return self._log.views

    @property
    def refresh_views_on_read(self) -> bool:
        """Whether each list query first catches up events recorded another way."""
        return self._queries.refresh_views_on_read

    @refresh_views_on_read.setter
    def refresh_views_on_read(self, value: bool) -> None:
        self._queries.refresh_views_on_read = value

    @property
    def refresh_views_after_write(self) -> bool:
        """Whether commands write the read models in their own transaction.

        When off, :meth:`follow` or :meth:`refresh_views` catch them up.
        """
        return self._log.refresh_views_after_write

    @refresh_views_after_write.setter
    def refresh_views_after_write(self, value: bool) -> None:
        self._log.refresh_views_after_write = value

    def close(self) -> None:
        """Release the store's connections."""
        self._log.close()

    def __enter__(self) -> Approvals:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- commands ------------------------------------------------------------------

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
        """Ask the document's client account to approve it.

        ``by`` must be a firm member; the document must be known to the
        directory, client-visible and not already pending. ``account_id``,
        when given, must be the document's account (a guard against asking
        the wrong client). ``reminders=None`` means no automatic reminders.
        Returns the new cycle.
        """
        return self._commands.request_approval(
            document_id,
            by=by,
            account_id=account_id,
            message=message,
            reminders=reminders,
            entry_point=entry_point,
        )

    def request_approvals(
        self, requests: Sequence[BatchRequest | str], *, by: str
    ) -> list[Cycle]:
        """Request approval of many documents at once, all or nothing.

        Each item is a :class:`BatchRequest` or a bare document id. If any
        document cannot be requested, nothing is recorded and the error names
        it. Returns the new cycles in the order given.
        """
        return self._commands.request_approvals(requests, by=by)

    def resend(
        self,
        document_id: str,
        *,
        by: str,
        message: str | None = None,
        reminders: ReminderPolicy | dict[str, int] | Keep | None = KEEP,
    ) -> None:
        """Resend the pending request: one more email, task to the top.

        ``message`` is an optional new message. ``reminders`` sets a new
        policy (``None`` turns reminders off); by default the current one is
        kept. Either way the reminder schedule restarts from this resend.
        """
        self._commands.resend(document_id, by=by, message=message, reminders=reminders)

    def cancel(self, document_id: str, *, by: str, note: str | None = None) -> None:
        """Cancel the pending request; reminders stop, the task goes."""
        self._commands.cancel(document_id, by=by, note=note)

    def lock_to_invoice(self, document_id: str, *, invoice_id: str, by: str) -> None:
        """Record that the host locked the document to an unpaid invoice."""
        self._commands.lock_to_invoice(document_id, invoice_id=invoice_id, by=by)

    def mark_invoice_paid(self, document_id: str, *, invoice_id: str, by: str) -> None:
        """Record that the document's invoice was paid.

        ``by`` is a firm member, or a client user linked to the document's
        account (clients pay their own invoices).
        """
        self._commands.mark_invoice_paid(document_id, invoice_id=invoice_id, by=by)

    def record_activity(
        self, document_id: str, *, kind: ActivityKind | str, by: str
    ) -> None:
        """Record activity the host saw on a document: uploaded, sent, ...

        It puts the document at the top of the recent list. ``by`` is a firm
        member, or a client user linked to the document's account (clients
        upload and download too). The document must be known to the directory.
        """
        self._commands.record_activity(document_id, kind=kind, by=by)

    def approve(self, document_id: str, *, by: str, comment: str | None = None) -> None:
        """Approve the pending request; ``by`` is a linked client user."""
        self._commands.approve(document_id, by=by, comment=comment)

    def reject(
        self,
        document_id: str,
        *,
        by: str,
        reasons: Sequence[str],
        comment: str | None = None,
    ) -> None:
        """Reject the pending request: one or more reasons, optional comment."""
        self._commands.reject(document_id, by=by, reasons=reasons, comment=comment)

    def remind(self, document_id: str) -> bool:
        """Record the automatic reminder if one is due now.

        Returns ``True`` if this call recorded it, ``False`` if none was due
        (not pending, reminders off or used up, not yet due, or another
        worker recorded it first). The acting user is the library itself.
        """
        return self._commands.remind(document_id)

    def send_due_reminders(self, limit: int = 500) -> list[str]:
        """Record every automatic reminder due now; return the documents.

        Due documents come from the due-reminders index, so a pass costs time
        in proportion to the reminders due, not to the requests pending. Each
        is re-checked by its aggregate in the same transaction as the
        ``Reminded`` event, so two workers running at once record each
        reminder once. After downtime each overdue request gets one reminder;
        the next falls due a full interval later.
        """
        return self._commands.send_due_reminders(limit)

    def record_notified(self, record_id: UUID, report: NotificationReport) -> None:
        """Record who was told about an event (used by the delivery follower).

        Recording the same event's report twice records it once.
        """
        self._commands.record_notified(record_id, report)

    # -- deliveries ----------------------------------------------------------------

    def delivery_backlog(self) -> Backlog:
        """How far deliveries lag behind the log, and what waits or failed."""
        return self._log.deliveries.backlog(
            self._log.recorder.max_notification_id() or 0
        )

    def health(
        self,
        *,
        max_delay: timedelta = timedelta(minutes=10),
        max_lag: int = 100,
        deliveries: bool = True,
        views: bool = True,
        language: str | None = None,
    ) -> HealthReport:
        """Whether anything needs someone: stuck or refused deliveries, lagging views.

        Deliveries are stuck when the oldest event not yet delivered was
        recorded more than ``max_delay`` ago (by the Clock port); a read
        model lags when it is more than ``max_lag`` events behind the log.
        ``deliveries=False`` skips the delivery checks (a store whose host
        sends nothing), ``views=False`` the read models'. The problems are
        in English unless ``language`` names a catalog's language. See
        :class:`HealthReport`.
        """
        if not isinstance(max_delay, timedelta) or not (
            timedelta(seconds=1) <= max_delay <= timedelta(days=7)
        ):
            raise InvalidInputError(
                "max_delay", f"got {max_delay!r}", "a timedelta from 1 s to 7 days"
            )
        lag = check_int("max_lag", max_lag, low=0, high=2**63 - 1)
        now = self._log.clock.now()
        problems: list[str] = []
        backlog = oldest = None
        if deliveries:
            backlog = self.delivery_backlog()
            found = read_events(self._log, backlog.position, 1)
            oldest = found[0][1].timestamp if found else None
            problems += delivery_problems(
                backlog, oldest, now, max_delay, language=language
            )
        positions = tuple(self.views_status()) if views else ()
        problems += view_problems(positions, lag, language=language)
        return HealthReport(
            checked_at=now,
            deliveries=backlog,
            oldest_undelivered_at=oldest,
            views=positions,
            problems=tuple(problems),
        )

    def deliveries_to_skip(self) -> DeliveriesToSkip:
        """What :meth:`skip_deliveries` would mark as delivered; changes nothing.

        The events not yet delivered, counted by the channel and kind of the
        messages they lead to (see
        :class:`~approvalflow.notifications.outbox.DeliveriesToSkip`).
        """
        position = self._log.deliveries.position()
        head = self._log.recorder.max_notification_id() or 0
        counts: Counter[tuple[str, str]] = Counter()
        after = position
        while after < head:
            # In pages: a store's whole history fits nowhere at once.
            page = [e for e in read_events(self._log, after, 500) if e[0] <= head]
            if not page:
                break
            for _, event in page:
                counts.update(message_kinds(type(event)))
            after = page[-1][0]
        messages = tuple((c, k, n) for (c, k), n in sorted(counts.items()))
        return DeliveriesToSkip(position, head, messages)

    def skip_deliveries(self, up_to: int | None = None) -> int:
        """Mark everything recorded so far as delivered; return how many events.

        For a store that existed before deliveries were switched on: without
        this, the first worker would send every notification of its history.
        Only events recorded afterwards will be delivered. ``up_to`` stops at
        that event (the ``head`` of :meth:`deliveries_to_skip` shown to an
        operator), so that events recorded meanwhile are still delivered.
        """
        store = self._log.deliveries
        head = self._log.recorder.max_notification_id() or 0
        if up_to is not None:
            up_to = check_int("up_to", up_to, low=0, high=2**63 - 1)
            head = min(head, up_to)
        while (position := store.position()) < head:
            if store.advance(position, head):
                return head - position
        return 0

    def retry_deliveries(self, notification_id: int | None = None) -> int:
        """Ask the worker to try refused deliveries again; return how many.

        For deliveries refused for good (an address that was not an email
        address, a mailbox that did not exist) once the cause is fixed in the
        directory: the worker sends each to the recipient's current address
        on its next pass, without holding other mail. ``notification_id``
        limits it to one event's deliveries (see :meth:`delivery_backlog`).
        """
        if notification_id is not None:
            notification_id = check_int(
                "notification_id", notification_id, low=1, high=2**63 - 1
            )
        return self._log.deliveries.requeue(notification_id)

    def notifier(
        self,
        *,
        mailer: Mailer | None = None,
        composer: EmailComposer | None = None,
        links: Links | None = None,
        portal: PortalNotifications | None = None,
        event_sink: EventSink | None = None,
        worker: str | None = None,
        lease_clock: Clock | None = None,
        lease: timedelta | None = None,
    ) -> Notifier:
        """The delivery follower for this store (see :class:`Notifier`).

        Ports default to the ones given to :func:`~approvalflow.connect`.
        ``lease`` is how long a worker that died keeps others from
        delivering (2 minutes by default; it must exceed the time one
        message can take).
        """
        wired = self._delivery
        chosen_mailer = mailer or wired.mailer
        chosen_links = links or wired.links
        chosen_composer = composer or wired.composer
        missing = [
            what
            for what, given in (
                ("mailer= (a Mailer)", chosen_mailer),
                (
                    "links= (a Links port, or PortalLinks(your portal's URL))",
                    chosen_links,
                ),
                (
                    "composer= (EmailComposer(sender=..., firm_name=...) with "
                    "the firm's own address and name)",
                    chosen_composer,
                ),
            )
            if given is None
        ]
        if missing:
            msg = (
                "deliveries need " + ", ".join(missing) + ": pass them to "
                "approvalflow.connect(), or use approvalflow.delivery_ports()"
            )
            raise ConfigurationError(msg)
        assert chosen_mailer is not None  # all three checked above
        assert chosen_links is not None
        assert chosen_composer is not None
        return Notifier(
            self,
            store=self._log.deliveries,
            mailer=chosen_mailer,
            composer=chosen_composer,
            links=chosen_links,
            portal=portal or wired.portal,
            event_sink=event_sink or wired.event_sink,
            worker=worker,
            lease_clock=lease_clock or wired.lease_clock or self._log.clock,
            lease=DEFAULT_LEASE if lease is None else lease,
        )

    # -- queries -------------------------------------------------------------------

    def queries_for(self, user_id: str) -> UserQueries:
        """The queries as ``user_id`` may ask them (see :class:`UserQueries`).

        ``Approvals``' own queries answer for the whole firm, for back-office
        code; a host answering a person (above all a client) asks through
        this: a client sees only the client-visible documents of the
        accounts they are linked to, and is refused the rest.
        """
        return UserQueries(self._queries, self._auth, user_id)

    def get_request(self, document_id: str) -> ApprovalRequest | None:
        """The document's aggregate as stored, or ``None`` if never recorded."""
        return self._queries.get_request(document_id)

    def status(self, document_id: str) -> DocumentStatus:
        """The document's current approval status."""
        return self._queries.status(document_id)

    def cycles(self, document_id: str) -> tuple[Cycle, ...]:
        """Every request cycle of the document, oldest first."""
        return self._queries.cycles(document_id)

    def history(self, document_id: str) -> tuple[HistoryEntry, ...]:
        """Every recorded event of the document, in order.

        Read from the event store alone: it needs no directory.
        """
        return self._queries.history(document_id)

    def recent(
        self,
        *,
        filters: Sequence[str] | None = None,
        account_id: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """Documents with activity in the last 30 days, newest first.

        ``filters`` are :class:`~approvalflow.readmodels.StatusFilter` values
        (several at once: any of them); ``account_id`` limits the list to one
        client's documents. Pass a page's ``next_cursor`` as ``after`` for
        the next page.
        """
        return self._queries.recent(
            filters=filters, account_id=account_id, limit=limit, after=after
        )

    def approvals_tab(
        self,
        account_id: str,
        *,
        filters: Sequence[str] | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """A client's Approvals tab: its requested documents.

        Latest request first; each row has the document's name and file type,
        request date, uploader, description, status and rejected date.
        """
        return self._queries.approvals_tab(
            account_id, filters=filters, limit=limit, after=after
        )

    def accounts_pending(self) -> list[AccountPending]:
        """Client accounts with documents pending approval, and how many."""
        return self._queries.accounts_pending()

    def rejection_reasons(self, document_id: str) -> tuple[RejectionRow, ...]:
        """Every rejection of a document across its cycles ("show more info").

        Refused with :class:`ReasonsNotOfferedError` for an approved document.
        """
        return self._queries.rejection_reasons(document_id)

    def audit_trail(
        self,
        document_id: str,
        *,
        language: str | None = None,
        time_zone: str | None = None,
    ) -> tuple[AuditRow, ...]:
        """Every event of the document in order: when, who, what.

        Each row's ``summary`` is in English unless ``language`` names a
        catalog's language; times in it are as recorded (UTC) unless
        ``time_zone`` (IANA) is given.
        """
        return self._queries.audit_trail(
            document_id, language=language, time_zone=time_zone
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
        """Write the document's audit trail to ``out`` as JSON Lines or CSV.

        Returns the number of lines (records) written. For CSV, ``bom=True``
        starts the file with the byte-order mark Excel needs to read UTF-8,
        and ``delimiter=";"`` suits spreadsheets whose decimal mark is a
        comma; cells a spreadsheet would evaluate (``=...``) are neutralised.
        ``language`` and ``time_zone`` as for :meth:`audit_trail` (the
        ``summary`` column; ``at`` stays ISO 8601 UTC).
        """
        return self._queries.export_audit(
            document_id,
            out,
            fmt=fmt,
            bom=bom,
            delimiter=delimiter,
            language=language,
            time_zone=time_zone,
        )

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
        """Write the firm's audit log to ``out``, in log order; return the count.

        Every event of every document, or of one client account's documents
        (``account_id``: events of the cycles and activity recorded while
        the document belonged to it), recorded at or after ``since`` and
        before ``until`` (aware datetimes). Rows are those of
        :meth:`export_audit` plus ``position`` (in the log) and
        ``account_id``. Streamed: events are read and written in batches,
        so memory does not grow with the log. ``fmt``, ``bom``,
        ``delimiter``, ``language`` and ``time_zone`` as for
        :meth:`export_audit`.
        """
        return self._queries.export_audit_log(
            out,
            fmt=fmt,
            account_id=account_id,
            since=since,
            until=until,
            bom=bom,
            delimiter=delimiter,
            language=language,
            time_zone=time_zone,
        )

    def client_view(self, document_id: str) -> ClientView:
        """The latest request as the client sees it, read-only."""
        return self._queries.client_view(document_id)

    def document_as_of(self, document_id: str, at: datetime) -> DocumentRow | None:
        """The document's row (status, dates, ...) as it stood at ``at``."""
        return self._queries.document_as_of(document_id, at)

    def approvals_tab_as_of(
        self, account_id: str, at: datetime
    ) -> tuple[DocumentRow, ...]:
        """A client's Approvals tab as it stood at ``at``, from the events."""
        return self._queries.approvals_tab_as_of(account_id, at)

    def views_status(self) -> list[ViewPosition]:
        """Each read model's position against the head of the event log."""
        return self._queries.views_status()

    def verify_audit(self, expected_head: str | None = None) -> Report:
        """Check every stored event against the hashes recorded with it.

        Reports each event modified, deleted, inserted outside approvalflow,
        reordered or given another topic since it was recorded, and hashes
        edited to match (see :mod:`approvalflow.audit_verify`). The report's
        ``head`` is the chain's last hash: keep it elsewhere and pass it as
        ``expected_head`` later, so that rewriting the whole chain shows too.
        """
        return self._queries.verify_audit(expected_head)

    def export_audit_bundle(self, out: IO[str]) -> int:
        """Write every event and its hashes as one JSON bundle; return the count.

        The bundle is checked without approvalflow or the database by the
        standard-library module :mod:`approvalflow.audit_verify`
        (``python audit_verify.py bundle.json``).
        """
        return self._queries.export_audit_bundle(out)

    def document_of(self, originator_id: str) -> str | None:
        """The document id of a stored record (as findings name records)."""
        return self._queries.document_of(originator_id)

    def refresh_views(self) -> int:
        """Apply every event not yet in the read models; return how many.

        Commands write the read models in their own transaction, so this
        only finds work when events came by another path (an older release,
        a host writing through eventsourcing, inline writing switched off).
        """
        return self._log.refresh_views()

    def rebuild_views(self, progress: Progress | None = None) -> int:
        """Replay every event into fresh read models, then switch to them.

        Readers see the old read models until the switch. ``progress`` is told
        the running count. Returns the number of events replayed.
        """
        return self._log.rebuild_views(progress)

    def follow(self, interval: float = 1.0) -> ViewRunner:
        """Keep the read models following the log in a background thread."""
        return self._log.follow(interval)
