"""In-memory ports for tests: a controllable clock, a recording mailer, ...

These are the fakes approvalflow's own tests use; hosts use them in theirs::

    from approvalflow.testing import ControllableClock, InMemoryDirectory
    clock = ControllableClock()
    directory = InMemoryDirectory.from_data({...})
    with approvalflow.connect("memory://", clock=clock, directory=directory) as app:
        ...

They keep state in memory only and are not thread-safe. The test suites
every adapter passes are in :mod:`approvalflow.testing.contracts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import attrs
import cattrs

from approvalflow.domain.errors import ConfigurationError, InvalidInputError
from approvalflow.domain.validation import check_utc
from approvalflow.domain.values import DocumentFacts
from approvalflow.links import PortalLinks
from approvalflow.notifications.emails import EmailComposer
from approvalflow.ports import (
    AccountLink,
    ClientAccount,
    ClientUser,
    DeliveryError,
    Document,
    FirmMember,
    PublishedEvent,
)

__all__ = [
    "ControllableClock",
    "FixedComposer",
    "InMemoryDirectory",
    "PortalTask",
    "RecordingMailer",
    "RecordingPortal",
    "RecordingSink",
    "StaticLinks",
]


class ControllableClock:
    """A clock that only moves when told to; it never goes backwards."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = check_utc(
            "start", start if start is not None else datetime(2026, 1, 5, 9, tzinfo=UTC)
        )

    def now(self) -> datetime:
        """The clock's current time (UTC)."""
        return self._now

    def advance(self, by: timedelta | None = None, **units: float) -> datetime:
        """Move forward by ``by`` or by ``timedelta(**units)``; return the new time."""
        step = by if by is not None else timedelta(**units)
        if step < timedelta(0):
            raise InvalidInputError(
                "by", f"is negative ({step})", "a zero or positive duration"
            )
        self._now += step
        return self._now

    def set(self, to: datetime) -> None:
        """Jump to ``to``, which must not be earlier than now."""
        to = check_utc("to", to)
        if to < self._now:
            raise InvalidInputError(
                "to", f"{to.isoformat()} is before now", "a time at or after now"
            )
        self._now = to


class RecordingMailer:
    """A mailer that keeps every message it is given, in order.

    Set :attr:`fail_with` to an error (a :class:`TemporaryDeliveryError`, a
    :class:`PermanentDeliveryError`) to make every send raise it instead, as
    an unreachable or refusing server would.
    """

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        #: Raised by :meth:`send` instead of recording, when set.
        self.fail_with: DeliveryError | None = None

    def send(self, message: EmailMessage) -> None:
        """Record the message (or raise :attr:`fail_with`)."""
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message)


class RecordingSink:
    """An event sink that keeps every published event, in order.

    ``events`` limits it to those types (all by default); :attr:`fail_with`
    makes :meth:`publish` raise instead, as with :class:`RecordingMailer`.
    """

    def __init__(self, events: Sequence[str] | None = None) -> None:
        self.published: list[PublishedEvent] = []
        self.events = None if events is None else frozenset(events)
        #: Raised by :meth:`publish` instead of recording, when set.
        self.fail_with: DeliveryError | None = None

    def accepts(self, event_type: str) -> bool:
        """Whether the type is one of ``events`` (any type when not given)."""
        return self.events is None or event_type in self.events

    def publish(self, event: PublishedEvent) -> None:
        """Record the event (or raise :attr:`fail_with`)."""
        if self.fail_with is not None:
            raise self.fail_with
        self.published.append(event)


@attrs.frozen
class PortalTask:
    """A task in a client account's *Pending action* list."""

    account_id: str
    document_id: str
    title: str


class RecordingPortal:
    """Client task lists (newest on top) and firm Inbox+ lists, in memory."""

    def __init__(self) -> None:
        self.tasks: dict[str, list[PortalTask]] = {}
        self.inbox: dict[str, list[tuple[str, str]]] = {}

    def put_task(self, account_id: str, document_id: str, title: str) -> None:
        """Create the task, or move it to the top of the account's list."""
        self.remove_task(account_id, document_id)
        self.tasks.setdefault(account_id, []).insert(
            0, PortalTask(account_id, document_id, title)
        )

    def remove_task(self, account_id: str, document_id: str) -> None:
        """Remove the account's task for the document, if any."""
        self.tasks[account_id] = [
            t for t in self.tasks.get(account_id, []) if t.document_id != document_id
        ]

    def notify_inbox(self, user_id: str, document_id: str, text: str) -> None:
        """Append an Inbox+ notification for the firm member."""
        self.inbox.setdefault(user_id, []).append((document_id, text))


class StaticLinks(PortalLinks):
    """Links under one base URL, as :class:`approvalflow.links.PortalLinks`.

    For tests, the base URL defaults to one under ``.test``, a top-level
    domain reserved for testing (the library's own links have no default).
    ``firm_url`` and ``preferences_url`` are off unless given, as there.
    """

    def __init__(
        self,
        base_url: str = "https://portal.firm.test",
        *,
        firm_url: str | None = None,
        preferences_url: str | None = None,
    ) -> None:
        super().__init__(base_url, firm_url=firm_url, preferences_url=preferences_url)


class FixedComposer(EmailComposer):
    """An :class:`~approvalflow.EmailComposer` with a test sender and firm name.

    ``approvals@firm.test`` signing "Test firm" unless given (``.test`` is
    reserved for testing): for a host's tests, where the real composer's
    required sender and firm name do not matter.
    """

    def __init__(
        self,
        sender: str = "approvals@firm.test",
        firm_name: str = "Test firm",
        **options: Any,
    ) -> None:
        super().__init__(sender=sender, firm_name=firm_name, **options)


@attrs.frozen
class _DirectoryData:
    firm_members: Sequence[FirmMember] = ()
    client_users: Sequence[ClientUser] = ()
    accounts: Sequence[ClientAccount] = ()
    links: Mapping[str, Sequence[AccountLink]] = attrs.field(factory=dict)
    documents: Sequence[Document] = ()


class InMemoryDirectory:
    """A directory built from plain data, changeable in tests.

    :meth:`from_data` takes the shape a host would write in a fixture::

        {"firm_members": [{"user_id": "f1", "name": "Ann", "email": "a@x"}],
         "client_users": [{"user_id": "c1", "name": "Bob", "email": "b@y"}],
         "accounts": [{"account_id": "acme", "name": "ACME"}],
         "links": {"acme": [{"user_id": "c1", "notify": True}]},
         "documents": [{"facts": {"document_id": "d1", "account_id": "acme",
                                  "name": "2025 return", "file_type": "pdf",
                                  "uploaded_by": "Ann"},
                        "client_visible": True}]}
    """

    def __init__(
        self,
        *,
        firm_members: Sequence[FirmMember] = (),
        client_users: Sequence[ClientUser] = (),
        accounts: Sequence[ClientAccount] = (),
        links: Mapping[str, Sequence[AccountLink]] | None = None,
        documents: Sequence[Document] = (),
    ) -> None:
        self.firm_members = {m.user_id: m for m in firm_members}
        self.client_users = {u.user_id: u for u in client_users}
        self.accounts = {a.account_id: a for a in accounts}
        self.links: dict[str, list[AccountLink]] = {
            k: list(v) for k, v in (links or {}).items()
        }
        self.documents = {d.facts.document_id: d for d in documents}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> InMemoryDirectory:
        """Build a directory from plain dicts and lists (see the class doc)."""
        try:
            parsed = cattrs.structure(dict(data), _DirectoryData)
        except (cattrs.BaseValidationError, TypeError, KeyError) as exc:
            msg = f"directory data is malformed: {exc}"
            raise ConfigurationError(msg) from exc
        return cls(
            firm_members=parsed.firm_members,
            client_users=parsed.client_users,
            accounts=parsed.accounts,
            links=parsed.links,
            documents=parsed.documents,
        )

    # -- the Directory port ----------------------------------------------

    def document(self, document_id: str) -> Document | None:
        """The document, or ``None``."""
        return self.documents.get(document_id)

    def account(self, account_id: str) -> ClientAccount | None:
        """The account, or ``None``."""
        return self.accounts.get(account_id)

    def firm_member(self, user_id: str) -> FirmMember | None:
        """The firm member, or ``None``."""
        return self.firm_members.get(user_id)

    def client_user(self, user_id: str) -> ClientUser | None:
        """The client user, or ``None``."""
        return self.client_users.get(user_id)

    def account_links(self, account_id: str) -> Sequence[AccountLink]:
        """The account's linked users with their Notify flags."""
        return tuple(self.links.get(account_id, ()))

    def approvals_subscribers(self) -> Sequence[FirmMember]:
        """Firm members with the Approvals preference on."""
        return tuple(m for m in self.firm_members.values() if m.approvals_notifications)

    # -- changes a test makes --------------------------------------------

    def add_document(
        self, facts: DocumentFacts, *, client_visible: bool = True
    ) -> None:
        """Add or replace a document."""
        self.documents[facts.document_id] = Document(facts, client_visible)

    def link(self, account_id: str, user_id: str, *, notify: bool = True) -> None:
        """Link a client user to an account (or change the Notify flag)."""
        current = [x for x in self.links.get(account_id, []) if x.user_id != user_id]
        self.links[account_id] = [*current, AccountLink(user_id, notify)]

    def unlink(self, account_id: str, user_id: str) -> None:
        """Remove a client user's link to an account."""
        self.links[account_id] = [
            x for x in self.links.get(account_id, []) if x.user_id != user_id
        ]
