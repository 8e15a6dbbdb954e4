"""Every command and every per-user query, against every kind of actor.

Actors: a firm member (f1), a client user linked to the document's account
(c1, acme), a client user of another account (g1, globex), a client user
linked to no account (loner), a user the directory does not know (nobody).
Each case is allowed (it succeeds) or refused (NotAuthorizedError, nothing
recorded). A document that moved accounts after its request is checked on
its own.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import attrs
import pytest

from approvalflow import (
    Approvals,
    ClientUser,
    DocumentFacts,
    NotAuthorizedError,
    connect,
)
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests.helpers import START, make_directory, stored_records

ACTORS = ("f1", "c1", "g1", "loner", "nobody")
FIRM = frozenset({"f1"})
FIRM_AND_CLIENT = frozenset({"f1", "c1"})
CLIENT = frozenset({"c1"})

Case = Callable[[Approvals, str], object]

COMMANDS: dict[str, tuple[Case, frozenset[str]]] = {
    "request_approval": (lambda a, u: a.request_approval("d2", by=u), FIRM),
    "resend": (lambda a, u: a.resend("d1", by=u), FIRM),
    "cancel": (lambda a, u: a.cancel("d1", by=u), FIRM),
    "lock_to_invoice": (
        lambda a, u: a.lock_to_invoice("d2", invoice_id="I-2", by=u),
        FIRM,
    ),
    "mark_invoice_paid": (
        lambda a, u: a.mark_invoice_paid("d3", invoice_id="I-3", by=u),
        FIRM_AND_CLIENT,
    ),
    "record_activity": (
        lambda a, u: a.record_activity("d1", kind="downloaded", by=u),
        FIRM_AND_CLIENT,
    ),
    "approve": (lambda a, u: a.approve("d1", by=u), CLIENT),
    "reject": (lambda a, u: a.reject("d1", by=u, reasons=["No"]), CLIENT),
}

QUERIES: dict[str, tuple[Case, frozenset[str]]] = {
    "status": (lambda a, u: a.queries_for(u).status("d1"), FIRM_AND_CLIENT),
    "cycles": (lambda a, u: a.queries_for(u).cycles("d1"), FIRM_AND_CLIENT),
    "history": (lambda a, u: a.queries_for(u).history("d1"), FIRM_AND_CLIENT),
    "audit_trail": (lambda a, u: a.queries_for(u).audit_trail("d1"), FIRM_AND_CLIENT),
    "rejection_reasons": (
        lambda a, u: a.queries_for(u).rejection_reasons("d1"),
        FIRM_AND_CLIENT,
    ),
    "client_view": (lambda a, u: a.queries_for(u).client_view("d1"), FIRM_AND_CLIENT),
    "document_as_of": (
        lambda a, u: a.queries_for(u).document_as_of("d1", START + timedelta(days=1)),
        FIRM_AND_CLIENT,
    ),
    "recent of an account": (
        lambda a, u: a.queries_for(u).recent(account_id="acme"),
        FIRM_AND_CLIENT,
    ),
    "recent of the firm": (lambda a, u: a.queries_for(u).recent(), FIRM),
    "approvals_tab": (
        lambda a, u: a.queries_for(u).approvals_tab("acme"),
        FIRM_AND_CLIENT,
    ),
    "approvals_tab_as_of": (
        lambda a, u: a.queries_for(u).approvals_tab_as_of("acme", START),
        FIRM_AND_CLIENT,
    ),
    "accounts_pending": (lambda a, u: a.queries_for(u).accounts_pending(), FIRM),
}


@pytest.fixture
def directory() -> InMemoryDirectory:
    directory = make_directory()
    directory.client_users["loner"] = ClientUser("loner", "Lone User", "l@x.example")
    return directory


@pytest.fixture
def clock() -> ControllableClock:
    return ControllableClock(START)


@pytest.fixture
def app(directory: InMemoryDirectory, clock: ControllableClock) -> Iterator[Approvals]:
    with connect("memory://", directory=directory, clock=clock) as app:
        app.request_approval("d1", by="f1")
        app.request_approval("d3", by="f1")
        app.approve("d3", by="c1")
        app.lock_to_invoice("d3", invoice_id="I-3", by="f1")
        yield app


def _cases(table: dict[str, tuple[Case, frozenset[str]]]) -> list[Any]:
    return [
        pytest.param(name, actor, id=f"{name}-{actor}")
        for name in sorted(table)
        for actor in ACTORS
    ]


@pytest.mark.parametrize(("command", "actor"), _cases(COMMANDS))
def test_commands(app: Approvals, command: str, actor: str) -> None:
    run, allowed = COMMANDS[command]
    if actor in allowed:
        run(app, actor)
        return
    before = stored_records(app)
    with pytest.raises(NotAuthorizedError) as caught:
        run(app, actor)
    assert caught.value.user_id == actor
    assert stored_records(app) == before


@pytest.mark.parametrize(("query", "actor"), _cases(QUERIES))
def test_queries_for_a_user(app: Approvals, query: str, actor: str) -> None:
    run, allowed = QUERIES[query]
    if actor in allowed:
        run(app, actor)
        return
    with pytest.raises(NotAuthorizedError) as caught:
        run(app, actor)
    assert caught.value.user_id == actor


def test_a_client_never_sees_a_document_that_is_not_client_visible(
    app: Approvals, directory: InMemoryDirectory
) -> None:
    # Activity on a document of acme's that the client cannot see.
    app.record_activity("hidden", kind="uploaded", by="f1")
    assert "hidden" in [r.document_id for r in app.recent(account_id="acme").rows]
    mine = app.queries_for("c1").recent(account_id="acme")
    assert "hidden" not in [r.document_id for r in mine.rows]
    with pytest.raises(NotAuthorizedError):
        app.queries_for("c1").history("hidden")
    assert app.queries_for("f1").history("hidden")


def test_a_document_that_moved_accounts(
    app: Approvals, directory: InMemoryDirectory
) -> None:
    # d1 was requested while in acme, then moved to globex.
    moved = attrs.evolve(directory.documents["d1"].facts, account_id="globex")
    directory.add_document(moved)
    # Reading follows where the document is now...
    with pytest.raises(NotAuthorizedError):
        app.queries_for("c1").status("d1")
    assert app.queries_for("g1").status("d1").cycle == 1
    # ...deciding follows the account the request was made to.
    with pytest.raises(NotAuthorizedError):
        app.approve("d1", by="g1")
    app.approve("d1", by="c1")


def _decoded(cursor: str | None) -> str:
    return "" if cursor is None else base64.urlsafe_b64decode(cursor).decode()


@pytest.mark.parametrize("lists", ["recent", "approvals_tab"])
def test_a_clients_pages_and_cursors_never_name_a_hidden_document(
    app: Approvals, directory: InMemoryDirectory, clock: ControllableClock, lists: str
) -> None:
    # Hidden documents of acme's, the most recent ones, between visible ones.
    hidden = []
    for i in range(6):
        clock.advance(minutes=1)
        doc = f"secret-{i}"
        facts = DocumentFacts(doc, "acme", f"Secret {i}", "pdf", "Anna")
        # Requested while the client could see it, then hidden by the firm:
        # on the Approvals tab as well as the recent list.
        directory.add_document(facts)
        app.request_approval(doc, by="f1")
        directory.add_document(facts, client_visible=False)
        hidden.append(doc)
        if i % 2:
            clock.advance(minutes=1)
            app.record_activity("d1", kind="modified", by="f1")
    queries = app.queries_for("c1")

    def page(after: str | None, limit: int) -> Any:
        if lists == "recent":
            return queries.recent(account_id="acme", limit=limit, after=after)
        return queries.approvals_tab("acme", limit=limit, after=after)

    firm_rows = (
        app.recent(account_id="acme", limit=100)
        if lists == "recent"
        else app.approvals_tab("acme", limit=100)
    ).rows
    expected = [r.document_id for r in firm_rows if r.document_id not in hidden]
    assert expected, "the client has documents to see"
    for limit in (1, 2, 3):
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(50):
            got = page(cursor, limit)
            assert len(got.rows) <= limit
            seen += [r.document_id for r in got.rows]
            assert not any(h in _decoded(got.next_cursor) for h in hidden)
            if got.next_cursor is None:
                break
            assert len(got.rows) == limit  # a page is full unless it is the last
            cursor = got.next_cursor
        assert seen == expected, limit


def test_a_clients_history_and_trail_leave_out_who_else_was_told(
    directory: InMemoryDirectory,
) -> None:
    from approvalflow.testing import (  # noqa: PLC0415
        FixedComposer,
        RecordingMailer,
        StaticLinks,
    )

    directory.link("acme", "c2", notify=True)
    with connect(
        "memory://",
        directory=directory,
        clock=ControllableClock(START),
        mailer=RecordingMailer(),
        links=StaticLinks(),
        composer=FixedComposer(),
    ) as app:
        app.request_approval("d1", by="f1")
        app.notifier(worker="w").run_once()
        app.approve("d1", by="c1")
        app.notifier(worker="w").run_once()
        firm = app.queries_for("f1").history("d1")
        assert any(e.event == "Notified" for e in firm)
        for view in (
            [repr(e) for e in app.queries_for("c1").history("d1")],
            [repr(r) for r in app.queries_for("c1").audit_trail("d1")],
        ):
            text = "\n".join(view)
            assert "Approved" in text
            # Who requested is shown; whom else approvalflow told, and where, not.
            for other in ("marc", "@", "notified"):
                assert other not in text.lower(), (other, text)
