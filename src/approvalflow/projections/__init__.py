"""The read models' former home, kept so existing imports keep working.

New code imports from :mod:`approvalflow.readmodels`.
"""

from approvalflow.readmodels import (
    RECENT_WINDOW,
    VIEW_NAMES,
    AuditRow,
    DocumentRow,
    Page,
    RejectionRow,
    StatusFilter,
    ViewRunner,
    catch_up,
)
from approvalflow.readmodels.store import ReadModelStore as ViewStore

__all__ = [
    "RECENT_WINDOW",
    "VIEW_NAMES",
    "AuditRow",
    "DocumentRow",
    "Page",
    "RejectionRow",
    "StatusFilter",
    "ViewRunner",
    "ViewStore",
    "catch_up",
]
