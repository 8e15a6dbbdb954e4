"""The demo: the help-centre article's story, end to end, on an SQLite file.

A firm asks a client to approve its tax return; the client is reminded, the
firm resends, the client rejects with reasons, the firm re-requests a new
version and the client approves. Another document is requested and then
cancelled; a third is locked to an unpaid invoice. Run again on the same
file, the demo records nothing new and replays the stored history.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime

from approvalflow.application import Approvals
from approvalflow.bootstrap import connect
from approvalflow.domain.values import EntryPoint, ReminderPolicy
from approvalflow.testing import ControllableClock, InMemoryDirectory

__all__ = ["DEMO_DOCUMENTS", "demo_directory", "run_demo"]

#: The demo's documents, in the order they are shown.
DEMO_DOCUMENTS = ("tax-return-2025", "engagement-letter", "q3-bookkeeping")

FIRM = {"anna": "Anna Martin", "paul": "Paul Leroy"}


def demo_directory() -> InMemoryDirectory:
    """The demo firm: two staff, one client account with two linked users."""
    return InMemoryDirectory.from_data(
        {
            "firm_members": [
                {
                    "user_id": "anna",
                    "name": FIRM["anna"],
                    "email": "anna@martin-associes.example",
                    "approvals_notifications": True,
                    "language": "fr",
                },
                {
                    "user_id": "paul",
                    "name": FIRM["paul"],
                    "email": "paul@martin-associes.example",
                },
            ],
            "client_users": [
                {
                    "user_id": "claire",
                    "name": "Claire Dupont",
                    "email": "claire@dupont.example",
                },
                {
                    "user_id": "marc",
                    "name": "Marc Dupont",
                    "email": "marc@dupont.example",
                },
            ],
            "accounts": [{"account_id": "dupont", "name": "Dupont & Fils"}],
            # Marc is linked with Notify off: he may decide, but gets no email.
            "links": {
                "dupont": [
                    {"user_id": "claire", "notify": True},
                    {"user_id": "marc", "notify": False},
                ]
            },
            "documents": [
                _doc("tax-return-2025", "2025 Tax return", "pdf", "Income tax, 2025"),
                _doc("engagement-letter", "Engagement letter", "docx", None),
                _doc("q3-bookkeeping", "Q3 bookkeeping", "xlsx", "July-September"),
            ],
        }
    )


def _doc(doc_id: str, name: str, file_type: str, description: str | None) -> object:
    return {
        "facts": {
            "document_id": doc_id,
            "account_id": "dupont",
            "name": name,
            "file_type": file_type,
            "uploaded_by": FIRM["anna"],
            "description": description,
        },
        "client_visible": True,
    }


def _story(
    app: Approvals, clock: ControllableClock, say: Callable[[str], None]
) -> None:
    tax = "tax-return-2025"
    app.request_approval(
        tax,
        by="anna",
        account_id="dupont",
        message="Bonjour, voici votre déclaration 2025 : merci de la valider.",
        reminders=ReminderPolicy(days_before_next=3, count=2),
        entry_point=EntryPoint.VIEWER,
    )
    say("Anna asks Dupont & Fils to approve the 2025 tax return (reminders on).")
    clock.advance(days=3, hours=1)
    if app.remind(tax):
        say("Three quiet days later the scheduler sends the first reminder.")
    clock.advance(days=1)
    app.resend(tax, by="paul", message="Petit rappel : la date limite approche.")
    say("Paul resends with a new message; the reminder schedule restarts.")
    clock.advance(hours=5)
    app.reject(
        tax,
        by="claire",
        reasons=["Wrong tax year on page 2", "Missing the rental income"],
        comment="The flat in Lyon was rented from March.",
    )
    say("Claire rejects it, giving two reasons and a comment.")
    clock.advance(days=2)
    app.request_approval(
        tax,
        by="anna",
        message="Version corrigée, avec les revenus locatifs.",
        reminders=ReminderPolicy(),
        entry_point=EntryPoint.LIST,
    )
    say("Anna requests approval again for the corrected version.")
    clock.advance(hours=20)
    app.approve(tax, by="marc", comment="All good now, thank you.")
    say("Marc (Notify off, but linked) approves it.")

    letter = "engagement-letter"
    app.request_approval(letter, by="paul", entry_point=EntryPoint.UPLOAD)
    say("Paul requests approval of the engagement letter at upload...")
    clock.advance(minutes=30)
    app.cancel(letter, by="paul", note="Sent by mistake: wrong fee schedule.")
    say("...and cancels it half an hour later.")

    clock.advance(hours=2)
    app.lock_to_invoice("q3-bookkeeping", invoice_id="INV-2025-042", by="anna")
    say("Anna locks the Q3 bookkeeping to invoice INV-2025-042 (pending payment).")


def run_demo(url: str, echo: Callable[[str], None] = print) -> bool:
    """Run the story on the store at ``url`` (or replay it); print it all.

    Returns ``True`` if the story was recorded now, ``False`` if replayed.
    """
    clock = ControllableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    where = url.removeprefix("sqlite:///")
    with connect(url, directory=demo_directory(), clock=clock) as app:
        recorded_before = app.get_request(DEMO_DOCUMENTS[0]) is not None
        if recorded_before:
            echo(f"Replaying the history stored in {where} (nothing new recorded).")
        else:
            echo(f"Recording the demo story in {where}:")
            _story(app, clock, lambda line: echo(f"  - {line}"))
        for doc_id in DEMO_DOCUMENTS:
            echo("")
            _print_document(app, doc_id, echo)
    if not recorded_before:
        echo("")
        echo("Run the demo again to replay this history from the file.")
    return not recorded_before


def _print_document(app: Approvals, doc_id: str, echo: Callable[[str], None]) -> None:
    status = app.status(doc_id)
    state = status.state.value.replace("_", " ")
    payment = (
        f", pending payment (invoice {status.invoice_id})"
        if status.pending_payment
        else ""
    )
    echo(f"== {doc_id}: {state}{payment}")
    for cycle in app.cycles(doc_id):
        closed = f" {_when(cycle.closed_at)}" if cycle.closed_at else ""
        echo(
            f"   cycle {cycle.number}: {cycle.document.name} "
            f"({cycle.document.file_type}), requested {_when(cycle.requested_at)}"
            f" by {cycle.requested_by.name}; {cycle.outcome.value}{closed}"
        )
    echo("   history:")
    echo(f"   {'#':>3}  {'when':<20}  {'who':<14}  what")
    for entry in app.history(doc_id):
        who = entry.actor.name if entry.actor else "approvalflow"
        lines = textwrap.wrap(
            f"{entry.event}: {entry.summary()}", width=72, subsequent_indent="    "
        )
        echo(f"   {entry.version:>3}  {_when(entry.at):<20}  {who:<14}  {lines[0]}")
        for line in lines[1:]:
            echo(f"   {'':>3}  {'':<20}  {'':<14}  {line}")


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")
