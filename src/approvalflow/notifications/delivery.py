"""The delivery follower: recorded events in, emails and portal changes out.

It reads the event log in order, outside any command's transaction:

- ``Requested``, ``Resent``, ``Reminded``: an email to every user linked to
  the account whose *Notify* flag is on when the event is delivered;
  on request and resend, the account's portal task is put on top.
- ``Approved``, ``Rejected``: the portal task goes; every firm member with the
  *Approvals* preference gets an email and an Inbox+ note.
- ``Cancelled``: the portal task goes.
- With an event sink (:class:`~approvalflow.ports.EventSink`), every event
  whose published type it accepts is published too, after the messages to
  people. It shares the queue: an outage of the sink holds later events'
  deliveries as an SMTP outage does, so the order holds for both.

An event's deliveries are planned once, then each is sent and recorded. A
temporary failure (server down) stops the follower at that event and retries
it with growing pauses: nothing after it is sent first, nothing is lost. A
permanent refusal (5xx) is recorded and skipped. Once every delivery of an
event is done, a ``Notified`` event records who was told, and the follower
moves on.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import attrs
from eventsourcing.application import Repository
from eventsourcing.persistence import ApplicationRecorder, Mapper

from approvalflow import i18n
from approvalflow._observe import delivery_done
from approvalflow.domain.aggregate import ApprovalRequest
from approvalflow.domain.errors import ConfigurationError
from approvalflow.domain.values import DeliveryRecord, NotificationReport
from approvalflow.follower import read_events
from approvalflow.notifications.emails import EmailComposer, Recipient
from approvalflow.notifications.outbox import DeliveryStore, PlannedDelivery
from approvalflow.notifications.published import EVENT_TYPES, published_event
from approvalflow.ports import (
    Clock,
    Directory,
    EventSink,
    FirmDocumentLinks,
    Links,
    Mailer,
    PermanentDeliveryError,
    PortalNotifications,
    PreferenceLinks,
    TemporaryDeliveryError,
)

__all__ = [
    "DEFAULT_LEASE",
    "DeliveryPass",
    "DeliverySource",
    "Notifier",
    "message_kinds",
]


class DeliverySource(Protocol):
    """What the follower needs of the application (``Approvals`` is one).

    A protocol rather than the application class, so this module does not
    import the application that builds notifiers.
    """

    @property
    def recorder(self) -> ApplicationRecorder:
        """Where the events are read from."""
        ...

    @property
    def mapper(self) -> Mapper[Any]:
        """How stored events become domain events."""
        ...

    @property
    def repository(self) -> Repository[Any]:
        """Aggregates as they were after an event."""
        ...

    @property
    def directory(self) -> Directory:
        """Who to tell, and how to reach them."""
        ...

    @property
    def clock(self) -> Clock:
        """Business time, for the records of who was told."""
        ...

    def record_notified(self, record_id: UUID, report: NotificationReport) -> None:
        """Record who was told about an event."""
        ...


#: How long a worker's delivery lease lasts unless renewed.
DEFAULT_LEASE = timedelta(minutes=2)

E = ApprovalRequest
_CLIENT_EMAILS: dict[type, str] = {
    E.Requested: "request",
    E.Resent: "resend",
    E.Reminded: "reminder",
}
_DECISIONS: tuple[type, ...] = (E.Approved, E.Rejected)

#: Event classes that lead to deliveries.
HANDLES: frozenset[type] = frozenset({*_CLIENT_EMAILS, *_DECISIONS, E.Cancelled})
#: Event classes that never do (a test checks every class is in one set).
IGNORES: frozenset[type] = frozenset(
    {E.Created, E.LockedToInvoice, E.InvoicePaid, E.ActivityReported, E.Notified}
)


def message_kinds(kind: type) -> tuple[tuple[str, str], ...]:
    """The ``(channel, kind)`` of each message an event of class ``kind`` leads to.

    As :class:`Notifier` plans them (a test holds the two together): portal
    and Inbox+ messages only where a portal is wired, ``sink`` only where an
    event sink accepts the published type; emails go to every recipient the
    directory names when the event is delivered, so one entry may be many
    emails.
    """
    found: list[tuple[str, str]] = []
    if kind in _CLIENT_EMAILS:
        found.append(("email", _CLIENT_EMAILS[kind]))
        if kind is not E.Reminded:
            found.append(("portal", "put_task"))
    elif kind in HANDLES:
        found.append(("portal", "remove_task"))
        if kind in _DECISIONS:
            found += [("email", "decision"), ("inbox", "decision")]
    if kind in EVENT_TYPES:
        found.append(("sink", EVENT_TYPES[kind]))
    return tuple(found)


@attrs.frozen
class DeliveryPass:
    """What one delivery pass did."""

    events: int = 0
    sent: int = 0
    refused: int = 0
    #: True when a temporary failure holds the follower at an event.
    blocked: bool = False
    #: True when another worker holds the delivery lease.
    leased_elsewhere: bool = False


class Notifier:
    """Delivers notifications for one application (see the module doc).

    ``worker`` names this worker in the lease (host name and a random part by
    default). ``lease`` must comfortably exceed the time one message can
    take (the mailer's timeout); it runs on ``lease_clock``, the machine's
    clock by default (not the Clock port: leases measure real time between
    processes; ``connect()`` wires the machine's clock). Failed deliveries
    wait ``backoff(attempts)``
    before the next try: 30 s, doubling, at most 30 minutes by default.
    """

    def __init__(
        self,
        app: DeliverySource,
        *,
        store: DeliveryStore,
        mailer: Mailer,
        composer: EmailComposer,
        links: Links,
        portal: PortalNotifications | None = None,
        worker: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        backoff: Callable[[int], timedelta] | None = None,
        lease_clock: Clock,
        event_sink: EventSink | None = None,
    ) -> None:
        if mailer is None or links is None:
            msg = "deliveries need a mailer and a links port"
            raise ConfigurationError(msg)
        self.app = app
        self.store = store
        self.mailer = mailer
        self.composer = composer
        self.links = links
        self.portal = portal
        self.event_sink = event_sink
        self.worker = worker or f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.backoff = backoff or _default_backoff
        # Leases are about real elapsed time between worker processes, not
        # business time: the wiring gives the machine's clock unless told.
        self.lease_clock: Clock = lease_clock
        self._state: tuple[tuple[Any, int], ApprovalRequest] | None = None

    # -- the pass ----------------------------------------------------------------

    def run_once(
        self, max_events: int = 200, should_stop: Callable[[], bool] | None = None
    ) -> DeliveryPass:
        """Deliver what the log holds beyond the position, up to ``max_events``.

        ``should_stop`` is asked between events: a worker told to stop ends
        the pass after the event in hand, losing nothing.
        """
        if not self._renew():
            return DeliveryPass(leased_elsewhere=True)
        retried = self._retry_requested()
        position = self.store.position()
        events = sent = refused = 0
        for notification_id, event in read_events(self.app, position, max_events):
            if should_stop is not None and should_stop():
                break
            outcome = self._deliver(notification_id, event)
            sent += outcome.sent
            refused += outcome.refused
            if outcome.blocked or outcome.leased_elsewhere:
                return attrs.evolve(outcome, events=events, sent=sent, refused=refused)
            if not self.store.advance(position, notification_id):
                break  # another worker took over meanwhile; it carries on
            position = notification_id
            events += 1
        return DeliveryPass(
            events=events, sent=sent + retried.sent, refused=refused + retried.refused
        )

    def _retry_requested(self) -> DeliveryPass:
        """Send the deliveries an operator asked to try again.

        They are behind the position (their events were delivered, these
        refused): each goes to the recipient's address as the directory has
        it now, once; a refusal is recorded again, a temporary failure
        leaves it for the next pass. They never hold the queue.
        """
        sent = refused = 0
        for delivery in self.store.retries():
            found = read_events(self.app, delivery.notification_id - 1, 1)
            if not found or found[0][0] != delivery.notification_id:
                continue
            now = self.app.clock.now()
            current = self._current_recipient(delivery)
            try:
                message_id = self._send(current, found[0][1], now)
            except Exception as exc:
                if isinstance(exc, PermanentDeliveryError) or not _temporary(exc):
                    # Refused again, or failing on its own fault again: it
                    # stays parked; the operator sees why.
                    error = (
                        described(exc)
                        if isinstance(exc, PermanentDeliveryError)
                        else f"{type(exc).__name__}: {described(exc)}"
                    )
                    self.store.update(
                        attrs.evolve(
                            current,
                            status="refused",
                            attempts=delivery.attempts + 1,
                            done_at=now,
                            last_error=error,
                        )
                    )
                    self._report("refused", current, found[0][1], error=error)
                    refused += 1
                    continue
                error = f"{type(exc).__name__}: {described(exc)}"
                self.store.update(
                    attrs.evolve(
                        current, attempts=delivery.attempts + 1, last_error=error
                    )
                )
                self._report("deferred", current, found[0][1], error=error)
                break  # the server is down: the next pass tries again
            else:
                self.store.update(
                    attrs.evolve(
                        current,
                        status="sent",
                        attempts=delivery.attempts + 1,
                        done_at=now,
                        last_error=None,
                    )
                )
                self._report("sent", current, found[0][1], message_id=message_id)
                sent += 1
        return DeliveryPass(sent=sent, refused=refused)

    def _current_recipient(self, delivery: PlannedDelivery) -> PlannedDelivery:
        """The delivery with its person's address as the directory has it now."""
        if delivery.channel != "email":
            return delivery
        directory = self.app.directory
        person = directory.client_user(delivery.recipient_id) or directory.firm_member(
            delivery.recipient_id
        )
        if person is None:
            return delivery
        return attrs.evolve(
            delivery,
            recipient_name=person.name,
            address=person.email,
            language=person.language,
        )

    def stop(self) -> None:
        """Give the lease up so another worker can take over at once."""
        self.store.release(self.worker)

    def heartbeat(self) -> bool:
        """Renew the delivery lease if this worker holds it; ``True`` if so.

        Never takes a lease another worker holds or one nobody holds: only a
        delivery pass takes it.
        """
        now = self.lease_clock.now()
        return self.store.renew(self.worker, now + self.lease)

    def _renew(self) -> bool:
        now = self.lease_clock.now()
        return self.store.acquire(self.worker, now, now + self.lease)

    def _deliver(self, notification_id: int, event: Any) -> DeliveryPass:
        plan = self.store.planned(notification_id)
        if plan is None:
            plan = self._plan(notification_id, event)
            if not plan:
                return DeliveryPass()
            self.store.plan(plan)
            plan = self.store.planned(notification_id) or []
        sent = refused = 0
        for planned in plan:
            if planned.status != "pending":
                continue
            # Tried before and failed for a while: the address as the
            # directory has it now (it may have been corrected meanwhile).
            delivery = self._current_recipient(planned) if planned.attempts else planned
            now = self.app.clock.now()
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
                return DeliveryPass(sent=sent, refused=refused, blocked=True)
            if not self._renew():
                return DeliveryPass(sent=sent, refused=refused, leased_elsewhere=True)
            try:
                message_id = self._send(delivery, event, now)
            except PermanentDeliveryError as exc:
                self.store.update(
                    attrs.evolve(
                        delivery,
                        status="refused",
                        attempts=delivery.attempts + 1,
                        done_at=now,
                        last_error=described(exc),
                    )
                )
                self._report("refused", delivery, event, error=described(exc))
                refused += 1
            except Exception as exc:
                attempts = delivery.attempts + 1
                error = f"{type(exc).__name__}: {described(exc)}"
                if not _temporary(exc) and attempts >= UNEXPECTED_TRIES:
                    # Not a delivery error the port promises but a fault of
                    # its own (a bug, bad data for one recipient): parked as
                    # refused so the rest flows; an operator retries it.
                    parked = (
                        f"{error} (not a delivery error of the port: parked after "
                        f"{attempts} tries; fix the cause, then run approvalflow "
                        f"deliveries retry --event {delivery.notification_id})"
                    )
                    self.store.update(
                        attrs.evolve(
                            delivery,
                            status="refused",
                            attempts=attempts,
                            done_at=now,
                            last_error=parked,
                        )
                    )
                    self._report("refused", delivery, event, error=parked)
                    refused += 1
                    continue
                self.store.update(
                    attrs.evolve(
                        delivery,
                        attempts=attempts,
                        next_attempt_at=now + self.backoff(attempts),
                        last_error=error,
                    )
                )
                self._report("deferred", delivery, event, error=error)
                return DeliveryPass(sent=sent, refused=refused, blocked=True)
            else:
                self.store.update(
                    attrs.evolve(
                        delivery,
                        status="sent",
                        attempts=delivery.attempts + 1,
                        done_at=now,
                    )
                )
                self._report("sent", delivery, event, message_id=message_id)
                sent += 1
        self._record(event, self.store.planned(notification_id) or [])
        return DeliveryPass(sent=sent, refused=refused)

    # -- planning ----------------------------------------------------------------

    def _plan(self, notification_id: int, event: Any) -> list[PlannedDelivery]:
        kind = type(event)
        planned = self._plan_people(event) if kind in HANDLES else []
        sink = self.event_sink
        if sink is not None and kind in EVENT_TYPES and sink.accepts(EVENT_TYPES[kind]):
            planned.append(("sink", EVENT_TYPES[kind], "event_sink", "", "", None))
        return [
            PlannedDelivery(notification_id, seq, *fields)
            for seq, fields in enumerate(planned)
        ]

    def _plan_people(
        self, event: Any
    ) -> list[tuple[str, str, str, str, str, str | None]]:
        kind = type(event)
        state = self._state_at(event)
        cycle = state.cycles[event.cycle - 1]
        account_id = cycle.document.account_id
        directory = self.app.directory
        planned: list[tuple[str, str, str, str, str, str | None]] = []
        if kind in _CLIENT_EMAILS:
            for link in directory.account_links(account_id):
                user = directory.client_user(link.user_id)
                if link.notify and user is not None:
                    planned.append(
                        ("email", _CLIENT_EMAILS[kind], user.user_id, user.name,
                         user.email, user.language)
                    )  # fmt: skip
            if self.portal is not None and kind is not E.Reminded:
                planned.append(
                    ("portal", "put_task", account_id, account_id, account_id, None)
                )
        else:
            if self.portal is not None:
                planned.append(
                    ("portal", "remove_task", account_id, account_id, account_id, None)
                )
            if kind in _DECISIONS:
                for member in directory.approvals_subscribers():
                    planned.append(
                        ("email", "decision", member.user_id, member.name,
                         member.email, member.language)
                    )  # fmt: skip
                    if self.portal is not None:
                        planned.append(
                            ("inbox", "decision", member.user_id, member.name,
                             member.user_id, member.language)
                        )  # fmt: skip
        return planned

    def _state_at(self, event: Any) -> ApprovalRequest:
        """The aggregate as it was right after ``event``."""
        key = (event.originator_id, event.originator_version)
        # Planning and every delivery of an event need the same state: replay
        # it once per event, not once per recipient.
        if self._state is None or self._state[0] != key:
            state: object = self.app.repository.get(key[0], version=key[1])
            assert isinstance(state, ApprovalRequest)
            self._state = (key, state)
        return self._state[1]

    # -- sending -----------------------------------------------------------------

    def _send(self, delivery: PlannedDelivery, event: Any, now: datetime) -> str | None:
        """Send one delivery; an email's Message-ID, else ``None``."""
        state = self._state_at(event)
        if delivery.channel == "sink":
            assert self.event_sink is not None  # planned only with one
            self.event_sink.publish(published_event(event, state.document_id))
            return None
        cycle = state.cycles[event.cycle - 1]
        document = cycle.document
        if delivery.channel == "portal":
            assert self.portal is not None
            if delivery.kind == "put_task":
                self.portal.put_task(
                    document.account_id, document.document_id, document.name
                )
            else:
                self.portal.remove_task(document.account_id, document.document_id)
            return None
        approved = type(event) is E.Approved
        if delivery.channel == "inbox":
            assert self.portal is not None  # inbox notes are planned only with one
            # In the firm member's language, as their decision email.
            words = i18n.words(
                self.composer.language_for(
                    Recipient(delivery.recipient_id, "", "", delivery.language)
                ),
                locale_dirs=self.composer.locale_dirs,
            )
            note = (
                i18n.N_("%(actor)s approved %(document)s")
                if approved
                else i18n.N_("%(actor)s rejected %(document)s")
            )
            self.portal.notify_inbox(
                delivery.recipient_id,
                document.document_id,
                words.gettext(note, actor=event.by.name, document=document.name),
            )
            return None
        context: dict[str, Any] = {
            "document_id": document.document_id,
            "document_name": document.name,
            "file_type": document.file_type,
            "link": self.links.review_documents(
                document.account_id, document.document_id
            ),
        }
        if delivery.kind == "request":
            context["message"] = event.message
        elif delivery.kind == "resend":
            context["message"] = event.message or cycle.message
        elif delivery.kind == "reminder":
            context["message"] = cycle.latest_message
            context["number"] = event.number
            context["count"] = (
                cycle.reminders.count if cycle.reminders else event.number
            )
        else:
            account = self.app.directory.account(document.account_id)
            rejection = getattr(event, "rejection", None)
            context.update(
                client_name=event.by.name,
                account_name=account.name if account else document.account_id,
                approved=approved,
                reasons=list(rejection.reasons) if rejection else [],
                comment=rejection.comment if rejection else event.comment,
            )
            context["decided_at"] = event.timestamp
            # Optional on the Links port: hosts without it get no button.
            if isinstance(self.links, FirmDocumentLinks):
                context["firm_link"] = self.links.firm_document(
                    document.account_id, document.document_id
                )
        if isinstance(self.links, PreferenceLinks):
            context["preferences_link"] = self.links.email_preferences(
                delivery.recipient_id
            )
        recipient = Recipient(
            delivery.recipient_id,
            delivery.recipient_name,
            delivery.address,
            delivery.language,
            self._time_zone(delivery),
        )
        key = f"{event.originator_id.hex}:{event.originator_version}"
        message = self.composer.compose(
            delivery.kind, recipient, context, key=key, at=now
        )
        self.mailer.send(message)
        return str(message["Message-ID"])

    def _time_zone(self, delivery: PlannedDelivery) -> str | None:
        """The recipient's time zone, read from the directory when sending.

        Not kept with the planned delivery: a zone only changes how a time
        is written, so the current one is the right one.
        """
        directory = self.app.directory
        person: object = (
            directory.firm_member(delivery.recipient_id)
            if delivery.kind == "decision"
            else directory.client_user(delivery.recipient_id)
        )
        zone = getattr(person, "time_zone", None)
        return zone if isinstance(zone, str) else None

    def _report(
        self,
        outcome: str,
        delivery: PlannedDelivery,
        event: Any,
        *,
        message_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Log and count what became of one delivery (see ``_observe``)."""
        try:
            document_id: str | None = self._state_at(event).document_id
        except Exception:  # a log line must never fail a delivery
            document_id = None
        delivery_done(
            outcome,
            channel=delivery.channel,
            kind=delivery.kind,
            event=delivery.notification_id,
            document_id=document_id,
            recipient=delivery.recipient_id,
            address=delivery.address,
            attempt=delivery.attempts + 1,
            message_id=message_id,
            error=error,
        )

    def _record(self, event: Any, plan: list[PlannedDelivery]) -> None:
        # The record says which people were told; what went to the event
        # sink is in the delivery bookkeeping, not in the audit trail (else
        # every activity event would gain a Notified event).
        plan = [d for d in plan if d.channel != "sink"]
        if not plan:
            return
        report = NotificationReport(
            about_version=event.originator_version,
            about_event=type(event).__name__,
            deliveries=tuple(
                DeliveryRecord(
                    channel=d.channel,
                    kind=d.kind,
                    recipient_id=d.recipient_id,
                    recipient_name=d.recipient_name,
                    address=d.address,
                    outcome=d.status,
                    detail=d.last_error if d.status == "refused" else None,
                )
                for d in plan
            ),
        )
        self.app.record_notified(event.originator_id, report)


#: Tries a delivery gets when the port fails with an error it does not
#: promise (neither a delivery error nor a network one) before it is parked.
UNEXPECTED_TRIES = 3


def _temporary(exc: BaseException) -> bool:
    """Whether a failure may pass by itself: the port says so, or the network."""
    return isinstance(exc, TemporaryDeliveryError | OSError | TimeoutError)


def described(exc: BaseException) -> str:
    """``str(exc)``, or what can be said of it when that fails too."""
    try:
        return str(exc)
    except Exception:  # an exception whose __str__ raises must not escape
        try:
            return repr(exc)
        except Exception:
            return f"{type(exc).__name__} (its message could not be read)"


def _default_backoff(attempts: int) -> timedelta:
    doubling = 1 << min(max(attempts - 1, 0), 16)
    return min(timedelta(seconds=30) * doubling, timedelta(minutes=30))
