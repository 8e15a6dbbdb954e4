"""The demo: the help-centre article's story, end to end, on an SQLite file.

A firm asks a client to approve its tax return; the client is reminded, the
firm resends, the client rejects with reasons, the firm re-requests a new
version and the client approves. Another document is requested and then
cancelled; a third is locked to an unpaid invoice. Run again on the same
file, the demo records nothing new and replays the stored history.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from approvalflow.application import Approvals
from approvalflow.bootstrap import connect, delivery_ports
from approvalflow.domain.errors import ApprovalFlowError
from approvalflow.domain.values import EntryPoint, ReminderPolicy, ReminderSchedule
from approvalflow.i18n import words
from approvalflow.readmodels.documents import DocumentRow
from approvalflow.testing import ControllableClock, InMemoryDirectory

__all__ = ["DEMO_DOCUMENTS", "demo_directory", "run_demo"]

#: The demo's documents, in the order they are shown.
DEMO_DOCUMENTS = ("tax-return-2025", "engagement-letter", "q3-bookkeeping")

FIRM = {"anna": "Anna Martin", "paul": "Paul Leroy"}

#: When the demo reads its lists (after the story's last event).
DEMO_NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


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
    app.record_activity(letter, kind="uploaded", by="paul")
    app.request_approval(letter, by="paul", entry_point=EntryPoint.UPLOAD)
    say("Paul uploads the engagement letter and requests approval at upload...")
    clock.advance(minutes=30)
    app.cancel(letter, by="paul", note="Sent by mistake: wrong fee schedule.")
    say("...and cancels it half an hour later.")

    clock.advance(hours=2)
    app.lock_to_invoice("q3-bookkeeping", invoice_id="INV-2025-042", by="anna")
    say("Anna locks the Q3 bookkeeping to invoice INV-2025-042 (pending payment).")
    clock.advance(minutes=10)
    app.request_approval(
        "q3-bookkeeping",
        by="anna",
        message="Merci de valider la tenue du 3e trimestre.",
        # Left pending: its reminder goes out whenever a worker is tried on
        # the demo's store, at any hour, so it is due in Paris days, any time.
        reminders=ReminderPolicy(
            days_before_next=5,
            count=3,
            schedule=ReminderSchedule(
                time_zone="Europe/Paris",
                window_start=None,
                window_end=None,
                business_days=False,
            ),
        ),
    )
    say("...and asks Dupont & Fils to approve it (still pending).")


class DemoPortal:
    """The client portal and Inbox+, kept in a JSON file beside the demo's store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: dict[str, Any] = (
            json.loads(path.read_text())
            if path.exists()
            else {"tasks": {}, "inbox": {}}
        )

    def _save(self) -> None:
        self.path.write_text(json.dumps(self.state, indent=2, ensure_ascii=False))

    def put_task(self, account_id: str, document_id: str, title: str) -> None:
        """Put the account's task for the document on top."""
        tasks = [
            t for t in self.state["tasks"].get(account_id, []) if t[0] != document_id
        ]
        self.state["tasks"][account_id] = [[document_id, title], *tasks]
        self._save()

    def remove_task(self, account_id: str, document_id: str) -> None:
        """Remove the account's task for the document."""
        tasks = self.state["tasks"].get(account_id, [])
        self.state["tasks"][account_id] = [t for t in tasks if t[0] != document_id]
        self._save()

    def notify_inbox(self, user_id: str, document_id: str, text: str) -> None:
        """Add an Inbox+ note for a firm member."""
        self.state["inbox"].setdefault(user_id, []).append(text)
        self._save()


def _deliver(app: Approvals) -> None:
    notifier = app.notifier(worker="demo")
    while notifier.run_once().events:
        pass  # again: recording who was told adds events of its own
    notifier.stop()


def _print_messages(
    folder: Path, mailer: Any, portal: DemoPortal, echo: Callable[[str], None]
) -> None:
    echo(f"== Emails sent (one .eml file each, in {folder})")
    messages = sorted(
        mailer.messages(),
        key=lambda m: (parsedate_to_datetime(str(m["Date"])), str(m["To"])),
    )
    for message in messages:
        sent = parsedate_to_datetime(str(message["Date"]))
        echo(
            f"   {_when(sent)}  [{message['Content-Language']}] to {message['To']}:"
            f" {message['Subject']}"
        )
    echo("")
    echo("== Portal: Dupont & Fils' Pending action list (top first)")
    for document_id, title in portal.state["tasks"].get("dupont", []):
        echo(f"   {title} ({document_id})")
    echo("")
    echo("== Inbox+ of Anna Martin (Approvals notifications on)")
    for text in portal.state["inbox"].get("anna", []):
        echo(f"   {text}")


def run_demo(url: str, echo: Callable[[str], None] = print) -> bool:
    """Run the story on the store at ``url`` (or replay it); print it all.

    Returns ``True`` if the story was recorded now, ``False`` if replayed.
    """
    clock = ControllableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    where = url.removeprefix("sqlite:///")
    shown = where if where != url else _without_password(url)
    # Emails are .eml files and the portal a JSON file, beside an SQLite
    # file or in the working directory, so a second run can show them too.
    base = where if where != url else "approvalflow-demo"
    folder = Path(f"{base}-mail")
    portal = DemoPortal(Path(f"{base}-portal.json"))
    ports = delivery_ports(
        mail_dir=folder,
        sender="cabinet@martin-associes.example",
        firm_name="Martin & Associés",
        language="en",
        portal_url="https://portal.martin-associes.example",
    )
    with connect(
        url,
        directory=demo_directory(),
        clock=clock,
        portal=portal,
        # A Paris firm: reminders 09:00-18:00 there, its days counted as
        # French working days (the firm's choice; calendar days by default).
        reminder_schedule=ReminderSchedule(
            time_zone="Europe/Paris", holidays="FR", count_working_days=True
        ),
        **ports,
    ) as app:
        recorded_before = app.get_request(DEMO_DOCUMENTS[0]) is not None
        if recorded_before:
            echo(f"Replaying the history stored in {shown} (nothing new recorded).")
        else:
            echo(f"Recording the demo story in {shown}:")

            def step(line: str) -> None:
                echo(f"  - {line}")
                _deliver(app)  # the worker runs between the steps

            _story(app, clock, step)
        # The lists are read "now", the same moment on every run.
        clock.set(max(clock.now(), DEMO_NOW))
        for doc_id in DEMO_DOCUMENTS:
            echo("")
            _print_document(app, doc_id, echo)
        echo("")
        _print_lists(app, echo)
        echo("")
        _print_messages(folder, ports["mailer"], portal, echo)
    if not recorded_before:
        echo("")
        echo("Run the demo again to replay this history from the file.")
    return not recorded_before


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _print_document(app: Approvals, doc_id: str, echo: Callable[[str], None]) -> None:
    status = app.status(doc_id)
    state = status.state.value.replace("_", " ")
    payment = (
        f", pending payment (invoice {status.invoice_id})"
        if status.pending_payment
        else ""
    )
    if status.state.value == "none":
        state = "request cancelled" if status.closed_at else "approval not requested"
    echo(f"== {doc_id}: {state}{payment}")
    for cycle in app.cycles(doc_id):
        closed = f" {_when(cycle.closed_at)}" if cycle.closed_at else ""
        echo(
            f"   request {cycle.number}: {cycle.document.name} "
            f"({cycle.document.file_type}), requested {_when(cycle.requested_at)}"
            f" by {cycle.requested_by.name}; {cycle.outcome.value}{closed}"
        )
    echo(f"   audit trail ({_ZONE} time):")
    for entry in app.audit_trail(doc_id, time_zone=_ZONE):
        echo(f"   {_when(entry.at)}")
        for line in textwrap.wrap(entry.summary, width=72):
            echo(f"      {line}")


def _print_lists(app: Approvals, echo: Callable[[str], None]) -> None:
    echo(f"== Recent documents (last 30 days, as of {_when(DEMO_NOW)})")
    for row in app.recent().rows:
        payment = ", pending payment" if row.pending_payment else ""
        echo(
            f"   {_when(row.last_activity_at)}  {row.name} ({row.file_type}): "
            f"{row.last_activity}; status {_row_state(row)}{payment}"
        )
    echo("")
    echo("== Approvals tab of Dupont & Fils")
    header = ("document", 24), ("requested", 12), ("uploaded by", 12), ("status", 17)
    echo("   " + " ".join(f"{title:<{width}}" for title, width in header) + " rejected")
    for row in app.approvals_tab("dupont").rows:
        assert row.requested_at is not None
        rejected = _WORDS.date(row.rejected_at) if row.rejected_at else "-"
        echo(
            f"   {row.name + ' (' + row.file_type + ')':<24}"
            f" {_WORDS.date(row.requested_at):<12} {row.uploaded_by:<12}"
            f" {_row_state(row):<17} {rejected}"
        )
        if row.description:
            echo(f"   {'':<24} {row.description}")
    echo("")
    echo("== Accounts with pending approvals")
    for account in app.accounts_pending():
        echo(f"   {account.account_id}: {account.pending} pending")
    echo("")
    echo("== Show more info: rejection reasons (not offered once approved)")
    for doc_id in DEMO_DOCUMENTS:
        try:
            reasons = app.rejection_reasons(doc_id)
        except ApprovalFlowError as refused:
            echo(f"   {doc_id}: {refused}")
            continue
        if not reasons:
            echo(f"   {doc_id}: never rejected")
        for r in reasons:
            comment = f" - {r.comment}" if r.comment else ""
            said = "; ".join(r.reasons)
            echo(f"   {doc_id}, request {r.cycle}, {r.by_name}: {said}{comment}")


def _state(value: str) -> str:
    return value.replace("_", " ")


def _row_state(row: DocumentRow) -> str:
    """A list row's status as a person says it (never "none")."""
    if row.state.value != "none":
        return _state(row.state.value)
    return "cancelled" if row.last_activity == "cancelled" else "not requested"


#: The demo firm is in Paris: its people read times there, in English.
_ZONE = "Europe/Paris"
_WORDS = words("en", _ZONE)


def _when(at: datetime) -> str:
    return _WORDS.time(at)
