"""approvalflow: ask clients to approve documents and know where each stands.

It reminds clients, and answers for now and for any past moment.

Start with :func:`connect`::

    import approvalflow
    with approvalflow.connect(directory=my_directory) as approvals:
        approvals.request_approval("doc-1", by="staff-7", message="Please review")
"""

from approvalflow.application import KEEP, Approvals, BatchRequest, DocumentStatus
from approvalflow.bootstrap import connect
from approvalflow.clocks import SystemClock
from approvalflow.domain.aggregate import ApprovalRequest, Cycle, approval_request_id
from approvalflow.domain.errors import (
    AlreadyPendingError,
    ApprovalFlowError,
    ConcurrentChangeError,
    ConfigurationError,
    DocumentAccountMismatchError,
    DocumentNotVisibleError,
    InvalidInputError,
    InvalidStateError,
    NotAuthorizedError,
    NotPendingError,
    UnknownDocumentError,
)
from approvalflow.domain.values import (
    Actor,
    ActorRole,
    ApprovalState,
    CycleOutcome,
    DocumentFacts,
    EntryPoint,
    InvoiceLock,
    Rejection,
    ReminderPolicy,
)
from approvalflow.history import HistoryEntry
from approvalflow.ports import (
    AccountLink,
    ClientAccount,
    ClientUser,
    Clock,
    Directory,
    Document,
    FirmMember,
    Links,
    Mailer,
    PortalNotifications,
)
from approvalflow.readmodels.store import RebuildInProgressError

__all__ = [
    "KEEP",
    "AccountLink",
    "Actor",
    "ActorRole",
    "AlreadyPendingError",
    "ApprovalFlowError",
    "ApprovalRequest",
    "ApprovalState",
    "Approvals",
    "BatchRequest",
    "ClientAccount",
    "ClientUser",
    "Clock",
    "ConcurrentChangeError",
    "ConfigurationError",
    "Cycle",
    "CycleOutcome",
    "Directory",
    "Document",
    "DocumentAccountMismatchError",
    "DocumentFacts",
    "DocumentNotVisibleError",
    "DocumentStatus",
    "EntryPoint",
    "FirmMember",
    "HistoryEntry",
    "InvalidInputError",
    "InvalidStateError",
    "InvoiceLock",
    "Links",
    "Mailer",
    "NotAuthorizedError",
    "NotPendingError",
    "PortalNotifications",
    "RebuildInProgressError",
    "Rejection",
    "ReminderPolicy",
    "SystemClock",
    "UnknownDocumentError",
    "approval_request_id",
    "connect",
]
