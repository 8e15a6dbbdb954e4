"""approvalflow's delivery follower publishing through WebhookSink.

A real receiver on loopback: order, stable ids, outages and refusals, on the
in-memory store and on an SQLite file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from approvalflow_webhooks import WebhookSink, generate_secret, verify
from webhooks_support import Answer, Receiver

import approvalflow
from approvalflow import Approvals, approval_request_id
from approvalflow.testing import (
    ControllableClock,
    FixedComposer,
    InMemoryDirectory,
    RecordingMailer,
    StaticLinks,
)

DIRECTORY_DATA = {
    "firm_members": [
        {
            "user_id": "f1",
            "name": "Anna Martin",
            "email": "anna@firm.example",
            "approvals_notifications": True,
        }
    ],
    "client_users": [
        {"user_id": "c1", "name": "Claire Dupont", "email": "claire@acme.example"}
    ],
    "accounts": [{"account_id": "acme", "name": "ACME"}],
    "links": {"acme": [{"user_id": "c1", "notify": True}]},
    "documents": [
        {
            "facts": {
                "document_id": document_id,
                "account_id": "acme",
                "name": f"Document {document_id}",
                "file_type": "pdf",
                "uploaded_by": "Anna Martin",
            },
            "client_visible": True,
        }
        for document_id in ("d1", "d2")
    ],
}


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path / 'approvals.sqlite3'}"


@pytest.fixture
def clock() -> ControllableClock:
    return ControllableClock()


#: Opens the application on the test's store with the given sink.
Connect = Callable[[WebhookSink], Approvals]


@pytest.fixture
def connect(store_url: str, clock: ControllableClock) -> Iterator[Connect]:
    opened: list[Approvals] = []

    def open_app(sink: WebhookSink) -> Approvals:
        app = approvalflow.connect(
            store_url,
            directory=InMemoryDirectory.from_data(DIRECTORY_DATA),
            clock=clock,
            mailer=RecordingMailer(),
            links=StaticLinks("https://portal.example"),
            event_sink=sink,
        )
        opened.append(app)
        return app

    yield open_app
    for app in opened:
        app.close()


def request_and_decide(app: Approvals, clock: ControllableClock) -> None:
    """A rejection, a new cycle and an approval on d1; d2 requested and cancelled."""
    app.request_approval("d1", by="f1", message="Merci de vérifier")
    clock.advance(minutes=1)
    app.reject("d1", by="c1", reasons=["Wrong period"])
    clock.advance(minutes=1)
    app.request_approval("d1", by="f1")
    app.request_approval("d2", by="f1")
    clock.advance(minutes=1)
    app.approve("d1", by="c1", comment="Thanks")
    app.cancel("d2", by="f1")


EXPECTED = [
    ("approval.requested", "d1"),
    ("approval.rejected", "d1"),
    ("approval.requested", "d1"),
    ("approval.requested", "d2"),
    ("approval.approved", "d1"),
    ("approval.cancelled", "d2"),
]


def test_recorded_events_arrive_signed_in_log_order_once_each(
    connect: Connect, clock: ControllableClock, checking_receiver: Receiver, secret: str
) -> None:
    with WebhookSink(checking_receiver.url, secret, allow_private=True) as sink:
        app = connect(sink)
        request_and_decide(app, clock)
        notifier = app.notifier(composer=FixedComposer())
        notifier.run_once()
        notifier.run_once()  # nothing new: nothing sent again

    received = checking_receiver.received
    assert all(r.status == 204 for r in received)  # every signature checked out
    payloads = [verify(r.body, r.headers, secret) for r in received]
    assert [(p["type"], p["data"]["document_id"]) for p in payloads] == EXPECTED

    ids = [r.headers["webhook-id"] for r in received]
    assert len(set(ids)) == len(ids)
    for document_id in ("d1", "d2"):
        prefix = f"evt_{approval_request_id(document_id).hex}_"
        versions = [int(i.removeprefix(prefix)) for i in ids if i.startswith(prefix)]
        assert versions == sorted(versions)
        assert len(versions) == sum(1 for _, d in EXPECTED if d == document_id)

    rejected = payloads[1]
    assert rejected["data"]["rejection"]["reasons"] == ["Wrong period"]
    assert payloads[0]["data"]["message"] == "Merci de vérifier"
    assert payloads[0]["timestamp"] == "2026-01-05T09:00:00Z"
    assert payloads[4]["timestamp"] == "2026-01-05T09:03:00Z"


def test_an_outage_delays_events_and_delivers_each_once_in_order(
    connect: Connect, clock: ControllableClock, receiver: Receiver, secret: str
) -> None:
    receiver.default = Answer(503, body=b"maintenance")
    with WebhookSink(receiver.url, secret, allow_private=True) as sink:
        app = connect(sink)
        app.request_approval("d1", by="f1")
        app.approve("d1", by="c1")
        notifier = app.notifier(composer=FixedComposer())

        first = notifier.run_once()
        assert first.blocked
        assert len(receiver.received) == 1
        notifier.run_once()  # within the back-off: no new attempt
        assert len(receiver.received) == 1

        clock.advance(seconds=31)
        assert notifier.run_once().blocked
        assert len(receiver.received) == 2

        receiver.default = Answer(204)
        notifier.run_once()  # the back-off has doubled: still waiting
        assert len(receiver.received) == 2
        clock.advance(seconds=61)
        notifier.run_once()
        clock.advance(minutes=30)
        notifier.run_once()

    statuses = [r.status for r in receiver.received]
    assert statuses == [503, 503, 204, 204]
    ids = [r.headers["webhook-id"] for r in receiver.received]
    # The retried attempts carry the first event's id; each event lands once.
    assert ids[0] == ids[1] == ids[2] != ids[3]
    accepted = [verify(r.body, r.headers, secret) for r in receiver.accepted]
    assert [p["type"] for p in accepted] == ["approval.requested", "approval.approved"]


def test_a_refused_event_is_skipped_and_never_sent_again(
    connect: Connect, clock: ControllableClock, checking_receiver: Receiver
) -> None:
    # Signed with another secret than the receiver's: 401 for every event.
    with WebhookSink(
        checking_receiver.url, generate_secret(), allow_private=True
    ) as sink:
        app = connect(sink)
        app.request_approval("d1", by="f1")
        app.approve("d1", by="c1")
        notifier = app.notifier(composer=FixedComposer())
        delivery = notifier.run_once()
        clock.advance(hours=2)
        notifier.run_once()

    assert not delivery.blocked
    assert [r.status for r in checking_receiver.received] == [401, 401]
    types = [r.body.split(b'"')[3] for r in checking_receiver.received]
    assert types == [b"approval.requested", b"approval.approved"]


def test_only_the_chosen_event_types_are_published(
    connect: Connect, clock: ControllableClock, receiver: Receiver, secret: str
) -> None:
    chosen = ["approval.approved", "approval.cancelled"]
    with WebhookSink(receiver.url, secret, events=chosen, allow_private=True) as sink:
        app = connect(sink)
        request_and_decide(app, clock)
        app.notifier(composer=FixedComposer()).run_once()
    payloads = [verify(r.body, r.headers, secret) for r in receiver.received]
    assert [(p["type"], p["data"]["document_id"]) for p in payloads] == [
        ("approval.approved", "d1"),
        ("approval.cancelled", "d2"),
    ]
