"""Links for hosts whose portal has one URL pattern."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from approvalflow.domain.errors import ConfigurationError

__all__ = ["PortalLinks"]


def _web_url(what: str, value: object, example: str) -> str:
    """``value`` if it is a web address, else :class:`ConfigurationError`."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if (
        not isinstance(value, str)
        or parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c.isspace() for c in value)
    ):
        msg = (
            f"the {what} must be an absolute http(s) URL without query "
            f"or fragment, e.g. {example}, got {value!r}"
        )
        raise ConfigurationError(msg)
    return value


def _document_path(account_id: str, document_id: str) -> str:
    account, document = quote(account_id, safe=""), quote(document_id, safe="")
    return f"/accounts/{account}/documents/{document}"


class PortalLinks:
    """Review-documents links under one base URL.

    ``{base}/accounts/{account_id}/documents/{document_id}``, with the ids
    URL-quoted. With ``firm_url``, the firm's decision emails link to the same
    path under it ("View document"); with ``preferences_url``, every email
    names that page as where to choose which emails one gets (and carries it
    as ``List-Unsubscribe``). A host with other URLs implements the ``Links``
    port itself.
    """

    def __init__(
        self,
        base_url: str,
        *,
        firm_url: str | None = None,
        preferences_url: str | None = None,
    ) -> None:
        # No default: a placeholder host in a real client's email is worse
        # than refusing to start.
        self.base_url = _web_url(
            "portal URL", base_url, "https://portal.yourfirm.com"
        ).rstrip("/")
        self.firm_url = (
            None
            if firm_url is None
            else _web_url("firm URL", firm_url, "https://app.yourfirm.com").rstrip("/")
        )
        self.preferences_url = (
            None
            if preferences_url is None
            else _web_url(
                "preferences URL",
                preferences_url,
                "https://portal.yourfirm.com/settings/emails",
            )
        )

    def review_documents(self, account_id: str, document_id: str) -> str:
        """The "Review documents" URL."""
        return self.base_url + _document_path(account_id, document_id)

    def firm_document(self, account_id: str, document_id: str) -> str | None:
        """The "View document" URL for firm members; ``None`` without ``firm_url``."""
        if self.firm_url is None:
            return None
        return self.firm_url + _document_path(account_id, document_id)

    def email_preferences(self, user_id: str) -> str | None:
        """The preferences page (the same for everyone: they sign in to it)."""
        del user_id  # one page; the host knows who is signed in
        return self.preferences_url
