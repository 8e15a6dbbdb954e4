"""Every adapter in the core passes its port's contract suite.

The suites are the ones hosts use (``approvalflow.testing.contracts``); each
class here plugs one adapter in, in a few lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from approvalflow import (
    Approvals,
    Clock,
    ConfigurationError,
    Directory,
    EventSink,
    FileMailer,
    Links,
    Mailer,
    PermanentDeliveryError,
    PortalLinks,
    PortalNotifications,
    SMTPMailer,
    SystemClock,
    TemporaryDeliveryError,
    connect,
)
from approvalflow.application import DeliveryPorts
from approvalflow.notifications.emails import EmailComposer
from approvalflow.testing import (
    ControllableClock,
    FixedComposer,
    InMemoryDirectory,
    RecordingMailer,
    RecordingPortal,
    RecordingSink,
    StaticLinks,
)
from approvalflow.testing.contracts import (
    ClockContract,
    DirectoryContract,
    DirectorySeed,
    EventSinkContract,
    LinksContract,
    MailerContract,
    PortalNotificationsContract,
    RefusingMailerContract,
    StorageContract,
)
from tests import pg_server
from tests.helpers import postgres_url
from tests.smtp_server import SMTPTestServer, free_port


class TestInMemoryDirectory(DirectoryContract):
    def make_directory(self, seed: DirectorySeed) -> Directory:
        return InMemoryDirectory(
            firm_members=seed.firm_members,
            client_users=seed.client_users,
            accounts=seed.accounts,
            links=seed.links,
            documents=seed.documents,
        )


class TestSystemClock(ClockContract):
    def make_clock(self) -> Clock:
        return SystemClock()


class TestControllableClock(ClockContract):
    def make_clock(self) -> Clock:
        return ControllableClock()


class TestRecordingPortal(PortalNotificationsContract):
    def make_portal(self) -> PortalNotifications:
        return RecordingPortal()

    def tasks(self, portal: PortalNotifications, account_id: str) -> list[str]:
        assert isinstance(portal, RecordingPortal)
        return [t.document_id for t in portal.tasks.get(account_id, [])]

    def inbox(self, portal: PortalNotifications, user_id: str) -> list[str]:
        assert isinstance(portal, RecordingPortal)
        return [text for _, text in portal.inbox.get(user_id, [])]


class TestPortalLinks(LinksContract):
    def make_links(self) -> Links:
        return PortalLinks(
            "https://portal.martin-associes.example/app/",
            firm_url="https://app.martin-associes.example/",
            preferences_url="https://portal.martin-associes.example/app/settings",
        )


class TestStaticLinks(LinksContract):
    def make_links(self) -> Links:
        return StaticLinks(
            "http://localhost:8000",
            firm_url="http://localhost:8001",
            preferences_url="http://localhost:8000/settings/emails",
        )


class ReviewOnlyLinks:
    """A host's links written before the optional methods existed."""

    def review_documents(self, account_id: str, document_id: str) -> str:
        account, document = quote(account_id, safe=""), quote(document_id, safe="")
        return f"https://portal.example/{account}/{document}"


class _ReviewOnlySuite(LinksContract):
    def make_links(self) -> Links:
        return ReviewOnlyLinks()


def test_links_with_only_the_required_method_pass_the_suite() -> None:
    # A host's suite skips the optional methods' tests, saying why, and
    # passes the rest (run here one by one, so this run shows no skip).
    suite = _ReviewOnlySuite()
    ran = skipped = 0
    for name in sorted(dir(suite)):
        if not name.startswith("test_"):
            continue
        if "firm" in name or "preference" in name:
            with pytest.raises(
                pytest.skip.Exception, match=r"no firm_document|no email_preferences"
            ):
                getattr(suite, name)()
            skipped += 1
        else:
            getattr(suite, name)()
            ran += 1
    assert (ran, skipped) == (4, 4)


def test_portal_links_without_a_firm_url_give_no_firm_link() -> None:
    links = PortalLinks("https://portal.example")
    assert links.firm_document("dupont", "tax-2025") is None
    assert links.email_preferences("claire") is None
    with pytest.raises(ConfigurationError, match=r"^the firm URL must be an absolute"):
        PortalLinks("https://portal.example", firm_url="app.example")
    with pytest.raises(ConfigurationError, match=r"^the preferences URL must be"):
        PortalLinks("https://portal.example", preferences_url="/settings")


class TestRecordingSink(EventSinkContract):
    @pytest.fixture(autouse=True)
    def _sink(self) -> None:
        self.sink = RecordingSink()

    def make_sink(self) -> EventSink:
        return self.sink

    def received(self) -> list[tuple[str, str]]:
        return [(e.id, e.type) for e in self.sink.published]

    def make_unreachable_sink(self) -> EventSink:
        down = RecordingSink()
        down.fail_with = TemporaryDeliveryError("receiver down")
        return down

    def make_refusing_sink(self) -> EventSink:
        refusing = RecordingSink()
        refusing.fail_with = PermanentDeliveryError("410 Gone")
        return refusing


class TestRecordingMailer(RefusingMailerContract):
    @pytest.fixture(autouse=True)
    def _mailer(self) -> None:
        self.mailer = RecordingMailer()

    def make_mailer(self) -> Mailer:
        return self.mailer

    def delivered(self) -> list[EmailMessage]:
        return list(self.mailer.sent)

    def make_unreachable_mailer(self) -> Mailer:
        down = RecordingMailer()
        down.fail_with = TemporaryDeliveryError("server down")
        return down

    def make_refusing_mailer(self) -> Mailer:
        refusing = RecordingMailer()
        refusing.fail_with = PermanentDeliveryError("550 no such user")
        return refusing


class TestFileMailer(MailerContract):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "mail"

    def make_mailer(self) -> Mailer:
        return FileMailer(self.folder)

    def delivered(self) -> list[EmailMessage]:
        return FileMailer(self.folder).messages()

    def make_unreachable_mailer(self) -> Mailer:
        # The folder vanished after start-up (an unmounted disk): a file now
        # stands where it was.
        gone = self.folder.parent / "unmounted"
        mailer = FileMailer(gone)
        gone.rmdir()
        gone.write_text("not a folder")
        return mailer


class TestSMTPMailer(RefusingMailerContract):
    @pytest.fixture(autouse=True)
    def _server(self) -> Iterator[None]:
        with SMTPTestServer() as server:
            server.refuse_for_good.add("nobody@refused.example")
            self.server = server
            yield

    def make_mailer(self) -> Mailer:
        return SMTPMailer("127.0.0.1", self.server.port, security="none", timeout=5)

    def delivered(self) -> list[EmailMessage]:
        return self.server.messages()

    def make_unreachable_mailer(self) -> Mailer:
        return SMTPMailer("127.0.0.1", free_port(), security="none", timeout=5)

    def make_refusing_mailer(self) -> Mailer:
        return self.make_mailer()


class _SharedLog(Approvals):
    """Another application on the same in-memory log; closing it keeps the log."""

    def close(self) -> None:
        pass


class TestMemoryStorage(StorageContract):
    # A memory:// store lives in its application: a second application on
    # "the same store" is a second Approvals on the first one's log.
    @pytest.fixture(autouse=True)
    def _store(self) -> Iterator[None]:
        self.first: Approvals | None = None
        yield
        if self.first is not None:
            self.first.close()

    def open(self, **ports: Any) -> Approvals:
        if self.first is None:
            self.first = connect("memory://", **ports)
        return _SharedLog(
            self.first.log,
            directory=ports.get("directory"),
            delivery=DeliveryPorts(
                mailer=ports.get("mailer"),
                composer=EmailComposer(sender="f@firm.example", firm_name="Firm"),
                links=ports.get("links"),
            ),
        )


class TestSQLiteStorage(StorageContract):
    @pytest.fixture(autouse=True)
    def _file(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path / 'store.sqlite3'}"

    def open(self, **ports: Any) -> Approvals:
        return connect(self.url, **ports)


class TestPostgresStorage(StorageContract):
    @pytest.fixture(autouse=True)
    def _schema(self, postgres: pg_server.PostgresServer) -> None:
        self.url = postgres_url(postgres)

    def open(self, **ports: Any) -> Approvals:
        return connect(self.url, **ports)


def test_published_event_data_is_plain_json() -> None:
    import json  # noqa: PLC0415

    from tests.helpers import START, make_directory  # noqa: PLC0415

    sink = RecordingSink()
    with connect(
        "memory://",
        directory=make_directory(),
        clock=ControllableClock(START),
        mailer=RecordingMailer(),
        links=StaticLinks("https://portal.example"),
        event_sink=sink,
    ) as app:
        app.request_approval("d1", by="f1")
        app.notifier(composer=FixedComposer()).run_once()
    [event] = sink.published
    # Round-trips through JSON unchanged: no enum members, no datetimes.
    assert json.loads(json.dumps(event.data)) == event.data
    assert type(event.data["by"]["role"]) is str
    assert event.data["by"]["role"] == "firm_member"
