"""The ports a host plugs in: clock, mailer, directory, portal, links, event sink.

Each port is a :class:`typing.Protocol`; any object with these methods fits,
and :func:`check_port` says which method is missing when one does not. The
records the directory answers with are frozen attrs classes defined here, so
a host adapter and the library agree on one shape. The delivery ports
(:class:`Mailer`, :class:`EventSink`) share one error contract:
:class:`TemporaryDeliveryError` (try again later) and
:class:`PermanentDeliveryError` (never). ``approvalflow.testing`` ships
in-memory implementations of every port, and ``approvalflow.testing.contracts``
the test suites an adapter passes.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol, runtime_checkable

import attrs

from approvalflow.domain.errors import ApprovalFlowError, ConfigurationError
from approvalflow.domain.values import DocumentFacts

__all__ = [
    "AccountLink",
    "ClientAccount",
    "ClientUser",
    "Clock",
    "DeliveryError",
    "Directory",
    "Document",
    "EventSink",
    "FirmDocumentLinks",
    "FirmMember",
    "Links",
    "Mailer",
    "PermanentDeliveryError",
    "PortalNotifications",
    "PreferenceLinks",
    "PublishedEvent",
    "TemporaryDeliveryError",
    "check_port",
]


class DeliveryError(ApprovalFlowError):
    """A message could not be handed over (raised by a Mailer or EventSink)."""


class TemporaryDeliveryError(DeliveryError):
    """Handing over failed for now: retry later.

    The receiver was unreachable or said "not now" (SMTP 4xx; HTTP 408, 429,
    5xx).

    Delivery stops at the event and tries it again after a pause; nothing
    after it is sent first.
    """


class PermanentDeliveryError(DeliveryError):
    """The receiver refused the message for good: never retry.

    SMTP 5xx for a recipient; HTTP 4xx other than 408 and 429.

    Delivery records the refusal (it shows in the audit trail) and moves on.
    """


@attrs.frozen
class FirmMember:
    """A member of the firm's staff."""

    user_id: str
    name: str
    email: str
    #: The *Approvals* notification preference.
    approvals_notifications: bool = False
    #: Preferred language for emails and Inbox+ notes (``"en"``, ``"fr"``, a
    #: catalog's language); ``None``: the composer's default.
    language: str | None = None
    #: The member's IANA time zone (``"Europe/Paris"``), for the times their
    #: emails show; ``None``: UTC.
    time_zone: str | None = None


@attrs.frozen
class ClientUser:
    """A person on the client side who can be linked to client accounts."""

    user_id: str
    name: str
    email: str
    #: Preferred language for emails (a catalog's language); ``None``: the default.
    language: str | None = None
    #: The person's IANA time zone (e.g. ``"Europe/London"``), if known: their
    #: reminders fall due in their hours when the account's notified users
    #: agree, and their emails show times in it.
    time_zone: str | None = None


@attrs.frozen
class AccountLink:
    """A client user linked to an account, with the account's *Notify* flag."""

    user_id: str
    notify: bool = True


@attrs.frozen
class ClientAccount:
    """A client of the firm."""

    account_id: str
    name: str


@attrs.frozen
class Document:
    """A document as the host knows it now, and whether the client can see it."""

    facts: DocumentFacts
    #: True when the document sits in a folder the client can see.
    client_visible: bool


@runtime_checkable
class Clock(Protocol):
    """The only source of time for approvalflow."""

    def now(self) -> datetime:
        """Return the current time as a timezone-aware UTC datetime."""
        ...


@runtime_checkable
class Directory(Protocol):
    """What approvalflow needs to know about the host's people and documents."""

    def document(self, document_id: str) -> Document | None:
        """Return the document, or ``None`` if the host does not know it."""
        ...

    def account(self, account_id: str) -> ClientAccount | None:
        """Return the client account, or ``None`` if unknown."""
        ...

    def firm_member(self, user_id: str) -> FirmMember | None:
        """Return the firm member with this id, or ``None`` if not staff."""
        ...

    def client_user(self, user_id: str) -> ClientUser | None:
        """Return the client user with this id, or ``None`` if unknown."""
        ...

    def account_links(self, account_id: str) -> Sequence[AccountLink]:
        """Return the users linked to the account, with their Notify flags."""
        ...

    def approvals_subscribers(self) -> Sequence[FirmMember]:
        """Return the firm members whose *Approvals* preference is on."""
        ...


@runtime_checkable
class Mailer(Protocol):
    """Sends one email message; raises if it could not be handed over."""

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` (its ``To``, ``From`` and ``Message-ID`` are set)."""
        ...


@runtime_checkable
class PortalNotifications(Protocol):
    """The client's task list (*Pending action*) and the firm's *Inbox+*."""

    def put_task(self, account_id: str, document_id: str, title: str) -> None:
        """Create the account's task for the document, or move it to the top."""
        ...

    def remove_task(self, account_id: str, document_id: str) -> None:
        """Remove the account's task for the document, if there is one."""
        ...

    def notify_inbox(self, user_id: str, document_id: str, text: str) -> None:
        """Add an Inbox+ notification for a firm member."""
        ...


@runtime_checkable
class Links(Protocol):
    """Builds the URLs that emails point to.

    Only :meth:`review_documents` is required. A links object may also have
    the methods of :class:`FirmDocumentLinks` and :class:`PreferenceLinks`;
    emails use them when they are there, and :func:`check_port` does not ask
    for them, so adapters written before they existed keep working.
    """

    def review_documents(self, account_id: str, document_id: str) -> str:
        """The "Review documents" URL for a client of the account."""
        ...


@runtime_checkable
class FirmDocumentLinks(Protocol):
    """Optional on a :class:`Links`: the document in the firm's own interface.

    With it, the email telling the firm about a decision has a "View
    document" button.
    """

    def firm_document(self, account_id: str, document_id: str) -> str | None:
        """The document's URL for firm members, or ``None`` for no button."""
        ...


@runtime_checkable
class PreferenceLinks(Protocol):
    """Optional on a :class:`Links`: where a person chooses which emails they get.

    With it, every email names the page in its footer and in a
    ``List-Unsubscribe`` header; without it, neither is there (these are
    transactional emails, not a mailing list).
    """

    def email_preferences(self, user_id: str) -> str | None:
        """The preferences page of a client user or firm member, or ``None``."""
        ...


@attrs.frozen
class PublishedEvent:
    """One recorded event as the outside world sees it (see :class:`EventSink`)."""

    #: Stable across retries and processes: receivers deduplicate on it.
    id: str
    #: ``"approval.requested"``, ``"approval.approved"``, ... (see
    #: :data:`approvalflow.EVENT_TYPES`).
    type: str
    #: When the event happened (aware UTC).
    occurred_at: datetime
    document_id: str
    #: The event's fields, JSON-ready (strings, numbers, booleans, lists, maps).
    data: Mapping[str, Any]


@runtime_checkable
class EventSink(Protocol):
    """Publishes recorded events to another system (a webhook, a queue).

    The delivery follower calls :meth:`publish` once per accepted event, in
    the order recorded, and again after a :class:`TemporaryDeliveryError`
    (with growing pauses; later events wait). A
    :class:`PermanentDeliveryError` is recorded and the event skipped.
    """

    def accepts(self, event_type: str) -> bool:
        """Whether events of this type are published."""
        ...

    def publish(self, event: PublishedEvent) -> None:
        """Hand the event over; raise a :class:`DeliveryError` if it was not."""
        ...


#: Every port, by the keyword :func:`approvalflow.connect` takes it under.
PORTS: dict[str, type[Any]] = {
    "clock": Clock,
    "directory": Directory,
    "mailer": Mailer,
    "portal": PortalNotifications,
    "links": Links,
    "event_sink": EventSink,
}


def check_port(name: str, port: type[Any], value: object) -> None:
    """Raise :class:`ConfigurationError` unless ``value`` has ``port``'s methods.

    ``name`` is the keyword it was given under. Called where ports are wired,
    so a wrong object fails at start-up rather than at its first use.
    """
    wanted = [
        member
        for member, attribute in vars(port).items()
        if not member.startswith("_") and inspect.isfunction(attribute)
    ]
    missing = [m for m in wanted if not callable(getattr(value, m, None))]
    if missing:
        what = type(value).__name__
        msg = (
            f"{name}= is not a {port.__name__}: {what} lacks "
            + ", ".join(f"{m}()" for m in missing)
            + f"; a {port.__name__} has "
            + ", ".join(f"{m}()" for m in wanted)
        )
        raise ConfigurationError(msg)
