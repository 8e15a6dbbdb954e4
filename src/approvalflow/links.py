"""Links for hosts whose portal has one URL pattern."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["PortalLinks"]


class PortalLinks:
    """Review-documents links under one base URL.

    ``{base}/accounts/{account_id}/documents/{document_id}``, with the ids
    URL-quoted. A host with other URLs implements the ``Links`` port itself.
    """

    def __init__(self, base_url: str = "https://portal.example.com") -> None:
        self.base_url = base_url.rstrip("/")

    def review_documents(self, account_id: str, document_id: str) -> str:
        """The "Review documents" URL."""
        return (
            f"{self.base_url}/accounts/{quote(account_id, safe='')}"
            f"/documents/{quote(document_id, safe='')}"
        )
