"""Links for hosts whose portal has one URL pattern."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from approvalflow.domain.errors import ConfigurationError

__all__ = ["PortalLinks"]


class PortalLinks:
    """Review-documents links under one base URL.

    ``{base}/accounts/{account_id}/documents/{document_id}``, with the ids
    URL-quoted. A host with other URLs implements the ``Links`` port itself.
    """

    def __init__(self, base_url: str) -> None:
        # No default: a placeholder host in a real client's email is worse
        # than refusing to start.
        parts = urlsplit(base_url) if isinstance(base_url, str) else None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
            or any(c.isspace() for c in base_url)
        ):
            msg = (
                f"the portal URL must be an absolute http(s) URL without query "
                f"or fragment, e.g. https://portal.yourfirm.com, got {base_url!r}"
            )
            raise ConfigurationError(msg)
        self.base_url = base_url.rstrip("/")

    def review_documents(self, account_id: str, document_id: str) -> str:
        """The "Review documents" URL."""
        return (
            f"{self.base_url}/accounts/{quote(account_id, safe='')}"
            f"/documents/{quote(document_id, safe='')}"
        )
