"""The ports a host plugs in: its clock, mailer, directory, portal and links.

Each port is a :class:`typing.Protocol`; any object with these methods fits.
The records the directory answers with are frozen attrs classes defined here,
so a host adapter and the library agree on one shape.
``approvalflow.testing`` ships in-memory implementations of every port.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol, runtime_checkable

import attrs

from approvalflow.domain.values import DocumentFacts

__all__ = [
    "AccountLink",
    "ClientAccount",
    "ClientUser",
    "Clock",
    "Directory",
    "Document",
    "FirmMember",
    "Links",
    "Mailer",
    "PortalNotifications",
]


@attrs.frozen
class FirmMember:
    """A member of the firm's staff."""

    user_id: str
    name: str
    email: str
    #: The *Approvals* notification preference (F7).
    approvals_notifications: bool = False
    #: Preferred language for emails (``"en"``, ``"fr"``); ``None``: the default.
    language: str | None = None


@attrs.frozen
class ClientUser:
    """A person on the client side who can be linked to client accounts."""

    user_id: str
    name: str
    email: str
    language: str | None = None


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
    #: True when the document sits in a folder the client can see (F1).
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
        """Return the firm members whose *Approvals* preference is on (F7)."""
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
    """Builds the URLs that emails point to."""

    def review_documents(self, account_id: str, document_id: str) -> str:
        """The "Review documents" URL for a client of the account."""
        ...
