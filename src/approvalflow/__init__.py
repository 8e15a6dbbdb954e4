"""approvalflow: ask clients to approve documents and know where each stands.

It reminds clients, and answers for now and for any past moment.

Start with :func:`connect`::

    import approvalflow
    with approvalflow.connect(directory=my_directory) as approvals:
        approvals.request_approval("doc-1", by="staff-7", message="Please review")

The public API is what this module exports, plus the modules
:mod:`approvalflow.ports` (the ports and their records),
:mod:`approvalflow.storage` (for storage adapters), :mod:`approvalflow.testing`
(in-memory ports for a host's tests), :mod:`approvalflow.testing.contracts`
(the test suites an adapter passes) and :mod:`approvalflow.audit_verify` (the
audit chain's verifier, standard library only). Every other module is
internal and may change without notice.
"""

from importlib.metadata import PackageNotFoundError, version

from approvalflow._health import HealthReport
from approvalflow._queries import (
    AccountPending,
    ClientView,
    DocumentStatus,
    ReasonsNotOfferedError,
    ViewPosition,
)
from approvalflow._reader import UserQueries
from approvalflow.application import KEEP, Approvals, BatchRequest
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
    NotAStoreError,
    NotAuthorizedError,
    NotPendingError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreNotFoundError,
    StoreUnavailableError,
    UnknownDocumentError,
)
from approvalflow.domain.values import (
    ActivityKind,
    Actor,
    ActorRole,
    ApprovalState,
    CycleOutcome,
    DocumentFacts,
    EntryPoint,
    InvoiceLock,
    Rejection,
    ReminderPolicy,
    ReminderSchedule,
)
from approvalflow.history import HistoryEntry
from approvalflow.i18n import Words, words
from approvalflow.links import PortalLinks
from approvalflow.notifications.delivery import DeliveryPass, Notifier
from approvalflow.notifications.emails import EmailComposer, UndeliverableAddressError
from approvalflow.notifications.mailers import FileMailer, SMTPMailer
from approvalflow.notifications.outbox import Backlog, PlannedDelivery
from approvalflow.notifications.published import EVENT_TYPES
from approvalflow.ports import (
    AccountLink,
    ClientAccount,
    ClientUser,
    Clock,
    DeliveryError,
    Directory,
    Document,
    EventSink,
    FirmMember,
    Links,
    Mailer,
    PermanentDeliveryError,
    PortalNotifications,
    PublishedEvent,
    TemporaryDeliveryError,
)
from approvalflow.readmodels.audit import AuditRow
from approvalflow.readmodels.documents import DocumentRow, Page, StatusFilter
from approvalflow.readmodels.follow import ViewRunner
from approvalflow.readmodels.rejections import RejectionRow
from approvalflow.readmodels.store import RebuildInProgressError
from approvalflow.worker import Worker, WorkerPass

try:
    #: The installed distribution's version (PEP 440), e.g. ``"0.1.0"``.
    __version__ = version("approvalflow")
except PackageNotFoundError:  # pragma: no cover - run from a source tree
    __version__ = "0+unknown"

__all__ = [
    "EVENT_TYPES",
    "KEEP",
    "AccountLink",
    "AccountPending",
    "ActivityKind",
    "Actor",
    "ActorRole",
    "AlreadyPendingError",
    "ApprovalFlowError",
    "ApprovalRequest",
    "ApprovalState",
    "Approvals",
    "AuditRow",
    "Backlog",
    "BatchRequest",
    "ClientAccount",
    "ClientUser",
    "ClientView",
    "Clock",
    "ConcurrentChangeError",
    "ConfigurationError",
    "Cycle",
    "CycleOutcome",
    "DeliveryError",
    "DeliveryPass",
    "Directory",
    "Document",
    "DocumentAccountMismatchError",
    "DocumentFacts",
    "DocumentNotVisibleError",
    "DocumentRow",
    "DocumentStatus",
    "EmailComposer",
    "EntryPoint",
    "EventSink",
    "FileMailer",
    "FirmMember",
    "HealthReport",
    "HistoryEntry",
    "InvalidInputError",
    "InvalidStateError",
    "InvoiceLock",
    "Links",
    "Mailer",
    "NotAStoreError",
    "NotAuthorizedError",
    "NotPendingError",
    "Notifier",
    "Page",
    "PermanentDeliveryError",
    "PlannedDelivery",
    "PortalLinks",
    "PortalNotifications",
    "PublishedEvent",
    "ReasonsNotOfferedError",
    "RebuildInProgressError",
    "Rejection",
    "RejectionRow",
    "ReminderPolicy",
    "ReminderSchedule",
    "SMTPMailer",
    "StatusFilter",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreNotFoundError",
    "StoreUnavailableError",
    "SystemClock",
    "TemporaryDeliveryError",
    "UndeliverableAddressError",
    "UnknownDocumentError",
    "UserQueries",
    "ViewPosition",
    "ViewRunner",
    "Words",
    "Worker",
    "WorkerPass",
    "approval_request_id",
    "connect",
    "words",
]
