"""The test suites an adapter passes: one per port, and one for storage.

Each suite is a plain pytest class. Subclass it in a test module under a
name pytest collects (``Test...``) and implement its ``make_...`` methods;
every test of the suite then runs against the adapter::

    from approvalflow.testing.contracts import DirectoryContract, DirectorySeed

    class TestCrmDirectory(DirectoryContract):
        def make_directory(self, seed: DirectorySeed) -> Directory:
            load_fixture_rows(seed)  # the host's own way to create the rows
            return CrmDirectory()

A suite checks what approvalflow relies on: the port's methods exist and
answer in the port's records, unknown ids give ``None``, failures follow the
delivery error contract, and the adapter drives a real request end to end on
an in-memory store. Needs pytest (a host's test dependency, not
approvalflow's).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import attrs
import pytest

from approvalflow._queries import AccountPending
from approvalflow.application import Approvals
from approvalflow.bootstrap import connect
from approvalflow.domain.errors import NotPendingError
from approvalflow.domain.values import ApprovalState, DocumentFacts
from approvalflow.notifications.emails import EmailComposer, Recipient
from approvalflow.ports import (
    PORTS,
    AccountLink,
    ClientAccount,
    ClientUser,
    Clock,
    Directory,
    Document,
    EventSink,
    FirmDocumentLinks,
    FirmMember,
    Links,
    Mailer,
    PermanentDeliveryError,
    PortalNotifications,
    PreferenceLinks,
    PublishedEvent,
    TemporaryDeliveryError,
    check_port,
)
from approvalflow.testing import (
    ControllableClock,
    FixedComposer,
    InMemoryDirectory,
    RecordingMailer,
    StaticLinks,
)

__all__ = [
    "SEED",
    "ClockContract",
    "DirectoryContract",
    "DirectorySeed",
    "EventSinkContract",
    "LinksContract",
    "MailerContract",
    "PortalNotificationsContract",
    "RefusingMailerContract",
    "StorageContract",
    "contract_message",
]

_START = datetime(2026, 3, 2, 9, tzinfo=UTC)


@attrs.frozen
class DirectorySeed:
    """The people, accounts and documents a directory under test must hold."""

    firm_members: tuple[FirmMember, ...]
    client_users: tuple[ClientUser, ...]
    accounts: tuple[ClientAccount, ...]
    #: Account id -> its linked users with their Notify flags.
    links: dict[str, tuple[AccountLink, ...]]
    documents: tuple[Document, ...]


def _facts(document_id: str, account_id: str, name: str) -> DocumentFacts:
    return DocumentFacts(
        document_id=document_id,
        account_id=account_id,
        name=name,
        file_type="pdf",
        uploaded_by="Anna Martin",
        description=None,
    )


#: The seed every :class:`DirectoryContract` test uses.
SEED = DirectorySeed(
    firm_members=(
        FirmMember("anna", "Anna Martin", "anna@firm.example", True, "fr"),
        FirmMember("paul", "Paul Roux", "paul@firm.example", False, None),
    ),
    client_users=(
        ClientUser("claire", "Claire Dupont", "claire@dupont.example", "en"),
        ClientUser("marc", "Marc Dupont", "marc@dupont.example", None),
        ClientUser("lea", "Léa Petit", "lea@petit.example", None),
    ),
    accounts=(
        ClientAccount("dupont", "Dupont & Fils"),
        ClientAccount("petit", "Petit SARL"),
    ),
    links={
        "dupont": (AccountLink("claire", True), AccountLink("marc", False)),
        "petit": (AccountLink("lea", True),),
    },
    documents=(
        Document(_facts("tax-2025", "dupont", "2025 Tax return"), True),
        Document(_facts("payroll-03", "dupont", "March payroll"), True),
        Document(_facts("notes", "dupont", "Internal notes"), False),
        Document(_facts("vat-q1", "petit", "VAT Q1"), True),
    ),
)


def contract_message(
    to: str = "claire@dupont.example", key: str = "k:1"
) -> EmailMessage:
    """An email as approvalflow composes one (text and HTML parts)."""
    composer = EmailComposer(
        sender="cabinet@firm.example", firm_name="Martin & Associés"
    )
    return composer.compose(
        "request",
        Recipient("claire", "Claire Dupont", to, "fr"),
        {
            "document_name": "Déclaration 2025",
            "file_type": "pdf",
            "message": "Bonjour,\nmerci de valider.",
            "link": "https://portal.example/d/1",
        },
        key=key,
        at=_START,
    )


def _seed_directory() -> InMemoryDirectory:
    """An in-memory directory holding :data:`SEED` (for the other suites)."""
    return InMemoryDirectory(
        firm_members=SEED.firm_members,
        client_users=SEED.client_users,
        accounts=SEED.accounts,
        links=SEED.links,
        documents=SEED.documents,
    )


# -- Directory ---------------------------------------------------------------------


class DirectoryContract:
    """What approvalflow needs of a Directory adapter."""

    def make_directory(self, seed: DirectorySeed) -> Directory:
        """A directory holding exactly ``seed`` (override this)."""
        raise NotImplementedError

    @pytest.fixture
    def directory(self) -> Directory:
        """The adapter under test, seeded with :data:`SEED`."""
        return self.make_directory(SEED)

    def test_it_has_every_method_of_the_port(self, directory: Directory) -> None:
        check_port("directory", PORTS["directory"], directory)

    def test_documents_come_back_whole(self, directory: Directory) -> None:
        for expected in SEED.documents:
            found = directory.document(expected.facts.document_id)
            assert found == expected

    def test_unknown_ids_are_none(self, directory: Directory) -> None:
        assert directory.document("no-such-document") is None
        assert directory.account("no-such-account") is None
        assert directory.firm_member("no-such-user") is None
        assert directory.client_user("no-such-user") is None
        assert list(directory.account_links("no-such-account")) == []

    def test_accounts_come_back_whole(self, directory: Directory) -> None:
        for account in SEED.accounts:
            assert directory.account(account.account_id) == account

    def test_firm_members_and_client_users_are_apart(
        self, directory: Directory
    ) -> None:
        for member in SEED.firm_members:
            assert directory.firm_member(member.user_id) == member
            assert directory.client_user(member.user_id) is None
        for user in SEED.client_users:
            assert directory.client_user(user.user_id) == user
            assert directory.firm_member(user.user_id) is None

    def test_account_links_carry_their_notify_flags(self, directory: Directory) -> None:
        for account_id, links in SEED.links.items():
            found = sorted(directory.account_links(account_id), key=lambda x: x.user_id)
            assert found == sorted(links, key=lambda x: x.user_id)

    def test_approvals_subscribers_are_the_members_with_the_preference(
        self, directory: Directory
    ) -> None:
        found = {m.user_id for m in directory.approvals_subscribers()}
        assert found == {
            m.user_id for m in SEED.firm_members if m.approvals_notifications
        }

    def test_it_drives_a_request_and_a_decision(self, directory: Directory) -> None:
        with connect(
            "memory://", directory=directory, clock=ControllableClock(_START)
        ) as app:
            app.request_approval("tax-2025", by="anna")
            app.approve("tax-2025", by="claire")
            assert app.status("tax-2025").state is ApprovalState.APPROVED


# -- Mailer ------------------------------------------------------------------------


class MailerContract:
    """What approvalflow needs of a Mailer adapter, errors included."""

    def make_mailer(self) -> Mailer:
        """A mailer whose destination accepts mail (override this)."""
        raise NotImplementedError

    def delivered(self) -> list[EmailMessage]:
        """What reached the destination of :meth:`make_mailer`, in order."""
        raise NotImplementedError

    def make_unreachable_mailer(self) -> Mailer:
        """A mailer whose destination is down (it must raise Temporary...)."""
        raise NotImplementedError

    def test_it_has_every_method_of_the_port(self) -> None:
        check_port("mailer", PORTS["mailer"], self.make_mailer())

    def test_a_message_arrives_whole(self) -> None:
        sent = contract_message()
        self.make_mailer().send(sent)
        [got] = self.delivered()
        for header in ("Subject", "From", "To", "Message-ID", "Content-Language"):
            assert str(got[header]) == str(sent[header]), header
        text = got.get_body(("plain",))
        html = got.get_body(("html",))
        assert text is not None
        assert "merci de valider" in text.get_content()
        assert html is not None
        assert "https://portal.example/d/1" in html.get_content()

    def test_messages_arrive_once_each_in_order(self) -> None:
        mailer = self.make_mailer()
        keys = [f"k:{n}" for n in range(3)]
        for key in keys:
            mailer.send(contract_message(key=key))
        ids = [str(m["Message-ID"]) for m in self.delivered()]
        assert ids == [str(contract_message(key=k)["Message-ID"]) for k in keys]

    def test_an_unreachable_destination_is_a_temporary_failure(self) -> None:
        with pytest.raises(TemporaryDeliveryError):
            self.make_unreachable_mailer().send(contract_message())


class RefusingMailerContract(MailerContract):
    """:class:`MailerContract` for mailers whose server can refuse a recipient.

    Every mailer talking to a mail server (SMTP, an HTTP mail API) passes
    this one; a mailer writing files cannot be refused and passes the base.
    """

    def make_refusing_mailer(self) -> Mailer:
        """A mailer whose server refuses ``nobody@refused.example`` for good."""
        raise NotImplementedError

    def test_a_refused_recipient_is_a_permanent_failure(self) -> None:
        with pytest.raises(PermanentDeliveryError):
            self.make_refusing_mailer().send(
                contract_message(to="nobody@refused.example")
            )

    def test_a_refusal_does_not_stop_the_next_message(self) -> None:
        with pytest.raises(PermanentDeliveryError):
            self.make_refusing_mailer().send(
                contract_message(to="nobody@refused.example")
            )
        self.make_mailer().send(contract_message(key="k:after"))
        assert [str(m["Message-ID"]) for m in self.delivered()] == [
            str(contract_message(key="k:after")["Message-ID"])
        ]


# -- Clock -------------------------------------------------------------------------


class ClockContract:
    """What approvalflow needs of a Clock adapter."""

    def make_clock(self) -> Clock:
        """The clock under test (override this)."""
        raise NotImplementedError

    def test_it_has_every_method_of_the_port(self) -> None:
        check_port("clock", PORTS["clock"], self.make_clock())

    def test_now_is_an_aware_utc_datetime(self) -> None:
        now = self.make_clock().now()
        assert isinstance(now, datetime)
        assert now.utcoffset() == timedelta(0)

    def test_time_never_goes_backwards(self) -> None:
        clock = self.make_clock()
        readings = [clock.now() for _ in range(50)]
        assert readings == sorted(readings)

    def test_commands_record_its_time(self) -> None:
        clock = self.make_clock()
        directory = _seed_directory()
        with connect("memory://", directory=directory, clock=clock) as app:
            before = clock.now()
            cycle = app.request_approval("tax-2025", by="anna")
            assert before <= cycle.requested_at <= clock.now()


# -- PortalNotifications ---------------------------------------------------------------


class PortalNotificationsContract:
    """What approvalflow needs of a PortalNotifications adapter."""

    def make_portal(self) -> PortalNotifications:
        """The portal under test, empty (override this)."""
        raise NotImplementedError

    def tasks(self, portal: PortalNotifications, account_id: str) -> list[str]:
        """The account's task list as document ids, top first (override this)."""
        raise NotImplementedError

    def inbox(self, portal: PortalNotifications, user_id: str) -> list[str]:
        """The member's Inbox+ notes' texts, oldest first (override this)."""
        raise NotImplementedError

    def test_it_has_every_method_of_the_port(self) -> None:
        check_port("portal", PORTS["portal"], self.make_portal())

    def test_a_task_put_again_moves_to_the_top_once(self) -> None:
        portal = self.make_portal()
        portal.put_task("dupont", "tax-2025", "2025 Tax return")
        portal.put_task("dupont", "payroll-03", "March payroll")
        assert self.tasks(portal, "dupont") == ["payroll-03", "tax-2025"]
        portal.put_task("dupont", "tax-2025", "2025 Tax return")
        assert self.tasks(portal, "dupont") == ["tax-2025", "payroll-03"]

    def test_tasks_are_per_account(self) -> None:
        portal = self.make_portal()
        portal.put_task("dupont", "tax-2025", "2025 Tax return")
        assert self.tasks(portal, "petit") == []

    def test_removing_a_task_twice_is_no_error(self) -> None:
        portal = self.make_portal()
        portal.put_task("dupont", "tax-2025", "2025 Tax return")
        portal.remove_task("dupont", "tax-2025")
        portal.remove_task("dupont", "tax-2025")
        assert self.tasks(portal, "dupont") == []

    def test_inbox_notes_keep_their_order(self) -> None:
        portal = self.make_portal()
        portal.notify_inbox(
            "anna", "tax-2025", "Claire Dupont rejected 2025 Tax return"
        )
        portal.notify_inbox(
            "anna", "tax-2025", "Claire Dupont approved 2025 Tax return"
        )
        assert self.inbox(portal, "anna") == [
            "Claire Dupont rejected 2025 Tax return",
            "Claire Dupont approved 2025 Tax return",
        ]
        assert self.inbox(portal, "paul") == []


# -- Links -------------------------------------------------------------------------

_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")


class LinksContract:
    """What approvalflow needs of a Links adapter (URLs put in emails)."""

    def make_links(self) -> Links:
        """The links under test (override this)."""
        raise NotImplementedError

    def test_it_has_every_method_of_the_port(self) -> None:
        check_port("links", PORTS["links"], self.make_links())

    def test_links_are_absolute_web_urls(self) -> None:
        url = self.make_links().review_documents("dupont", "tax-2025")
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https")
        assert parts.netloc

    def test_each_document_gets_its_own_stable_link(self) -> None:
        links = self.make_links()
        first = links.review_documents("dupont", "tax-2025")
        assert first == links.review_documents("dupont", "tax-2025")
        assert first != links.review_documents("dupont", "payroll-03")
        assert first != links.review_documents("petit", "tax-2025")

    def test_ids_with_spaces_slashes_and_accents_stay_in_one_safe_url(self) -> None:
        links = self.make_links()
        url = links.review_documents("dupont & fils", "2025/déclaration n°1")
        assert not _UNSAFE.search(url)
        assert url != links.review_documents("dupont & fils", "2025")

    # The optional methods: checked when the links have them and give a URL.

    def _firm_document(self, links: Links, account_id: str, document_id: str) -> str:
        if not isinstance(links, FirmDocumentLinks):
            pytest.skip("no firm_document(): decision emails have no firm link")
        url = links.firm_document(account_id, document_id)
        if url is None:
            pytest.skip("firm_document() gives no URL: no View document button")
        return url

    def test_firm_document_links_are_absolute_web_urls(self) -> None:
        url = self._firm_document(self.make_links(), "dupont", "tax-2025")
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https")
        assert parts.netloc

    def test_each_document_gets_its_own_stable_firm_link(self) -> None:
        links = self.make_links()
        first = self._firm_document(links, "dupont", "tax-2025")
        assert first == self._firm_document(links, "dupont", "tax-2025")
        assert first != self._firm_document(links, "dupont", "payroll-03")
        assert first != self._firm_document(links, "petit", "tax-2025")

    def test_firm_links_quote_the_ids(self) -> None:
        links = self.make_links()
        url = self._firm_document(links, "dupont & fils", "2025/déclaration n°1")
        assert not _UNSAFE.search(url)
        assert url != self._firm_document(links, "dupont & fils", "2025")

    def test_preference_links_are_absolute_web_urls(self) -> None:
        links = self.make_links()
        if not isinstance(links, PreferenceLinks):
            pytest.skip("no email_preferences(): emails have no List-Unsubscribe")
        url = links.email_preferences("claire")
        if url is None:
            pytest.skip("email_preferences() gives no URL: no List-Unsubscribe")
        parts = urlsplit(url)
        assert parts.scheme in ("http", "https")
        assert parts.netloc
        assert not _UNSAFE.search(url)


# -- EventSink ---------------------------------------------------------------------


class EventSinkContract:
    """What approvalflow needs of an EventSink adapter."""

    def make_sink(self) -> EventSink:
        """A sink accepting every event type, whose receiver is up (override this)."""
        raise NotImplementedError

    def received(self) -> list[tuple[str, str]]:
        """``(event id, type)`` of what reached the receiver, in order."""
        raise NotImplementedError

    def make_unreachable_sink(self) -> EventSink:
        """A sink whose receiver is down (it must raise Temporary...)."""
        raise NotImplementedError

    def make_refusing_sink(self) -> EventSink:
        """A sink whose receiver refuses its events for good (Permanent...)."""
        raise NotImplementedError

    def _event(self, version: int = 2) -> PublishedEvent:
        return PublishedEvent(
            id=f"evt_{'0' * 32}_{version}",
            type="approval.requested",
            occurred_at=_START,
            document_id="tax-2025",
            data={"cycle": 1, "message": "Merci de valider"},
        )

    def test_it_has_every_method_of_the_port(self) -> None:
        check_port("event_sink", PORTS["event_sink"], self.make_sink())

    def test_a_published_event_reaches_the_receiver(self) -> None:
        event = self._event()
        self.make_sink().publish(event)
        assert self.received() == [(event.id, event.type)]

    def test_an_unreachable_receiver_is_a_temporary_failure(self) -> None:
        with pytest.raises(TemporaryDeliveryError):
            self.make_unreachable_sink().publish(self._event())

    def test_a_refusing_receiver_is_a_permanent_failure(self) -> None:
        with pytest.raises(PermanentDeliveryError):
            self.make_refusing_sink().publish(self._event())
        assert self.received() == []

    def test_a_refusal_does_not_stop_the_next_event(self) -> None:
        with pytest.raises(PermanentDeliveryError):
            self.make_refusing_sink().publish(self._event(2))
        after = self._event(3)
        self.make_sink().publish(after)
        assert self.received() == [(after.id, after.type)]

    def test_recorded_events_are_published_in_order(self) -> None:
        directory = _seed_directory()
        with connect(
            "memory://",
            directory=directory,
            clock=ControllableClock(_START),
            mailer=RecordingMailer(),
            links=StaticLinks("https://portal.example"),
            event_sink=self.make_sink(),
        ) as app:
            app.request_approval("tax-2025", by="anna")
            app.reject("tax-2025", by="claire", reasons=["Wrong year"])
            notifier = app.notifier(composer=FixedComposer())
            while notifier.run_once().events:
                pass
        types = [kind for _, kind in self.received()]
        assert types == ["approval.requested", "approval.rejected"]
        ids = [event_id for event_id, _ in self.received()]
        assert len(set(ids)) == len(ids)


# -- Storage -----------------------------------------------------------------------


class StorageContract:
    """What approvalflow needs of a storage adapter: events, read models, deliveries.

    :meth:`open` opens the store under test; every test starts with an empty
    store, and opening it twice in one test gives two applications on the
    same store (as two processes would).
    """

    def open(self, **ports: Any) -> Approvals:
        """``approvalflow.connect(<the store under test>, **ports)`` (override)."""
        raise NotImplementedError

    def _ports(self, clock: ControllableClock) -> dict[str, Any]:
        directory = _seed_directory()
        return {"directory": directory, "clock": clock}

    def test_events_outlive_the_application(self) -> None:
        clock = ControllableClock(_START)
        with self.open(**self._ports(clock)) as app:
            app.request_approval("tax-2025", by="anna", message="Merci")
            clock.advance(hours=1)
            app.reject("tax-2025", by="claire", reasons=["Wrong year"])
            history = [e.describe() for e in app.history("tax-2025")]
        with self.open(**self._ports(clock)) as again:
            assert [e.describe() for e in again.history("tax-2025")] == history
            assert again.status("tax-2025").state is ApprovalState.REJECTED

    def test_lists_show_a_write_at_once_in_every_application(self) -> None:
        clock = ControllableClock(_START)
        with (
            self.open(**self._ports(clock)) as first,
            self.open(**self._ports(clock)) as second,
        ):
            first.request_approval("tax-2025", by="anna")
            first.request_approval("vat-q1", by="anna")
            for app in (first, second):
                assert {r.document_id for r in app.recent().rows} == {
                    "tax-2025",
                    "vat-q1",
                }
                assert [r.document_id for r in app.approvals_tab("dupont").rows] == [
                    "tax-2025"
                ]
                assert sorted(app.accounts_pending(), key=lambda a: a.account_id) == [
                    AccountPending("dupont", 1),
                    AccountPending("petit", 1),
                ]

    def test_a_rebuild_gives_the_same_lists(self) -> None:
        clock = ControllableClock(_START)
        with self.open(**self._ports(clock)) as app:
            app.request_approval("tax-2025", by="anna")
            app.request_approval("payroll-03", by="anna")
            app.approve("payroll-03", by="claire")
            before = (app.recent().rows, app.approvals_tab("dupont").rows)
            assert app.rebuild_views() > 0
            assert (app.recent().rows, app.approvals_tab("dupont").rows) == before

    def test_a_decision_taken_elsewhere_is_seen_by_every_application(self) -> None:
        clock = ControllableClock(_START)
        with (
            self.open(**self._ports(clock)) as first,
            self.open(**self._ports(clock)) as second,
        ):
            first.request_approval("tax-2025", by="anna")
            second.status("tax-2025")  # both have seen the pending request
            first.approve("tax-2025", by="claire")
            with pytest.raises(NotPendingError):
                second.approve("tax-2025", by="claire")
            assert len(first.cycles("tax-2025")) == 1

    def test_deliveries_are_sent_once(self) -> None:
        clock = ControllableClock(_START)
        mailer = RecordingMailer()
        ports = {
            **self._ports(clock),
            "mailer": mailer,
            "links": StaticLinks("https://portal.example"),
        }
        with self.open(**ports) as app:
            app.request_approval("tax-2025", by="anna")
            notifier = app.notifier(composer=FixedComposer(), worker="contract")
            while notifier.run_once().events:
                pass
            notifier.stop()
        with self.open(**ports) as again:
            notifier = again.notifier(composer=FixedComposer(), worker="contract")
            notifier.run_once()
            assert [str(m["To"]) for m in mailer.sent] == [
                "Claire Dupont <claire@dupont.example>"
            ]
            assert again.delivery_backlog().waiting == ()

    def test_refused_deliveries_can_be_tried_again(self) -> None:
        clock = ControllableClock(_START)
        ports = self._ports(clock)
        directory = ports["directory"]
        claire = directory.client_users["claire"]
        directory.client_users["claire"] = attrs.evolve(claire, email="claire")
        mailer = RecordingMailer()
        links = StaticLinks("https://portal.example")
        with self.open(**ports, mailer=mailer, links=links) as app:
            app.request_approval("tax-2025", by="anna")
            notifier = app.notifier(composer=FixedComposer(), worker="contract")
            notifier.run_once()
            assert mailer.sent == []
            [refused] = app.delivery_backlog().refused
            directory.client_users["claire"] = claire
            assert app.retry_deliveries(refused.notification_id) == 1
            notifier.run_once()
            notifier.stop()
            assert [m["To"].addresses[0].addr_spec for m in mailer.sent] == [
                "claire@dupont.example"
            ]
            backlog = app.delivery_backlog()
            assert (backlog.waiting, backlog.refused) == ((), ())
