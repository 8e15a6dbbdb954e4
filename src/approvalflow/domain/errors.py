"""The exceptions approvalflow raises.

Every error a caller can provoke is an :class:`ApprovalFlowError`. Its message
says what was wrong and what is allowed; its typed attributes let a host map
it to a response without parsing text.
"""

from __future__ import annotations

__all__ = [
    "AlreadyPendingError",
    "ApprovalFlowError",
    "ConcurrentChangeError",
    "ConfigurationError",
    "DocumentAccountMismatchError",
    "DocumentNotVisibleError",
    "InvalidInputError",
    "InvalidStateError",
    "NotAStoreError",
    "NotAuthorizedError",
    "NotPendingError",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreNotFoundError",
    "StoreUnavailableError",
    "UnknownDocumentError",
]


class ApprovalFlowError(Exception):
    """Base class of every error approvalflow raises on purpose."""


class InvalidInputError(ApprovalFlowError, ValueError):
    """An argument has the wrong type, is empty, too long or out of range.

    ``field`` names the argument; ``allowed`` says what would have been
    accepted.
    """

    def __init__(self, field: str, problem: str, allowed: str) -> None:
        self.field = field
        self.problem = problem
        self.allowed = allowed
        super().__init__(f"{field}: {problem}; allowed: {allowed}")


class NotAuthorizedError(ApprovalFlowError):
    """The acting user may not perform this command on this document."""

    def __init__(self, user_id: str, action: str, reason: str) -> None:
        self.user_id = user_id
        self.action = action
        self.reason = reason
        super().__init__(f"user {user_id!r} may not {action}: {reason}")


class UnknownDocumentError(ApprovalFlowError, LookupError):
    """The directory does not know the document."""

    def __init__(self, document_id: str) -> None:
        self.document_id = document_id
        super().__init__(
            f"document {document_id!r} is unknown to the directory; "
            "only documents the host's directory knows can be requested"
        )


class DocumentAccountMismatchError(ApprovalFlowError):
    """The document belongs to another client account than the one named."""

    def __init__(self, document_id: str, expected: str, actual: str) -> None:
        self.document_id = document_id
        self.expected_account_id = expected
        self.actual_account_id = actual
        super().__init__(
            f"document {document_id!r} belongs to account {actual!r}, "
            f"not {expected!r}; approval can only be asked of the document's "
            "own account"
        )


class DocumentNotVisibleError(ApprovalFlowError):
    """The document is not in a folder the client can see."""

    def __init__(self, document_id: str) -> None:
        self.document_id = document_id
        super().__init__(
            f"document {document_id!r} is not in a folder the client can see; "
            "move it to a client-visible folder before requesting approval"
        )


class InvalidStateError(ApprovalFlowError):
    """The command does not apply to the document's current state."""

    def __init__(self, document_id: str, action: str, state: str, allowed: str) -> None:
        self.document_id = document_id
        self.action = action
        self.state = state
        super().__init__(
            f"cannot {action} document {document_id!r}: it is {state}; {allowed}"
        )


class AlreadyPendingError(InvalidStateError):
    """An approval is already pending for the document (one at a time)."""

    def __init__(self, document_id: str) -> None:
        super().__init__(
            document_id,
            "request approval for",
            "already pending approval",
            "resend or cancel the pending request instead",
        )


class NotPendingError(InvalidStateError):
    """The command needs a pending request and there is none."""

    def __init__(self, document_id: str, action: str, state: str) -> None:
        super().__init__(
            document_id,
            action,
            state,
            "only a pending request can be resent, approved, rejected, "
            "cancelled or reminded",
        )


class ConcurrentChangeError(ApprovalFlowError):
    """Another writer kept changing the document while this command retried."""

    def __init__(self, document_id: str, attempts: int) -> None:
        self.document_id = document_id
        self.attempts = attempts
        super().__init__(
            f"document {document_id!r} was changed by other writers "
            f"{attempts} times while this command ran; nothing was recorded, "
            "try again"
        )


class ConfigurationError(ApprovalFlowError):
    """approvalflow was wired or configured wrongly (URL, ports, settings)."""


class StoreError(ApprovalFlowError):
    """The store failed to read or record; ``retriable`` says whether to retry.

    Nothing was recorded by the command that met it.
    """

    #: Whether trying again later may succeed.
    retriable = False


class StoreBusyError(StoreError):
    """Another process held the store's write lock too long: try again."""

    retriable = True


class StoreUnavailableError(StoreError):
    """The database could not be reached or dropped the connection: try again."""

    retriable = True


class StoreCorruptError(StoreError):
    """The file or database is not an approvalflow store, or is damaged.

    Retrying will not help: restore it from a backup or point at the right one.
    """


class StoreNotFoundError(ConfigurationError):
    """There is no approvalflow store where one was expected; none was created."""


class NotAStoreError(StoreCorruptError):
    """The database belongs to another application: approvalflow leaves it as it is."""
