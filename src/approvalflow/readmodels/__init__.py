"""Read models built from the event log: lists, counts, rejections and audit.

Every list a firm or client looks at is a read model here, never a second
source of truth: it can be dropped and rebuilt from the events at any time.
Each read model is one module (its rows, its fold over event classes, its
tables and its queries), registered in :data:`~approvalflow.readmodels.store.
MODELS`; commands write them in their own transaction.
"""

from approvalflow.readmodels.audit import AuditRow
from approvalflow.readmodels.base import ReadModel, Tx
from approvalflow.readmodels.documents import (
    RECENT_WINDOW,
    DocumentRow,
    Page,
    StatusFilter,
)
from approvalflow.readmodels.follow import ViewRunner, catch_up
from approvalflow.readmodels.rejections import RejectionRow
from approvalflow.readmodels.store import (
    MODELS,
    VIEW_NAMES,
    ReadModelStore,
    RebuildInProgressError,
)

__all__ = [
    "MODELS",
    "RECENT_WINDOW",
    "VIEW_NAMES",
    "AuditRow",
    "DocumentRow",
    "Page",
    "ReadModel",
    "ReadModelStore",
    "RebuildInProgressError",
    "RejectionRow",
    "StatusFilter",
    "Tx",
    "ViewRunner",
    "catch_up",
]
