"""Who may act: the Directory port asked on every command.

Commands name their acting user; :class:`Authorization` turns that id into an
:class:`~approvalflow.Actor` with a role, or refuses with
:class:`~approvalflow.NotAuthorizedError`. It also answers what the host
knows of a document now. It never caches: the directory is the truth at the
moment of the command.
"""

from __future__ import annotations

from approvalflow.domain.errors import (
    ConfigurationError,
    DocumentAccountMismatchError,
    DocumentNotVisibleError,
    NotAuthorizedError,
    UnknownDocumentError,
)
from approvalflow.domain.validation import check_identifier
from approvalflow.domain.values import Actor, ActorRole, DocumentFacts
from approvalflow.ports import Directory

__all__ = ["Authorization"]


class Authorization:
    """Checks acting users and documents against the host's Directory."""

    def __init__(self, directory: Directory | None) -> None:
        self._directory = directory

    @property
    def directory(self) -> Directory:
        """The Directory port; commands need it, queries do not."""
        if self._directory is None:
            msg = (
                "this Approvals application has no directory port; pass "
                "directory=... to approvalflow.connect() to run commands "
                "(queries and audit replays work without one)"
            )
            raise ConfigurationError(msg)
        return self._directory

    def firm_member(self, user_id: object, action: str) -> Actor:
        """The firm member acting, or a refusal."""
        uid = check_identifier("by", user_id)
        member = self.directory.firm_member(uid)
        if member is None:
            raise NotAuthorizedError(
                uid, action, "only firm members can request, resend or cancel approvals"
            )
        return Actor(member.user_id, member.name, ActorRole.FIRM_MEMBER)

    def linked_client(self, user_id: str, account_id: str, action: str) -> Actor:
        """The client user linked to ``account_id`` acting, or a refusal."""
        user = self.directory.client_user(user_id)
        linked = {link.user_id for link in self.directory.account_links(account_id)}
        if user is None or user_id not in linked:
            raise self.not_theirs(user_id, action)
        return Actor(user.user_id, user.name, ActorRole.CLIENT_USER)

    @staticmethod
    def not_theirs(user_id: str, action: str) -> NotAuthorizedError:
        """The one refusal for a document that is not the user's to act on.

        The same for another account's document and for one that does not
        exist, and naming neither the document's account nor whether it
        exists: a client must not learn of other clients' documents from
        how they are refused.
        """
        return NotAuthorizedError(
            user_id,
            action,
            "client users act only on documents of the accounts they are linked to",
        )

    def account_of(self, document_id: str, user_id: str, action: str) -> str:
        """The document's account now; a firm member alone learns it is unknown."""
        document = self.directory.document(document_id)
        if document is not None:
            return document.facts.account_id
        if self.directory.firm_member(user_id) is not None:
            raise UnknownDocumentError(document_id)
        raise self.not_theirs(user_id, action)

    def firm_member_or_linked_client(
        self, user_id: str, account_id: str, action: str
    ) -> Actor:
        """A firm member, or else a client user linked to the account."""
        member = self.directory.firm_member(user_id)
        if member is not None:
            return Actor(member.user_id, member.name, ActorRole.FIRM_MEMBER)
        return self.linked_client(user_id, account_id, action)

    def document(self, document_id: str) -> DocumentFacts:
        """What the host knows of the document now, or a refusal."""
        document = self.directory.document(document_id)
        if document is None:
            raise UnknownDocumentError(document_id)
        return document.facts

    def requestable(
        self, document_id: str, expected_account: str | None
    ) -> DocumentFacts:
        """The document's facts, if approval may be requested for it."""
        document = self.directory.document(document_id)
        if document is None:
            raise UnknownDocumentError(document_id)
        if (
            expected_account is not None
            and document.facts.account_id != expected_account
        ):
            raise DocumentAccountMismatchError(
                document_id, expected_account, document.facts.account_id
            )
        if not document.client_visible:
            raise DocumentNotVisibleError(document_id)
        return document.facts
