"""``manage.py seed_portal``: the demo firm, its clients, documents and history.

Two firm members, three client accounts with linked users (one with
*Notify* off), folders the client sees and one it does not, a short text
file standing in for each document's real one, and a little approval
history so the lists are not empty. Run once on an empty
database; a second run changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from approvalflow_django import get_approvals
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import transaction

from approvalflow import ReminderPolicy
from portal.models import (
    AccountLink,
    ClientAccount,
    ClientUser,
    Document,
    Folder,
    Staff,
)
from portal.ports import DemoClock

PASSWORD = "demo"

FIRM = (
    # username, name, language, gets Approvals emails and Inbox+ notes
    ("claire", "Claire Martin", "fr", True),
    ("paul", "Paul Bernard", "en", False),
)
CLIENTS: dict[str, dict[str, Any]] = {
    "dupont": {
        "name": "Boulangerie Dupont",
        # username, name, language, Notify
        "users": [
            ("marie", "Marie Dupont", "fr", True),
            ("luc", "Luc Dupont", "fr", False),
        ],
        "folders": {
            ("Comptabilité 2025", True): [
                (
                    "dupont-bilan-2025",
                    "Bilan 2025",
                    "pdf",
                    "Bilan et compte de résultat",
                ),
                ("dupont-tva-t1", "Déclaration TVA T1 2026", "pdf", ""),
                ("dupont-grand-livre", "Grand livre 2025", "xlsx", ""),
                ("dupont-liasse", "Liasse fiscale 2025", "pdf", ""),
            ],
            ("Paie", True): [
                ("dupont-paie-mars", "Bulletins de paie mars 2026", "pdf", ""),
                ("dupont-paie-avril", "Bulletins de paie avril 2026", "pdf", ""),
            ],
            ("Notes internes du cabinet", False): [
                (
                    "dupont-notes",
                    "Notes de révision",
                    "docx",
                    "Pour le cabinet seulement",
                ),
            ],
        },
    },
    "acme": {
        "name": "Acme Trading Ltd",
        "users": [
            ("john", "John Smith", "en", True),
            ("sarah", "Sarah Lee", "en", True),
        ],
        "folders": {
            ("Accounts 2025", True): [
                (
                    "acme-accounts-2025",
                    "Annual accounts 2025",
                    "pdf",
                    "Draft for the board",
                ),
                ("acme-vat-q1", "VAT return Q1 2026", "pdf", ""),
                ("acme-payroll-q1", "Payroll summary Q1 2026", "xlsx", ""),
            ],
            ("Working papers", False): [
                ("acme-working-papers", "Audit working papers", "xlsx", ""),
            ],
        },
    },
    "lefebvre": {
        "name": "Lefebvre Architectes",
        "users": [("sophie", "Sophie Lefebvre", "fr", True)],
        "folders": {
            ("Exercice 2025", True): [
                ("lefebvre-bilan-2025", "Bilan 2025", "pdf", ""),
                ("lefebvre-cfe", "Avis de CFE 2026", "pdf", ""),
                ("lefebvre-lettre-mission", "Lettre de mission 2026", "pdf", ""),
            ],
        },
    },
}


def _stand_in(ref: str, name: str, description: str) -> ContentFile[bytes]:
    """A short text file standing in for a seeded document's real file.

    Files uploaded in the portal are stored and served as they are; the
    demo's own documents get this, so every one of them can be opened.
    """
    text = f"{name}\n\n{description or name}\n\n(A demo document: {ref}.)\n"
    return ContentFile(text.encode(), name=f"{ref}.txt")


class Command(BaseCommand):
    """Create the demo data, unless it is there already."""

    help = "Create the portal's demo firm, clients, documents and a little history."

    def handle(self, *args: Any, **options: Any) -> None:
        """Seed an empty database; say so and change nothing otherwise."""
        del args, options
        if Staff.objects.exists():
            self.stdout.write("The demo data is there already.")
            return
        with transaction.atomic():
            self._people_and_documents()
            self._history()
        self.stdout.write(
            f"Seeded {Staff.objects.count()} firm members, "
            f"{ClientAccount.objects.count()} client accounts and "
            f"{Document.objects.count()} documents."
        )

    def _people_and_documents(self) -> None:
        staff = {}
        for username, name, language, approvals in FIRM:
            user = User.objects.create_user(username, password=PASSWORD)
            staff[username] = Staff.objects.create(
                user=user,
                full_name=name,
                email=f"{username}@martin-associes.example",
                wants_approval_emails=approvals,
                language=language,
            )
        now = DemoClock().now()
        for code, spec in CLIENTS.items():
            account = ClientAccount.objects.create(code=code, name=spec["name"])
            for username, name, language, notify in spec["users"]:
                user = User.objects.create_user(username, password=PASSWORD)
                person = ClientUser.objects.create(
                    user=user,
                    name=name,
                    email=f"{username}@{code}.example",
                    language=language,
                )
                AccountLink.objects.create(account=account, user=person, notify=notify)
            for i, ((folder_name, visible), documents) in enumerate(
                spec["folders"].items()
            ):
                folder = Folder.objects.create(
                    account=account, name=folder_name, client_visible=visible
                )
                for j, (ref, name, file_type, description) in enumerate(documents):
                    Document.objects.create(
                        ref=ref,
                        folder=folder,
                        name=name,
                        file_type=file_type,
                        uploaded_by=staff["claire" if code != "acme" else "paul"],
                        description=description,
                        uploaded_at=now - timedelta(days=2 + i + j),
                        file=_stand_in(ref, name, description),
                    )

    def _history(self) -> None:
        """Some approvals already under way, through approvalflow's API."""
        approvals = get_approvals()
        for doc in Document.objects.select_related("uploaded_by__user"):
            approvals.record_activity(
                doc.ref, kind="uploaded", by=doc.uploaded_by.user.username
            )
        approvals.request_approval(
            "acme-accounts-2025",
            by="paul",
            message="Please review the draft accounts before the board meeting.",
            reminders=ReminderPolicy(days_before_next=3, count=2),
        )
        approvals.request_approval("dupont-tva-t1", by="claire")
        approvals.approve("dupont-tva-t1", by="marie", comment="Parfait, merci.")
        approvals.request_approval(
            "lefebvre-cfe",
            by="claire",
            message="Merci de valider l'avis de CFE.",
            reminders=ReminderPolicy(days_before_next=2, count=1),
        )
        approvals.request_approval("lefebvre-lettre-mission", by="claire")
        approvals.reject(
            "lefebvre-lettre-mission",
            by="sophie",
            reasons=["Honoraires à revoir"],
            comment="Pouvons-nous en parler ?",
        )
        approvals.lock_to_invoice("acme-vat-q1", invoice_id="INV-2026-031", by="paul")
