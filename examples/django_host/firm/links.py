"""The firm's own URLs in approvalflow's emails (``APPROVALFLOW["LINKS"]``).

The example host's URLs are its own views; a real host builds them with
``django.urls.reverse`` under its public address.
"""

from __future__ import annotations

from urllib.parse import quote


class HostLinks:
    """approvalflow's ``Links`` port on the example host's pages."""

    base = "https://martin.example"

    def review_documents(self, account_id: str, document_id: str) -> str:
        """Where a client reviews the document: the host's own document page."""
        del account_id  # the host's URLs name the document alone
        return f"{self.base}/documents/{quote(document_id, safe='')}"

    def email_preferences(self, user_id: str) -> str | None:
        """The page where each person chooses their emails."""
        return f"{self.base}/people/{quote(user_id, safe='')}/emails"
