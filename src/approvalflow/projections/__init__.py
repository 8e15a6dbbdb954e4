"""Read models built from the event log: lists, rejections and audit trail.

Every list a firm or client looks at is a read model here, never a second
source of truth: it can be dropped and rebuilt from the events at any time.
"""

from approvalflow.projections.follow import (
    AuditProjection,
    DocumentsProjection,
    RejectionsProjection,
    ViewRunner,
    catch_up,
)
from approvalflow.projections.rows import (
    RECENT_WINDOW,
    AuditRow,
    DocumentRow,
    Page,
    RejectionRow,
    StatusFilter,
)
from approvalflow.projections.store import VIEW_NAMES, ViewStore

__all__ = [
    "RECENT_WINDOW",
    "VIEW_NAMES",
    "AuditProjection",
    "AuditRow",
    "DocumentRow",
    "DocumentsProjection",
    "Page",
    "RejectionRow",
    "RejectionsProjection",
    "StatusFilter",
    "ViewRunner",
    "ViewStore",
    "catch_up",
]
