"""A host application wiring approvalflow to its own data, in ~60 lines.

The host owns users, accounts and documents; it tells approvalflow about them
through a Directory. Run it: ``python examples/host_app.py``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import approvalflow
from approvalflow import (
    AccountLink,
    ClientAccount,
    ClientUser,
    Document,
    DocumentFacts,
    FirmMember,
    ReminderPolicy,
)

# The host's own tables, as plain dicts here.
STAFF = {"s-1": FirmMember("s-1", "Ines Garcia", "ines@firm.example")}
CLIENTS = {"u-9": ClientUser("u-9", "Tom Baker", "tom@bakery.example")}
LINKS = {"bakery": [AccountLink("u-9", notify=True)]}
DOCS = {
    "doc-42": Document(
        DocumentFacts("doc-42", "bakery", "Payroll Q1", "pdf", "Ines Garcia"),
        client_visible=True,
    )
}


class HostDirectory:
    """The host's adapter for the Directory port."""

    def document(self, document_id: str) -> Document | None:
        return DOCS.get(document_id)

    def account(self, account_id: str) -> ClientAccount | None:
        return (
            ClientAccount(account_id, "The Bakery") if account_id == "bakery" else None
        )

    def firm_member(self, user_id: str) -> FirmMember | None:
        return STAFF.get(user_id)

    def client_user(self, user_id: str) -> ClientUser | None:
        return CLIENTS.get(user_id)

    def account_links(self, account_id: str) -> Sequence[AccountLink]:
        return LINKS.get(account_id, [])

    def approvals_subscribers(self) -> Sequence[FirmMember]:
        return [m for m in STAFF.values() if m.approvals_notifications]


def main(folder: Path) -> str:
    url = f"sqlite:///{folder / 'host.sqlite3'}"
    with approvalflow.connect(url, directory=HostDirectory()) as approvals:
        approvals.request_approval(
            "doc-42", by="s-1", message="Please check the payroll.",
            reminders=ReminderPolicy(days_before_next=2, count=3),
        )  # fmt: skip
        try:
            approvals.approve("doc-42", by="s-1")  # staff cannot approve
        except approvalflow.NotAuthorizedError as refused:
            print("refused:", refused)
        approvals.approve("doc-42", by="u-9", comment="Looks right.")
        state = approvals.status("doc-42").state.value
    print("doc-42 is", state)
    return state


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))
