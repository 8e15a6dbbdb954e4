"""Stores for the benchmarks: built fast, and the bare eventsourcing baselines.

Building a store of a million events by running a million commands would take
longer than the benchmark itself, so :func:`build_store` writes approvalflow's
own events directly: a bare eventsourcing ``Application`` named like
approvalflow's (``Approvals``: the same tables), taught approvalflow's value
types, saves ``ApprovalRequest`` aggregates changed through the aggregate's
own methods (with explicit times), a few thousand aggregates per ``save()``.
The events are exactly those commands would record; only the read models are
left empty, for a rebuild or a catch-up to fill.

:class:`BareRequest` and :class:`BareApp` are the baseline: what plain
eventsourcing costs for a comparable aggregate, with none of approvalflow's
validation, authorization, directory look-ups or read models.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder
from tests.helpers import START, make_directory

import approvalflow
from approvalflow import (
    Actor,
    ActorRole,
    ApprovalRequest,
    DocumentFacts,
    EntryPoint,
    Rejection,
    ReminderPolicy,
)
from approvalflow.persistence import register_transcodings
from approvalflow.storage import APPLICATION_ID
from approvalflow.testing import ControllableClock, InMemoryDirectory
from bench._common import progress

#: The firm member every built request names.
FIRM = Actor("f1", "Anna Martin", ActorRole.FIRM_MEMBER)
#: Accounts over which built documents are spread (W5's "~50 accounts").
ACCOUNTS = tuple(f"acct{n:02d}" for n in range(50))
#: Aggregates per ``save()`` when building: one transaction of ~10k events.
BUILD_BATCH = 2_000
DAY = timedelta(days=1)


def sqlite_url(path: Path) -> str:
    """An approvalflow store URL for an SQLite file."""
    return f"sqlite:///{path}"


def sqlite_env(path: Path) -> dict[str, str]:
    """eventsourcing's settings for an SQLite file."""
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def postgres_env(url: str, schema: str) -> dict[str, str]:
    """eventsourcing's settings for a PostgreSQL URL, in ``schema``.

    The same mapping approvalflow makes from a URL (user, password, host,
    port, database), written out here so the baseline depends on eventsourcing
    alone.
    """
    parts = urlsplit(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or ""),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": "5",
    }


def with_schema(url: str, schema: str) -> str:
    """The URL with ``?schema=`` set (replacing any the URL had)."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items() if k != "schema"}
    query["schema"] = schema
    text = "&".join(f"{k}={v}" for k, v in query.items())
    return parts._replace(query=text).geturl()


def create_schema(url: str, schema: str) -> None:
    """Create a PostgreSQL schema (eventsourcing does not create schemas)."""
    import psycopg  # noqa: PLC0415 - only W6 needs PostgreSQL
    from psycopg import sql  # noqa: PLC0415

    env = postgres_env(url, schema)
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        autocommit=True,
    ) as conn:
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
        )


# -- the bare eventsourcing baseline -------------------------------------------


class BareRequest(Aggregate):
    """A plain eventsourcing aggregate with a request's three events."""

    class Requested(Aggregate.Created):
        document_id: str
        account_id: str
        by: str
        message: str | None

    class Resent(Aggregate.Event):
        by: str
        message: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, BareRequest)
            aggregate.resends += 1

    class Approved(Aggregate.Event):
        by: str
        comment: str | None

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, BareRequest)
            aggregate.state = "approved"

    def __init__(
        self, document_id: str, account_id: str, by: str, message: str | None
    ) -> None:
        self.document_id = document_id
        self.account_id = account_id
        self.requested_by = by
        self.message = message
        self.resends = 0
        self.state = "pending"

    @classmethod
    def request(cls, document_id: str, by: str, message: str | None) -> BareRequest:
        return cls._create(
            cls.Requested,
            id=bare_id(document_id),
            document_id=document_id,
            account_id="acme",
            by=by,
            message=message,
        )

    def resend(self, by: str, message: str | None) -> None:
        self.trigger_event(self.Resent, by=by, message=message)

    def approve(self, by: str, comment: str | None) -> None:
        self.trigger_event(self.Approved, by=by, comment=comment)


def bare_id(document_id: str) -> UUID:
    """The bare aggregate's id, derived from the document id like approvalflow's."""
    return uuid5(NAMESPACE_URL, f"bench:{document_id}")


class BareApp(Application[UUID]):
    """A bare eventsourcing application for the baselines."""

    name = "Bare"


def bare_cycle(app: BareApp, document_id: str) -> None:
    """Request, resend, approve: three commands, one ``save()`` each.

    Each command after the first loads the aggregate from its events, as an
    event-sourced application handling separate requests does (approvalflow
    loads it too).
    """
    app.save(BareRequest.request(document_id, "f1", "Please review"))
    aggregate: object = app.repository.get(bare_id(document_id))
    assert isinstance(aggregate, BareRequest)
    aggregate.resend("f1", "A reminder from us")
    app.save(aggregate)
    aggregate = app.repository.get(bare_id(document_id))
    assert isinstance(aggregate, BareRequest)
    aggregate.approve("c1", "Thanks")
    app.save(aggregate)


def approvalflow_cycle(app: approvalflow.Approvals, document_id: str) -> None:
    """The same cycle through approvalflow's commands."""
    app.request_approval(document_id, by="f1", message="Please review")
    app.resend(document_id, by="f1", message="A reminder from us")
    app.approve(document_id, by="c1", comment="Thanks")


def cycle_directory(document_ids: list[str]) -> InMemoryDirectory:
    """The test firm's directory with these documents, all in account acme."""
    directory = make_directory()
    add_documents(directory, document_ids)
    return directory


def add_documents(directory: InMemoryDirectory, document_ids: list[str]) -> None:
    """Add client-visible documents to account acme (client c1 is linked)."""
    for doc in document_ids:
        directory.add_document(DocumentFacts(doc, "acme", f"Doc {doc}", "pdf", "Anna"))


def open_approvals(
    url: str, directory: InMemoryDirectory | None = None, start: datetime = START
) -> tuple[approvalflow.Approvals, ControllableClock]:
    """approvalflow on ``url`` with a controllable clock."""
    clock = ControllableClock(start)
    app = approvalflow.connect(
        url, directory=directory or make_directory(), clock=clock
    )
    return app, clock


# -- building approvalflow stores fast -----------------------------------------


class Approvals(Application[UUID]):
    """Writes approvalflow's events without approvalflow's application.

    The name must be approvalflow's: eventsourcing derives table names and
    settings prefixes from it, and approvalflow reads the same ones.
    """

    name = "Approvals"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_transcodings(transcoder)


#: Makes one document's aggregate: (index, the store's "now") -> aggregate.
Plan = Callable[[int, datetime], ApprovalRequest]


def facts(i: int) -> DocumentFacts:
    """Document ``i``'s facts; accounts round-robin over :data:`ACCOUNTS`."""
    account = ACCOUNTS[i % len(ACCOUNTS)]
    return DocumentFacts(
        f"doc{i}", account, f"Document {i}", "pdf", "Anna Martin", f"About {i}"
    )


def client(i: int) -> Actor:
    """A client user of document ``i``'s account."""
    account = ACCOUNTS[i % len(ACCOUNTS)]
    return Actor(f"c-{account}", f"Client of {account}", ActorRole.CLIENT_USER)


def requested(
    i: int, at: datetime, reminders: ReminderPolicy | None
) -> ApprovalRequest:
    """Document ``i`` opened and requested at ``at``."""
    aggregate = ApprovalRequest.open(f"doc{i}", at)
    aggregate.request(
        document=facts(i),
        by=FIRM,
        message=f"Please review document {i}",
        reminders=reminders,
        entry_point=EntryPoint.UPLOAD,
        at=at,
    )
    return aggregate


def history_plan(i: int, now: datetime) -> ApprovalRequest:
    """A varied history of about five events (W3's log).

    Request, resend, reminder, approval, rejection, re-request, cancel, and
    an invoice lock: every event kind the read models handle.
    """
    at = now - timedelta(days=60) + timedelta(seconds=i)
    kind = i % 10
    policy = ReminderPolicy(days_before_next=1, count=2)
    if kind == 9:  # locked to an invoice, then requested and approved
        aggregate = ApprovalRequest.open(f"doc{i}", at)
        aggregate.lock_to_invoice(
            invoice_id=f"inv{i}", by=FIRM, document=facts(i), at=at
        )
        aggregate.request(
            document=facts(i),
            by=FIRM,
            message=None,
            reminders=None,
            entry_point=EntryPoint.LIST,
            at=at + timedelta(hours=1),
        )
        aggregate.approve(by=client(i), comment=None, at=at + timedelta(days=1))
        aggregate.mark_invoice_paid(
            invoice_id=f"inv{i}", by=client(i), at=at + timedelta(days=2)
        )
        return aggregate
    aggregate = requested(i, at, policy)
    if kind < 4:  # resend, reminder, approval
        aggregate.resend(by=FIRM, message="Resent", reminders=policy, at=at + DAY)
        aggregate.remind(at=at + 3 * DAY)
        aggregate.approve(by=client(i), comment="Fine", at=at + 4 * DAY)
    elif kind < 6:  # rejected, requested again, approved
        aggregate.reject(
            by=client(i),
            rejection=Rejection(reasons=("Wrong period",), comment="See p. 2"),
            at=at + DAY,
        )
        aggregate.request(
            document=facts(i),
            by=FIRM,
            message="Fixed",
            reminders=None,
            entry_point=EntryPoint.VIEWER,
            at=at + 2 * DAY,
        )
        aggregate.approve(by=client(i), comment=None, at=at + 3 * DAY)
    elif kind < 8:  # reminded, resent, still pending
        aggregate.remind(at=at + 2 * DAY)
        aggregate.resend(by=FIRM, message=None, reminders=policy, at=at + 3 * DAY)
    else:  # cancelled
        aggregate.cancel(by=FIRM, note="Sent by mistake", at=at + DAY)
    return aggregate


def events_of(aggregate: ApprovalRequest) -> int:
    """How many events a new aggregate will save: its version counts them."""
    return aggregate.version


@dataclass(frozen=True)
class Built:
    """A built store: where, how many documents and events."""

    path: Path
    documents: int
    events: int


def build_store(
    path: Path,
    plan: Plan,
    *,
    documents: int | None = None,
    events: int | None = None,
    now: datetime,
    label: str,
) -> Built:
    """Write documents' events into an SQLite file; stop at a count.

    Stops after ``documents`` documents, or once ``events`` events are
    written (a whole aggregate at a time, so a few more).
    """
    app = Approvals(env=sqlite_env(path))
    started = time.perf_counter()
    written_docs = written_events = 0
    last_report = started

    def more() -> bool:
        if documents is not None:
            return written_docs < documents
        assert events is not None
        return written_events < events

    try:
        while more():
            batch = []
            for _ in range(BUILD_BATCH):
                if not more():
                    break
                aggregate = plan(written_docs, now)
                written_events += events_of(aggregate)
                written_docs += 1
                batch.append(aggregate)
            app.save(*batch)
            if time.perf_counter() - last_report > 5:
                last_report = time.perf_counter()
                target = (
                    f"{documents:,} documents" if documents else f"{events:,} events"
                )
                progress(
                    f"{label}: {written_docs:,} documents, {written_events:,} events"
                    f" of {target} ({last_report - started:.0f} s)"
                )
    finally:
        app.close()
    # Written by eventsourcing directly (fast), but approvalflow's events:
    # marked as its store, as approvalflow marks the files it creates (a
    # bare eventsourcing database is another application's).
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    progress(
        f"{label}: built {written_docs:,} documents, {written_events:,} events in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return Built(path, written_docs, written_events)


def fill_read_models(url: str, label: str) -> None:
    """Bring a built store's read models up to the head of its log."""
    started = time.perf_counter()
    with approvalflow.connect(url) as app:
        if any(v.position < v.head for v in app.views_status()):
            app.rebuild_views()
    progress(f"{label}: read models filled in {time.perf_counter() - started:.1f} s")
