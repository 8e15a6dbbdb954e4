"""Queries as one user may ask them: only what that user may see.

``Approvals``' own queries answer for the whole firm (back-office code, the
firm's screens, audit tools). A host serving a person, and above all a
client, asks through :class:`UserQueries` (``approvals.queries_for(user_id)``):
a firm member sees the firm's documents; a client user sees the
client-visible documents of the accounts they are linked to, one account at
a time; anyone else is refused. The Directory is asked at every call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from approvalflow._authorization import Authorization
from approvalflow._queries import AccountPending, ClientView, DocumentStatus, Queries
from approvalflow.domain.aggregate import Cycle
from approvalflow.domain.errors import NotAuthorizedError
from approvalflow.domain.validation import check_identifier
from approvalflow.domain.values import ActorRole
from approvalflow.history import HistoryEntry
from approvalflow.readmodels.audit import AuditRow
from approvalflow.readmodels.documents import DocumentRow, Page
from approvalflow.readmodels.rejections import RejectionRow

__all__ = ["UserQueries"]

#: Events a client's history and audit trail leave out: approvalflow's own
#: bookkeeping of who was told what, at which address, with what answer.
_FIRM_ONLY_EVENTS = frozenset({"Notified"})


class UserQueries:
    """The queries of ``Approvals``, answered only as far as one user may see.

    Built by :meth:`Approvals.queries_for`. Each method refuses with
    :class:`~approvalflow.NotAuthorizedError` what the user may not see, and
    leaves out of lists the documents a client cannot see.
    """

    def __init__(self, queries: Queries, auth: Authorization, user_id: str) -> None:
        self._queries = queries
        self._auth = auth
        #: The user the answers are for.
        self.user_id = check_identifier("user_id", user_id)

    # -- who is asking --------------------------------------------------------------

    def _role(self) -> ActorRole:
        directory = self._auth.directory
        if directory.firm_member(self.user_id) is not None:
            return ActorRole.FIRM_MEMBER
        if directory.client_user(self.user_id) is not None:
            return ActorRole.CLIENT_USER
        raise NotAuthorizedError(
            self.user_id,
            "read approvals",
            "only firm members and client users the directory knows can",
        )

    def _account(self, account_id: str, action: str) -> ActorRole:
        account_id = check_identifier("account_id", account_id)
        role = self._role()
        if role is ActorRole.CLIENT_USER and not self._linked(account_id):
            raise NotAuthorizedError(
                self.user_id,
                action,
                f"client users see only the accounts they are linked to, "
                f"not {account_id!r}",
            )
        return role

    def _linked(self, account_id: str) -> bool:
        links = self._auth.directory.account_links(account_id)
        return any(link.user_id == self.user_id for link in links)

    def _document(self, document_id: str, action: str) -> str:
        doc_id = check_identifier("document_id", document_id)
        if self._role() is ActorRole.FIRM_MEMBER:
            return doc_id
        document = self._auth.directory.document(doc_id)
        # One refusal, whether the document is another account's, hidden from
        # clients or unknown: how a client is refused tells nothing of other
        # clients' documents.
        if (
            document is None
            or not document.client_visible
            or not self._linked(document.facts.account_id)
        ):
            raise NotAuthorizedError(
                self.user_id,
                action,
                "client users see only the client-visible documents of the "
                "accounts they are linked to",
            )
        return doc_id

    def _visible(self, rows: Sequence[DocumentRow]) -> tuple[DocumentRow, ...]:
        """The rows a client may see (a firm member sees them all)."""
        if self._role() is ActorRole.FIRM_MEMBER:
            return tuple(rows)
        directory = self._auth.directory
        kept = []
        for row in rows:
            document = directory.document(row.document_id)
            if (
                document is not None
                and document.client_visible
                and self._linked(document.facts.account_id)
            ):
                kept.append(row)
        return tuple(kept)

    # -- one document ---------------------------------------------------------------

    def status(self, document_id: str) -> DocumentStatus:
        """:meth:`Approvals.status`, for a document this user may see."""
        return self._queries.status(self._document(document_id, "see the status of"))

    def cycles(self, document_id: str) -> tuple[Cycle, ...]:
        """:meth:`Approvals.cycles`, for a document this user may see."""
        return self._queries.cycles(self._document(document_id, "see the requests of"))

    def history(self, document_id: str) -> tuple[HistoryEntry, ...]:
        """:meth:`Approvals.history`, for a document this user may see.

        A client does not see approvalflow's delivery bookkeeping (who was
        told, at which address, what a mail server answered): it names
        firm members and other client users.
        """
        entries = self._queries.history(
            self._document(document_id, "see the history of")
        )
        if self._role() is ActorRole.FIRM_MEMBER:
            return entries
        return tuple(e for e in entries if e.event not in _FIRM_ONLY_EVENTS)

    def audit_trail(
        self,
        document_id: str,
        *,
        language: str | None = None,
        time_zone: str | None = None,
    ) -> tuple[AuditRow, ...]:
        """:meth:`Approvals.audit_trail`, for a document this user may see.

        Without delivery bookkeeping for a client, as :meth:`history`.
        """
        rows = self._queries.audit_trail(
            self._document(document_id, "see the audit trail of"),
            language=language,
            time_zone=time_zone,
        )
        if self._role() is ActorRole.FIRM_MEMBER:
            return rows
        return tuple(r for r in rows if r.event not in _FIRM_ONLY_EVENTS)

    def rejection_reasons(self, document_id: str) -> tuple[RejectionRow, ...]:
        """:meth:`Approvals.rejection_reasons`, for a document this user may see."""
        return self._queries.rejection_reasons(
            self._document(document_id, "see the rejection reasons of")
        )

    def client_view(self, document_id: str) -> ClientView:
        """:meth:`Approvals.client_view`, for a document this user may see."""
        return self._queries.client_view(
            self._document(document_id, "see the request of")
        )

    def document_as_of(self, document_id: str, at: datetime) -> DocumentRow | None:
        """:meth:`Approvals.document_as_of`, for a document this user may see."""
        return self._queries.document_as_of(
            self._document(document_id, "see the past of"), at
        )

    # -- lists --------------------------------------------------------------------

    def recent(
        self,
        *,
        filters: Sequence[str] | None = None,
        account_id: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """:meth:`Approvals.recent`; a client must name one of their accounts."""
        if account_id is None:
            if self._role() is ActorRole.CLIENT_USER:
                raise NotAuthorizedError(
                    self.user_id,
                    "see the firm's recent documents",
                    "client users see one of their accounts at a time: pass account_id",
                )
        else:
            self._account(account_id, "see the recent documents of")
        return self._paged(
            lambda cursor, size: self._queries.recent(
                filters=filters, account_id=account_id, limit=size, after=cursor
            ),
            limit,
            after,
        )

    def approvals_tab(
        self,
        account_id: str,
        *,
        filters: Sequence[str] | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> Page:
        """:meth:`Approvals.approvals_tab`, for an account this user may see."""
        self._account(account_id, "see the Approvals tab of")
        return self._paged(
            lambda cursor, size: self._queries.approvals_tab(
                account_id, filters=filters, limit=size, after=cursor
            ),
            limit,
            after,
        )

    def _paged(
        self,
        fetch: Callable[[str | None, int], Page],
        limit: int,
        after: str | None,
    ) -> Page:
        """A page of ``limit`` rows this user may see, filtered before paging.

        A client's page is filled from as many of the firm's pages as it
        takes, and its cursor points after the last row *shown*: a cursor
        after a hidden row would carry that document's id and time.
        """
        first = fetch(after, limit)
        if self._role() is ActorRole.FIRM_MEMBER:
            return first
        shown: list[DocumentRow] = []
        page, cursor = first, after
        while True:
            visible = self._visible(page.rows)
            for row in visible:
                shown.append(row)
                if len(shown) == limit:
                    at = page.rows.index(row)
                    if at == len(page.rows) - 1:
                        return Page(tuple(shown), page.next_cursor)
                    # The firm's page went on past this row: ask for it to
                    # end here, for a cursor right after a row shown.
                    upto = fetch(cursor, at + 1)
                    return Page(tuple(shown), upto.next_cursor)
            if page.next_cursor is None:
                return Page(tuple(shown), None)
            cursor = page.next_cursor
            page = fetch(cursor, limit)

    def approvals_tab_as_of(
        self, account_id: str, at: datetime
    ) -> tuple[DocumentRow, ...]:
        """:meth:`Approvals.approvals_tab_as_of`, for an account this user may see."""
        self._account(account_id, "see the past Approvals tab of")
        return self._visible(self._queries.approvals_tab_as_of(account_id, at))

    def accounts_pending(self) -> list[AccountPending]:
        """:meth:`Approvals.accounts_pending`: the firm's view, for firm members."""
        if self._role() is not ActorRole.FIRM_MEMBER:
            raise NotAuthorizedError(
                self.user_id,
                "see the accounts with pending approvals",
                "only firm members see every account",
            )
        return self._queries.accounts_pending()
