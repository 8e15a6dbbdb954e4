"""Delivering notifications from the log: who gets what, outages, refusals, leases."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import attrs
import pytest

from approvalflow import Approvals, ApprovalState, ConfigurationError, ReminderPolicy
from approvalflow.notifications.delivery import DEFAULT_LEASE, DeliveryPass, Notifier
from approvalflow.notifications.emails import EmailComposer, Recipient, header_safe
from approvalflow.notifications.mailers import (
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from approvalflow.notifications.outbox import DeliveryStore
from approvalflow.ports import ClientUser
from approvalflow.testing import (
    ControllableClock,
    FixedComposer,
    InMemoryDirectory,
    RecordingMailer,
    RecordingPortal,
    RecordingSink,
    StaticLinks,
)
from approvalflow.worker import Worker
from tests.helpers import START

COMPOSER = EmailComposer(
    sender="cabinet@firm.example", firm_name="Martin", default_language="en"
)


class FlakyMailer(RecordingMailer):
    """Fails for some addresses: for good, or until told otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refuse: set[str] = set()
        #: Addresses the server answers "try later" for (4xx), until cleared.
        self.later: set[str] = set()
        self.attempts = 0

    def send(self, message: EmailMessage) -> None:
        self.attempts += 1
        if self.down:
            raise TemporaryDeliveryError("server down")
        if message["To"].addresses[0].addr_spec in self.later:
            raise TemporaryDeliveryError("451 try again later")
        if message["To"].addresses[0].addr_spec in self.refuse:
            raise PermanentDeliveryError("550 mailbox unavailable")
        super().send(message)


@pytest.fixture
def mailer() -> FlakyMailer:
    return FlakyMailer()


@pytest.fixture
def portal() -> RecordingPortal:
    return RecordingPortal()


@pytest.fixture
def notifier(app: Approvals, mailer: FlakyMailer, portal: RecordingPortal) -> Notifier:
    return app.notifier(
        mailer=mailer,
        portal=portal,
        links=StaticLinks("https://p.example"),
        composer=COMPOSER,
    )


def deliver_all(notifier: Notifier) -> None:
    while notifier.run_once().events:
        pass


def to_and_subject(mailer: RecordingMailer) -> list[tuple[str, str]]:
    return [(m["To"].addresses[0].username, str(m["Subject"])) for m in mailer.sent]


def test_a_request_emails_linked_users_with_notify_on_and_adds_a_task(
    app: Approvals, notifier: Notifier, mailer: FlakyMailer, portal: RecordingPortal
) -> None:
    app.request_approval("d1", by="f1", message="Please check page 2")
    deliver_all(notifier)
    assert to_and_subject(mailer) == [
        ("claire", 'Martin asks you to approve "Document 1"')
    ]
    body = mailer.sent[0].get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Please check page 2" in text
    assert "https://p.example/accounts/acme/documents/d1" in text
    assert [t.document_id for t in portal.tasks["acme"]] == ["d1"]


def test_notify_flags_are_read_when_sending(
    app: Approvals,
    notifier: Notifier,
    mailer: FlakyMailer,
    directory: InMemoryDirectory,
) -> None:
    app.request_approval("d1", by="f1")
    directory.link("acme", "c2", notify=True)  # turned on before the worker ran
    directory.link("acme", "c1", notify=False)
    deliver_all(notifier)
    assert [to for to, _ in to_and_subject(mailer)] == ["marc"]


def test_resend_reminder_decision_and_cancel(  # noqa: PLR0917 - fixtures
    app: Approvals,
    clock: ControllableClock,
    notifier: Notifier,
    mailer: FlakyMailer,
    portal: RecordingPortal,
    directory: InMemoryDirectory,
) -> None:
    directory.client_users["c1"] = ClientUser(
        "c1", "Claire Dupont", "claire@acme.example", "fr"
    )
    app.request_approvals(["d1", "d2"], by="f1")
    app.request_approval("d3", by="f1", reminders=ReminderPolicy(2, 2))
    deliver_all(notifier)
    assert [t.document_id for t in portal.tasks["acme"]] == ["d3", "d2", "d1"]
    app.resend("d1", by="f2", message="Nouveau message")
    clock.advance(days=2)
    app.send_due_reminders()
    deliver_all(notifier)
    assert [t.document_id for t in portal.tasks["acme"]] == ["d1", "d3", "d2"]
    subjects = [s for _, s in to_and_subject(mailer)][3:]
    assert subjects == [
        "Merci de vérifier « Document 1 » pour Martin",
        "Rappel 1 sur 2 : merci de vérifier « Document 3 »",
    ]
    app.reject("d1", by="c2", reasons=["Wrong year"], comment="See p.2")
    app.cancel("d2", by="f1")
    deliver_all(notifier)
    assert [t.document_id for t in portal.tasks["acme"]] == ["d3"]
    firm = [(to, s) for to, s in to_and_subject(mailer) if to == "anna"]
    assert firm == [("anna", 'Marc Dupont rejected "Document 1"')]  # f1 subscribes
    decision = mailer.sent[-1].get_body(("plain",))
    assert decision is not None
    assert "Wrong year" in decision.get_content()
    assert "See p.2" in decision.get_content()
    assert portal.inbox["f1"] == [("d1", "Marc Dupont rejected Document 1")]
    assert "f2" not in portal.inbox  # no Approvals preference


def test_an_outage_holds_the_queue_and_loses_nothing(
    app: Approvals, clock: ControllableClock, notifier: Notifier, mailer: FlakyMailer
) -> None:
    mailer.down = True
    app.request_approval("d1", by="f1")
    app.request_approval("d2", by="f1")
    first = notifier.run_once()
    assert first.blocked
    assert mailer.sent == []
    backlog = app.delivery_backlog()
    assert [(d.channel, d.last_error) for d in backlog.waiting] == [
        ("email", "TemporaryDeliveryError: server down"),
        ("portal", None),  # not tried yet: deliveries go in order
    ]
    # Retried with growing pauses, never skipping ahead to d2.
    clock.advance(seconds=29)
    assert notifier.run_once().blocked
    assert mailer.attempts == 1
    clock.advance(seconds=1)
    assert notifier.run_once().blocked
    assert mailer.attempts == 2
    clock.advance(seconds=59)
    notifier.run_once()
    assert mailer.attempts == 2  # the second pause is a minute
    mailer.down = False
    clock.advance(seconds=1)
    deliver_all(notifier)
    assert [m["To"].addresses[0].username for m in mailer.sent] == ["claire", "claire"]
    subjects = [str(m["Subject"]) for m in mailer.sent]
    assert subjects == [
        'Martin asks you to approve "Document 1"',
        'Martin asks you to approve "Document 2"',
    ]
    assert app.delivery_backlog().waiting == ()


def test_a_permanent_refusal_is_recorded_and_blocks_no_one(
    app: Approvals,
    notifier: Notifier,
    mailer: FlakyMailer,
    directory: InMemoryDirectory,
) -> None:
    directory.link("acme", "c2", notify=True)
    mailer.refuse.add("claire@acme.example")
    app.request_approval("d1", by="f1")
    app.request_approval("d2", by="f1")
    deliver_all(notifier)
    assert [m["To"].addresses[0].username for m in mailer.sent] == ["marc", "marc"]
    refused = app.delivery_backlog().refused
    assert [(d.address, d.last_error) for d in refused] == [
        ("claire@acme.example", "550 mailbox unavailable"),
        ("claire@acme.example", "550 mailbox unavailable"),
    ]
    told = [a for a in app.audit_trail("d1") if a.event == "Notified"]
    assert len(told) == 1
    assert (
        "Claire Dupont was emailed at claire@acme.example, but it was refused "
        "(550 mailbox unavailable)"
    ) in told[0].summary
    assert "Marc Dupont was emailed at marc@acme.example" in told[0].summary


def test_who_was_told_is_recorded_once_per_event(
    app: Approvals, notifier: Notifier
) -> None:
    app.request_approval("d1", by="f1")
    app.approve("d1", by="c1")
    deliver_all(notifier)
    deliver_all(notifier)
    told = [a for a in app.audit_trail("d1") if a.event == "Notified"]
    assert [a.details["report"]["about_event"] for a in told] == [
        "Requested",
        "Approved",
    ]
    assert app.status("d1").state is ApprovalState.APPROVED


def test_one_worker_at_a_time_holds_the_lease(
    app: Approvals,
    clock: ControllableClock,
    mailer: FlakyMailer,
    portal: RecordingPortal,
) -> None:
    links = StaticLinks()
    first = app.notifier(
        composer=FixedComposer(),
        mailer=mailer,
        portal=portal,
        links=links,
        worker="one",
        lease_clock=clock,
    )
    second = app.notifier(
        composer=FixedComposer(),
        mailer=mailer,
        portal=portal,
        links=links,
        worker="two",
        lease_clock=clock,
    )
    app.request_approval("d1", by="f1")
    assert first.run_once().events
    app.request_approval("d2", by="f1")
    assert second.run_once().leased_elsewhere
    clock.advance(minutes=3)  # the first worker died: its lease runs out
    assert second.run_once().events
    assert not first.run_once().events  # now the second holds it
    second.stop()
    deliver_all(first)
    assert len(mailer.sent) == 2


def test_header_injection_is_neutralised() -> None:
    evil = "Claire\r\nBcc: everyone@example.com"
    message = COMPOSER.compose(
        "request",
        Recipient("c1", evil, "claire@acme.example"),
        {
            "document_name": "Doc\nX-Evil: 1",
            "file_type": "pdf",
            "message": None,
            "link": "x",
        },
        key="k",
        at=START,
    )
    raw = message.as_string()
    assert "\nBcc:" not in raw
    assert "\nX-Evil:" not in raw
    assert message["Subject"] == 'Martin asks you to approve "Doc X-Evil: 1"'
    assert header_safe("a\u2028b\x00c") == "a b c"


def test_message_ids_are_stable_per_event_and_recipient() -> None:
    alice = Recipient("u1", "A", "a@x.example")
    bob = Recipient("u2", "B", "b@x.example")
    assert COMPOSER.message_id("e:1", alice) == COMPOSER.message_id("e:1", alice)
    assert COMPOSER.message_id("e:1", alice) != COMPOSER.message_id("e:1", bob)
    assert COMPOSER.message_id("e:1", alice) != COMPOSER.message_id("e:2", alice)
    assert COMPOSER.message_id("e:1", alice).endswith("@firm.example>")


def test_backoff_grows_to_a_ceiling(app: Approvals, mailer: FlakyMailer) -> None:
    notifier = app.notifier(
        composer=FixedComposer(), mailer=mailer, links=StaticLinks(), worker="w"
    )
    pauses = [notifier.backoff(n) for n in range(1, 10)]
    assert pauses[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert pauses[-1] == timedelta(minutes=30)


def test_the_worker_follows_the_log_by_subscription_where_it_can(
    app: Approvals, mailer: FlakyMailer, portal: RecordingPortal
) -> None:
    notifier = app.notifier(
        composer=FixedComposer(), mailer=mailer, portal=portal, links=StaticLinks()
    )
    # A long interval: only a pushed event can wake the worker in time.
    worker = Worker(app, notifier, interval=60)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while worker.passes < 1 and time.monotonic() < deadline:
            time.sleep(0.01)  # the worker is now idle, waiting
        app.request_approval("d1", by="f1")
        pushes = "SQLite" not in type(app.recorder).__name__
        # Where events are pushed, wait for the email however busy the
        # machine is; SQLite's worker must not send before its next poll
        # (60 s away), which a few seconds show.
        deadline = time.monotonic() + (120 if pushes else 3)
        while not mailer.sent and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.subscribed == pushes
        assert bool(mailer.sent) == pushes  # SQLite waits for the next poll
    finally:
        worker.stop()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_switching_deliveries_on_for_an_existing_store(
    app: Approvals, notifier: Notifier, mailer: FlakyMailer
) -> None:
    app.request_approvals(["d1", "d2"], by="f1")  # history before deliveries
    head = app.recorder.max_notification_id()
    assert app.skip_deliveries() == head
    assert app.skip_deliveries() == 0
    app.request_approval("d3", by="f1")
    deliver_all(notifier)
    assert [str(m["X-Approvalflow-Document"]) for m in mailer.sent] == ["d3"]


@pytest.mark.parametrize(
    "bad",
    [
        "claire",
        "claire@acme.example, eve@evil.example",
        "claire@acme.example\r\nBcc: e@x",
    ],
)
def test_an_address_that_can_never_work_blocks_no_one_and_is_retried_once_fixed(
    app: Approvals,
    notifier: Notifier,
    mailer: FlakyMailer,
    directory: InMemoryDirectory,
    bad: str,
) -> None:
    directory.link("acme", "c2", notify=True)
    directory.client_users["c1"] = attrs.evolve(directory.client_users["c1"], email=bad)
    app.request_approval("d1", by="f1")
    app.request_approval("d2", by="f1")
    deliver_all(notifier)
    # Everyone else's mail went out; nothing waits; the queue is at the head.
    assert [m["To"].addresses[0].username for m in mailer.sent] == ["marc", "marc"]
    backlog = app.delivery_backlog()
    assert backlog.waiting == ()
    assert backlog.position == backlog.head
    assert [d.address for d in backlog.refused] == [bad, bad]
    assert all("is not an email address" in str(d.last_error) for d in backlog.refused)
    told = [a for a in app.audit_trail("d1") if a.event == "Notified"]
    assert ", but it was refused (" in told[0].summary

    # The directory is corrected; an operator asks for another try.
    directory.client_users["c1"] = attrs.evolve(
        directory.client_users["c1"], email="claire@acme.example"
    )
    assert app.retry_deliveries() == 2
    assert len(app.delivery_backlog().waiting) == 2
    notifier.run_once()
    assert [m["To"].addresses[0].addr_spec for m in mailer.sent[2:]] == [
        "claire@acme.example",
        "claire@acme.example",
    ]
    after = app.delivery_backlog()
    assert (after.waiting, after.refused) == ((), ())
    notifier.run_once()
    assert len(mailer.sent) == 4  # sent once each


def test_retrying_one_event_leaves_the_others_refused(
    app: Approvals,
    notifier: Notifier,
    mailer: FlakyMailer,
    directory: InMemoryDirectory,
) -> None:
    directory.client_users["c1"] = attrs.evolve(
        directory.client_users["c1"], email="claire"
    )
    app.request_approval("d1", by="f1")
    app.request_approval("d2", by="f1")
    deliver_all(notifier)
    first, second = app.delivery_backlog().refused
    assert app.retry_deliveries(second.notification_id) == 1
    assert app.retry_deliveries(second.notification_id) == 0  # already asked
    notifier.run_once()  # still "claire": refused again, recorded again
    assert [d.notification_id for d in app.delivery_backlog().refused] == [
        first.notification_id,
        second.notification_id,
    ]
    assert mailer.sent == []


def test_a_retry_while_the_server_is_down_waits_for_the_next_pass(
    app: Approvals, notifier: Notifier, mailer: FlakyMailer
) -> None:
    mailer.refuse.add("claire@acme.example")
    app.request_approval("d1", by="f1")
    deliver_all(notifier)
    mailer.refuse.clear()
    mailer.down = True
    assert app.retry_deliveries() == 1
    notifier.run_once()
    assert len(app.delivery_backlog().waiting) == 1
    mailer.down = False
    notifier.run_once()
    assert [m["To"].addresses[0].addr_spec for m in mailer.sent] == [
        "claire@acme.example"
    ]
    assert app.delivery_backlog().waiting == ()


def test_after_a_temporary_failure_the_messages_already_sent_are_not_sent_again(
    app: Approvals,
    notifier: Notifier,
    mailer: FlakyMailer,
    directory: InMemoryDirectory,
    clock: ControllableClock,
) -> None:
    directory.link("acme", "c2", notify=True)
    mailer.later.add("marc@acme.example")
    app.request_approval("d1", by="f1")
    notifier.run_once()  # Claire's goes, Marc's server says "later"
    assert [m["To"].addresses[0].username for m in mailer.sent] == ["claire"]
    mailer.later.clear()
    clock.advance(minutes=31)  # past the first back-off
    deliver_all(notifier)
    assert [m["To"].addresses[0].username for m in mailer.sent] == ["claire", "marc"]


def test_html_emails_escape_what_people_wrote(
    app: Approvals,
    notifier: Notifier,
    mailer: FlakyMailer,
    directory: InMemoryDirectory,
) -> None:
    facts = directory.documents["d1"].facts
    directory.add_document(attrs.evolve(facts, name='<img src=x onerror="alert(1)">'))
    app.request_approval("d1", by="f1", message="<script>alert(2)</script> & <b>")
    deliver_all(notifier)
    html_part = mailer.sent[0].get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt; &amp; &lt;b&gt;" in html
    text_part = mailer.sent[0].get_body(("plain",))
    assert text_part is not None
    # The plain-text part shows the text as written.
    assert "<script>alert(2)</script> & <b>" in text_part.get_content()


def test_a_composed_email_has_every_header_a_mail_client_shows() -> None:
    import hashlib  # noqa: PLC0415
    from email.utils import format_datetime  # noqa: PLC0415

    composer = EmailComposer(sender="cabinet@firm.example", firm_name="Martin")
    message = composer.compose(
        "reminder",
        Recipient("c1", "Claire Dupont", "claire@acme.example", "fr"),
        {
            "document_id": "d1",
            "document_name": "Bilan",
            "file_type": "pdf",
            "message": None,
            "link": "https://p.example/d/1",
            "number": 2,
            "count": 3,
        },
        key="k:1",
        at=START,
    )
    digest = hashlib.sha256(b"k:1|c1").hexdigest()[:40]
    assert {name: str(message[name]) for name in message} == {
        "Subject": str(message["Subject"]),
        "From": "Martin <cabinet@firm.example>",
        "To": "Claire Dupont <claire@acme.example>",
        "Message-ID": f"<{digest}@firm.example>",
        "Date": format_datetime(START),
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
        "X-Approvalflow-Kind": "reminder",
        "X-Approvalflow-Document": "d1",
        "X-Approvalflow-Reminder": "2",
        "MIME-Version": "1.0",
        "Content-Type": str(message["Content-Type"]),
        "Content-Language": "fr",
    }
    assert "2" in str(message["Subject"])
    text_part = message.get_body(("plain",))
    assert text_part is not None
    text = text_part.get_content()
    assert text.startswith("Bonjour Claire Dupont")
    assert "\nConsulter les documents : https://p.example/d/1\n" in text
    # It ends signed, saying why the person gets it.
    assert text.endswith(
        "\n-- \nMartin\nVous recevez cet e-mail parce que vous êtes client de "
        "Martin et que les notifications par e-mail sont activées pour vous sur "
        "son portail client.\n"
    )


def test_address_and_composer_refusals_say_what_is_allowed() -> None:
    from approvalflow import ConfigurationError, UndeliverableAddressError  # noqa: PLC0415
    from approvalflow.notifications.emails import recipient_address  # noqa: PLC0415

    allowed = (
        "allowed: one address such as name@example.com, without line breaks or commas"
    )
    for bad, problem in [
        ("a@x.example, b@x.example", "empty, a list or a line break"),
        ("a@x.example;b@x.example", "empty, a list or a line break"),
        ("   ", "empty, a list or a line break"),
    ]:
        with pytest.raises(UndeliverableAddressError) as caught:
            recipient_address("A", bad)
        assert (
            str(caught.value)
            == f"{bad!r} is not an email address ({problem}); {allowed}"
        )
        assert caught.value.address == bad
    assert str(recipient_address("A", "a@x.example")) == "A <a@x.example>"
    with pytest.raises(
        ConfigurationError, match=r"^sender must be an email address, got 'nobody'$"
    ):
        EmailComposer(sender="nobody", firm_name="F")
    with pytest.raises(
        ConfigurationError,
        match=r"^default_language must be one of \('de', 'en', 'fr'\), got 'es'$",
    ):
        EmailComposer(sender="a@x.example", firm_name="F", default_language="es")
    with pytest.raises(ValueError, match=r"^unknown email kind 'fax'; known: "):
        COMPOSER.compose(
            "fax", Recipient("c1", "C", "c@x.example"), {}, key="k", at=START
        )
    assert header_safe("Dupont =?utf-8?q?x?=") == "Dupont = ?utf-8?q?x?="


def counts(done: DeliveryPass) -> tuple[int, int, int, bool, bool]:
    return (done.events, done.sent, done.refused, done.blocked, done.leased_elsewhere)


def test_a_pass_counts_the_events_and_messages_it_handled(
    app: Approvals,
    notifier: Notifier,
    mailer: FlakyMailer,
    directory: InMemoryDirectory,
) -> None:
    directory.client_users["c3"] = ClientUser("c3", "Léa Roux", "lea@acme.example")
    directory.link("acme", "c2", notify=True)
    directory.link("acme", "c3", notify=True)
    mailer.refuse |= {"claire@acme.example", "lea@acme.example"}
    app.request_approvals(["d1", "d2"], by="f1")
    # Two records created, two requests: each request emails Claire and Léa
    # (both refused) and Marc, and puts a portal task on top.
    assert counts(notifier.run_once()) == (4, 4, 4, False, False)
    # The two events recording who was told send nothing.
    assert counts(notifier.run_once()) == (2, 0, 0, False, False)
    assert counts(notifier.run_once()) == (0, 0, 0, False, False)
    # Deliveries tried again count as sent or refused, not as events.
    assert app.retry_deliveries() == 4
    assert counts(notifier.run_once()) == (0, 0, 4, False, False)
    mailer.refuse.clear()
    assert app.retry_deliveries() == 4
    assert counts(notifier.run_once()) == (0, 4, 0, False, False)


def test_a_pass_stops_after_two_hundred_events_by_default(
    app: Approvals, notifier: Notifier, directory: InMemoryDirectory
) -> None:
    facts = directory.documents["d1"].facts
    docs = [f"x{i}" for i in range(101)]
    for doc in docs:
        directory.add_document(attrs.evolve(facts, document_id=doc))
    app.request_approvals(docs, by="f1")  # 202 events
    assert counts(notifier.run_once()) == (200, 200, 0, False, False)
    assert notifier.run_once().events == 2 + 100  # the rest, and who was told


def test_tried_again_deliveries_keep_count_of_their_attempts(
    app: Approvals,
    clock: ControllableClock,
    notifier: Notifier,
    mailer: FlakyMailer,
) -> None:
    mailer.refuse.add("claire@acme.example")
    app.request_approvals(["d1", "d2"], by="f1")
    deliver_all(notifier)
    first, second = app.delivery_backlog().refused
    assert (first.attempts, second.attempts) == (1, 1)

    # Refused again: recorded again, with the time and the server's answer.
    clock.advance(minutes=5)
    app.retry_deliveries(first.notification_id)
    notifier.run_once()
    refused = app.delivery_backlog().refused
    assert [(d.attempts, d.done_at, d.last_error) for d in refused] == [
        (2, clock.now(), "550 mailbox unavailable"),
        (1, START, "550 mailbox unavailable"),
    ]

    # The server is down: the first retry waits for the next pass, and the
    # second is not even tried.
    mailer.refuse.clear()
    mailer.down = True
    app.retry_deliveries()
    tries = mailer.attempts
    notifier.run_once()
    assert mailer.attempts == tries + 1
    waiting = app.delivery_backlog().waiting
    assert [(d.status, d.attempts, d.last_error) for d in waiting] == [
        ("retry", 3, "TemporaryDeliveryError: server down"),
        ("retry", 1, "550 mailbox unavailable"),
    ]

    mailer.down = False
    clock.advance(minutes=5)
    notifier.run_once()
    assert app.delivery_backlog().waiting == ()
    sent = [notifier.store.planned(d.notification_id) or [] for d in waiting]
    assert [
        (d.status, d.attempts, d.done_at, d.last_error)
        for d in sent[0] + sent[1]
        if d.channel == "email"
    ] == [("sent", 4, clock.now(), None), ("sent", 2, clock.now(), None)]


def test_delivered_messages_are_recorded_with_their_attempts(
    app: Approvals,
    clock: ControllableClock,
    notifier: Notifier,
    mailer: FlakyMailer,
) -> None:
    mailer.down = True
    app.request_approval("d1", by="f1")
    notifier.run_once()
    [waiting, _] = app.delivery_backlog().waiting
    assert (waiting.attempts, waiting.next_attempt_at) == (
        1,
        START + timedelta(seconds=30),
    )
    mailer.down = False
    clock.advance(minutes=1)
    deliver_all(notifier)
    plan = notifier.store.planned(waiting.notification_id) or []
    assert [(d.channel, d.status, d.attempts, d.done_at) for d in plan] == [
        ("email", "sent", 2, clock.now()),
        ("portal", "sent", 1, clock.now()),
    ]
    told = [a for a in app.audit_trail("d1") if a.event == "Notified"]
    outcomes = [d["outcome"] for d in told[0].details["report"]["deliveries"]]
    assert outcomes == ["sent", "sent"]


def test_notifiers_without_a_worker_name_take_turns_with_the_lease(
    app: Approvals, clock: ControllableClock, mailer: FlakyMailer
) -> None:
    first = app.notifier(
        composer=FixedComposer(), mailer=mailer, links=StaticLinks(), lease_clock=clock
    )
    second = app.notifier(
        composer=FixedComposer(), mailer=mailer, links=StaticLinks(), lease_clock=clock
    )
    assert first.worker != second.worker
    assert first.worker.startswith(f"{socket.gethostname()}-")
    app.request_approval("d1", by="f1")
    assert first.run_once().events
    app.request_approval("d2", by="f1")
    assert counts(second.run_once()) == (0, 0, 0, False, True)


def test_a_dead_workers_lease_runs_out_after_two_minutes_by_default(
    app: Approvals, clock: ControllableClock, mailer: FlakyMailer
) -> None:
    links = StaticLinks()
    first = app.notifier(
        composer=FixedComposer(),
        mailer=mailer,
        links=links,
        worker="one",
        lease_clock=clock,
    )
    second = app.notifier(
        composer=FixedComposer(),
        mailer=mailer,
        links=links,
        worker="two",
        lease_clock=clock,
    )
    app.request_approval("d1", by="f1")
    first.run_once()  # and then the first worker dies
    clock.advance(minutes=2, seconds=-1)
    assert second.run_once().leased_elsewhere
    clock.advance(seconds=1)
    assert second.run_once().events


def test_a_notifier_needs_a_mailer_and_links(
    app: Approvals, clock: ControllableClock, notifier: Notifier
) -> None:
    ports: dict[str, Any] = {
        "store": notifier.store,
        "mailer": RecordingMailer(),
        "composer": COMPOSER,
        "links": StaticLinks(),
        "lease_clock": clock,
    }
    for missing in ("mailer", "links"):
        with pytest.raises(
            ConfigurationError, match=r"^deliveries need a mailer and a links port$"
        ):
            Notifier(app, **{**ports, missing: None})


def test_an_event_is_planned_once_even_if_the_directory_changes_meanwhile(  # noqa: PLR0917 - fixtures
    app: Approvals,
    clock: ControllableClock,
    notifier: Notifier,
    mailer: FlakyMailer,
    portal: RecordingPortal,
    directory: InMemoryDirectory,
) -> None:
    mailer.down = True
    app.request_approval("d1", by="f1")
    notifier.run_once()  # planned: Claire's email, then the portal task
    directory.link("acme", "c2", notify=True)  # after planning: not for d1
    mailer.down = False
    clock.advance(minutes=1)
    deliver_all(notifier)
    assert [to for to, _ in to_and_subject(mailer)] == ["claire"]
    assert [t.document_id for t in portal.tasks["acme"]] == ["d1"]
    told = [a for a in app.audit_trail("d1") if a.event == "Notified"]
    assert [d["channel"] for d in told[0].details["report"]["deliveries"]] == [
        "email",
        "portal",
    ]


class LeaseTakingMailer(FlakyMailer):
    """While sending, lets another worker take the lease (the first one hung)."""

    def __init__(self, take: Callable[[], None]) -> None:
        super().__init__()
        self.take = take

    def send(self, message: EmailMessage) -> None:
        super().send(message)
        self.take()


def test_a_worker_that_loses_its_lease_mid_event_leaves_the_rest_to_the_holder(
    app: Approvals, clock: ControllableClock, portal: RecordingPortal
) -> None:
    links = StaticLinks()

    def hang() -> None:
        clock.advance(minutes=3)
        assert second.store.acquire("two", clock.now(), clock.now() + DEFAULT_LEASE)

    mailer = LeaseTakingMailer(hang)
    first = app.notifier(
        composer=FixedComposer(),
        mailer=mailer,
        portal=portal,
        links=links,
        worker="one",
        lease_clock=clock,
    )
    second = app.notifier(
        composer=FixedComposer(),
        mailer=RecordingMailer(),
        portal=portal,
        links=links,
        worker="two",
        lease_clock=clock,
    )
    app.request_approval("d1", by="f1")
    # d1's record is created; Claire is emailed, then the lease is gone.
    assert counts(first.run_once()) == (1, 1, 0, False, True)
    assert portal.tasks == {}
    assert app.delivery_backlog().position < app.delivery_backlog().head
    mailer.take = lambda: None
    deliver_all(second)
    assert [t.document_id for t in portal.tasks["acme"]] == ["d1"]
    assert len(mailer.sent) == 1  # the new holder does not email Claire again


def test_the_event_sinks_deliveries_show_in_the_backlog(
    app: Approvals, clock: ControllableClock, mailer: FlakyMailer
) -> None:
    sink = RecordingSink(["approval.requested"])
    sink.fail_with = TemporaryDeliveryError("receiver down")
    notifier = app.notifier(
        composer=FixedComposer(),
        mailer=mailer,
        links=StaticLinks(),
        event_sink=sink,
        lease_clock=clock,
    )
    app.request_approval("d1", by="f1")
    assert notifier.run_once().blocked
    assert [
        (d.channel, d.kind, d.recipient_id, d.recipient_name, d.address, d.status)
        for d in app.delivery_backlog().waiting
    ] == [("sink", "approval.requested", "event_sink", "", "", "pending")]


def test_a_request_after_a_move_goes_to_the_new_accounts_users(
    app: Approvals,
    notifier: Notifier,
    mailer: FlakyMailer,
    portal: RecordingPortal,
    directory: InMemoryDirectory,
) -> None:
    app.request_approval("d1", by="f1")
    app.reject("d1", by="c1", reasons=["Wrong client"])
    facts = directory.documents["d1"].facts
    directory.add_document(attrs.evolve(facts, account_id="globex"))
    app.request_approval("d1", by="f1")
    deliver_all(notifier)
    clients = [to for to, _ in to_and_subject(mailer) if to != "anna"]
    assert clients == ["claire", "greta"]
    assert portal.tasks["acme"] == []
    assert [t.document_id for t in portal.tasks["globex"]] == ["d1"]


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


def test_each_email_says_what_happened_with_the_right_message(
    app: Approvals,
    clock: ControllableClock,
    notifier: Notifier,
    mailer: FlakyMailer,
    portal: RecordingPortal,
) -> None:
    app.request_approval(
        "d1", by="f1", message="Please check page 2", reminders=ReminderPolicy(2, 1)
    )
    app.resend("d1", by="f2")  # no new message: the request's still applies
    app.resend("d1", by="f2", message="New figures attached")
    clock.advance(days=2)
    assert app.send_due_reminders() == ["d1"]
    app.approve("d1", by="c1", comment="Fine by me")
    deliver_all(notifier)
    [request, resend, resend_again, reminder, decision] = mailer.sent
    for message in (request, resend, resend_again, reminder):
        assert '"Document 1" (pdf).' in plain_text(message)
    assert "Message from Martin:\n\nPlease check page 2\n" in plain_text(request)
    assert "Message from Martin:\n\nPlease check page 2\n" in plain_text(resend)
    assert "Message from Martin:\n\nNew figures attached\n" in plain_text(resend_again)
    assert "Please check page 2" not in plain_text(resend_again)
    assert "Message from Martin:\n\nNew figures attached\n" in plain_text(reminder)
    assert str(decision["To"]) == "Anna Martin <anna@firm.example>"
    assert str(decision["Subject"]) == 'Claire Dupont approved "Document 1"'
    assert 'Claire Dupont (ACME) approved "Document 1" (pdf).' in plain_text(decision)
    assert "Comment:\n\nFine by me\n" in plain_text(decision)
    assert portal.inbox["f1"] == [("d1", "Claire Dupont approved Document 1")]


def test_who_was_told_of_a_decision_is_recorded_channel_by_channel(
    app: Approvals, notifier: Notifier
) -> None:
    app.request_approval("d1", by="f1")
    app.reject("d1", by="c1", reasons=["Wrong year"])
    deliver_all(notifier)
    told = [a for a in app.audit_trail("d1") if a.event == "Notified"]
    deliveries = told[1].details["report"]["deliveries"]
    assert [
        (d["channel"], d["kind"], d["recipient_id"], d["address"]) for d in deliveries
    ] == [
        ("portal", "remove_task", "acme", "acme"),
        ("email", "decision", "f1", "anna@firm.example"),
        ("inbox", "decision", "f1", "f1"),
    ]
    assert told[1].summary == (
        "People were told of the rejection: the portal task of ACME was removed, "
        "Anna Martin was emailed at anna@firm.example, and Anna Martin got an "
        "Inbox+ note."
    )


def test_what_goes_to_the_event_sink_is_not_recorded_as_people_told(
    app: Approvals, clock: ControllableClock, mailer: FlakyMailer
) -> None:
    sink = RecordingSink()
    notifier = app.notifier(
        composer=FixedComposer(),
        mailer=mailer,
        links=StaticLinks(),
        event_sink=sink,
        lease_clock=clock,
    )
    app.request_approval("d1", by="f1")
    app.record_activity("d1", kind="modified", by="f1")
    deliver_all(notifier)
    assert [e.type for e in sink.published] == [
        "approval.requested",
        "approval.activity_reported",
    ]
    told = [a for a in app.audit_trail("d1") if a.event == "Notified"]
    assert [d["channel"] for a in told for d in a.details["report"]["deliveries"]] == [
        "email"
    ]


class PositionMovingMailer(FlakyMailer):
    """While sending, another worker delivers everything and moves the position."""

    def __init__(self, store: DeliveryStore, head: Callable[[], int]) -> None:
        super().__init__()
        self.store = store
        self.head = head

    def send(self, message: EmailMessage) -> None:
        super().send(message)
        assert self.store.advance(self.store.position(), self.head())


def test_a_worker_whose_position_was_moved_by_another_stops_there(
    app: Approvals, notifier: Notifier
) -> None:
    app.request_approvals(["d1", "d2"], by="f1")
    head = app.recorder.max_notification_id
    mailer = PositionMovingMailer(notifier.store, lambda: head() or 0)
    worker = app.notifier(
        composer=FixedComposer(), mailer=mailer, links=StaticLinks(), worker="late"
    )
    # d1's record, then its request: Claire is emailed, and meanwhile another
    # worker has delivered everything (d2 included).
    assert counts(worker.run_once()) == (1, 1, 0, False, False)
    assert [str(m["X-Approvalflow-Document"]) for m in mailer.sent] == ["d1"]


def test_addresses_with_any_letter_are_taken_as_written() -> None:
    from approvalflow.notifications.emails import recipient_address  # noqa: PLC0415

    # Capitals included: only line breaks, commas and semicolons are refused.
    address = recipient_address("Xavier Dupont", "Xavier.X@Dupont-Xyz.example")
    assert address.addr_spec == "Xavier.X@Dupont-Xyz.example"
    assert address.display_name == "Xavier Dupont"


class BuggyMailer(RecordingMailer):
    """A mailer with a fault of its own for one address (not a port error)."""

    def __init__(self, bad: str, error: Exception) -> None:
        super().__init__()
        self.bad = bad
        self.error = error
        self.tries = 0

    def send(self, message: EmailMessage) -> None:
        if message["To"].addresses[0].addr_spec == self.bad:
            self.tries += 1
            raise self.error
        super().send(message)


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no words for this")


@pytest.mark.parametrize(
    "error", [ValueError("bad recipient data"), UnprintableError(), KeyError("x")]
)
def test_a_port_failing_on_its_own_fault_parks_that_message_and_the_rest_flows(
    app: Approvals,
    clock: ControllableClock,
    directory: InMemoryDirectory,
    error: Exception,
) -> None:
    directory.link("acme", "c2", notify=True)
    mailer = BuggyMailer("claire@acme.example", error)
    notifier = app.notifier(
        mailer=mailer, links=StaticLinks("https://p.example"), composer=COMPOSER
    )
    app.request_approval("d1", by="f1")
    app.request_approval("g-doc", by="f1")  # globex's clients' mail must flow
    for _ in range(10):
        notifier.run_once()  # never raises, whatever the mailer's error
        clock.advance(hours=1)  # past each back-off
    assert mailer.tries == 3  # tried a few times, then parked
    sent = [m["To"].addresses[0].addr_spec for m in mailer.sent]
    assert "marc@acme.example" in sent
    assert any(a.endswith("globex.example") for a in sent), sent
    backlog = app.delivery_backlog()
    assert backlog.waiting == ()
    [parked] = backlog.refused
    assert parked.address == "claire@acme.example"
    assert "parked after 3 tries" in str(parked.last_error)
    assert "deliveries retry --event" in str(parked.last_error)
    # The operator fixes the cause and releases it.
    mailer.bad = "nobody@nowhere.example"
    assert app.retry_deliveries(parked.notification_id) == 1
    notifier.run_once()
    assert [m["To"].addresses[0].addr_spec for m in mailer.sent].count(
        "claire@acme.example"
    ) == 1


def test_a_temporary_failure_is_retried_at_the_address_the_directory_has_now(
    app: Approvals,
    clock: ControllableClock,
    notifier: Notifier,
    mailer: FlakyMailer,
    directory: InMemoryDirectory,
) -> None:
    mailer.later.add("claire@acme.example")
    app.request_approval("d1", by="f1")
    assert notifier.run_once().blocked
    directory.client_users["c1"] = attrs.evolve(
        directory.client_users["c1"], email="claire.new@acme.example"
    )
    clock.advance(minutes=1)
    deliver_all(notifier)
    assert [m["To"].addresses[0].addr_spec for m in mailer.sent] == [
        "claire.new@acme.example"
    ]
    told = [a for a in app.audit_trail("d1") if a.event == "Notified"]
    assert "claire.new@acme.example" in told[0].summary
