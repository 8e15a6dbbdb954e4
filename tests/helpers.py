"""Test data and helpers shared by the test modules."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from approvalflow import Approvals
from approvalflow.testing import InMemoryDirectory
from tests.pg_server import PostgresServer

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

FIRM_DATA: dict[str, Any] = {
    "firm_members": [
        {
            "user_id": "f1",
            "name": "Anna Martin",
            "email": "anna@firm.example",
            "approvals_notifications": True,
        },
        {"user_id": "f2", "name": "Paul Leroy", "email": "paul@firm.example"},
    ],
    "client_users": [
        {"user_id": "c1", "name": "Claire Dupont", "email": "claire@acme.example"},
        {"user_id": "c2", "name": "Marc Dupont", "email": "marc@acme.example"},
        {"user_id": "g1", "name": "Greta Globex", "email": "greta@globex.example"},
    ],
    "accounts": [
        {"account_id": "acme", "name": "ACME"},
        {"account_id": "globex", "name": "Globex"},
    ],
    "links": {
        "acme": [{"user_id": "c1", "notify": True}, {"user_id": "c2", "notify": False}],
        "globex": [{"user_id": "g1", "notify": True}],
    },
    "documents": [
        *(
            {
                "facts": {
                    "document_id": f"d{i}",
                    "account_id": "acme",
                    "name": f"Document {i}",
                    "file_type": "pdf",
                    "uploaded_by": "Anna Martin",
                    "description": f"Description {i}",
                },
                "client_visible": True,
            }
            for i in range(1, 5)
        ),
        {
            "facts": {
                "document_id": "hidden",
                "account_id": "acme",
                "name": "Internal notes",
                "file_type": "docx",
                "uploaded_by": "Paul Leroy",
            },
            "client_visible": False,
        },
        {
            "facts": {
                "document_id": "g-doc",
                "account_id": "globex",
                "name": "Globex accounts",
                "file_type": "xlsx",
                "uploaded_by": "Paul Leroy",
            },
            "client_visible": True,
        },
    ],
}


def make_directory() -> InMemoryDirectory:
    """A fresh copy of the test firm's directory."""
    return InMemoryDirectory.from_data(FIRM_DATA)


def stored_records(app: Approvals) -> list[tuple[object, ...]]:
    """Every stored event, byte for byte, in notification order."""
    return [
        (n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state))
        for n in app.recorder.select_notifications(start=1, limit=1_000_000)
    ]


def postgres_url(server: PostgresServer) -> str:
    """A store URL in a schema of its own, so every test starts empty."""
    return f"{server.url}?schema=t_{uuid.uuid4().hex[:12]}&pool_size=2"


#: How long a test waits for another process (a worker, the portal, a
#: browser, a follower) to reach a condition: generous, so that a loaded
#: machine only makes the test slower, never red. A test that passes waits
#: only as long as the condition takes.
PATIENCE = 120.0


def eventually(
    check: Callable[[], object],
    what: str,
    *,
    timeout: float = PATIENCE,
    every: float = 0.1,
) -> None:
    """Retry ``check`` until it returns something true, for up to ``timeout`` s.

    For conditions another process brings about: wait for the condition,
    never for a time. ``what`` says what did not happen when it fails.
    """
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"after {timeout:.0f} s: {what}"
        time.sleep(every)


class FastClock:
    """A clock running ``speed`` times faster than the machine's, from ``origin``.

    Processes given the same origin and speed agree on the time, so reminders
    fall due within seconds in tests with real processes.
    """

    def __init__(self, origin: datetime, started: float, speed: float) -> None:
        self.origin = origin
        self.started = started
        self.speed = speed

    def now(self) -> datetime:
        elapsed = time.time() - self.started
        return self.origin + timedelta(seconds=elapsed * self.speed)


def make_busy_directory() -> InMemoryDirectory:
    """The test firm with twelve documents over two accounts."""
    from approvalflow import DocumentFacts  # noqa: PLC0415

    directory = make_directory()
    for i in range(12):
        account = "acme" if i % 3 else "globex"
        facts = DocumentFacts(f"b{i}", account, f"Busy {i}", "pdf", "Anna")
        directory.add_document(facts)
    directory.link("acme", "c2", notify=True)
    return directory


def populate(app: Any, documents: int, *, accounts: int = 50) -> None:
    """Record ``documents`` documents in mixed states, fast (aggregates saved
    in batches), spread over the 30 days before ``START`` + 30 days."""
    from approvalflow import ApprovalRequest  # noqa: PLC0415
    from approvalflow.domain.values import (  # noqa: PLC0415
        Actor,
        ActorRole,
        DocumentFacts,
        Rejection,
        ReminderPolicy,
    )

    staff = Actor("f1", "Fiona", ActorRole.FIRM_MEMBER)
    client = Actor("c1", "Carl", ActorRole.CLIENT_USER)
    batch: list[Any] = []
    for i in range(documents):
        at = START + timedelta(minutes=7 * i % (60 * 24 * 40))
        facts = DocumentFacts(f"p{i}", f"acct{i % accounts}", f"P {i}", "pdf", "Anna")
        agg = ApprovalRequest.open(facts.document_id, at)
        agg.request(
            document=facts,
            by=staff,
            message=None,
            reminders=ReminderPolicy(1 + i % 7, 2) if i % 3 else None,
            entry_point=None,
            at=at,
        )
        later = at + timedelta(hours=1)
        kind = (i // accounts) % 10  # every account gets every state
        if kind in (1, 2, 3):
            agg.approve(by=client, comment=None, at=later)
        elif kind in (4, 5):
            agg.reject(by=client, rejection=Rejection(reasons=["Wrong"]), at=later)
        elif kind == 6:
            agg.cancel(by=staff, note=None, at=later)
        if i % 7 == 0:
            agg.lock_to_invoice(
                invoice_id=f"INV{i}", by=staff, document=facts, at=later
            )
        batch.append(agg)
        if len(batch) == 1_000:
            app.log.save(*batch)
            batch = []
    if batch:
        app.log.save(*batch)
