"""The public surface: what hosts import, pinned.

Public: ``approvalflow`` (its ``__all__``), ``approvalflow.ports``,
``approvalflow.storage``, ``approvalflow.testing`` and
``approvalflow.testing.contracts``. Everything else is internal.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

import approvalflow

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_MODULES = (
    "approvalflow",
    "approvalflow.ports",
    "approvalflow.storage",
    "approvalflow.testing",
    "approvalflow.testing.contracts",
    "approvalflow.audit_verify",
)
# Every error the docs name a host may catch.
DOCUMENTED_ERRORS = {
    "ApprovalFlowError",
    "AlreadyPendingError",
    "ConcurrentChangeError",
    "ConfigurationError",
    "DocumentAccountMismatchError",
    "DocumentNotVisibleError",
    "InvalidInputError",
    "InvalidStateError",
    "NotAuthorizedError",
    "NotPendingError",
    "UnknownDocumentError",
    "ReasonsNotOfferedError",
    "RebuildInProgressError",
    "DeliveryError",
    "TemporaryDeliveryError",
    "PermanentDeliveryError",
    "UndeliverableAddressError",
    "StoreError",
    "StoreBusyError",
    "StoreUnavailableError",
    "StoreCorruptError",
    "StoreNotFoundError",
    "NotAStoreError",
}


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_is_exported_and_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__
    names = module.__all__
    for name in names:
        value = getattr(module, name)  # exported names exist
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{module_name}.{name} has no docstring"


def test_the_top_level_exports_are_pinned() -> None:
    # Adding a name is a decision: add it here, to the docs and to the
    # CHANGELOG. Removing one breaks hosts.
    assert set(approvalflow.__all__) == {
        "EVENT_TYPES", "KEEP", "AccountLink", "AccountPending", "ActivityKind",
        "Actor", "ActorRole", "AlreadyPendingError", "ApprovalFlowError",
        "ApprovalRequest", "ApprovalState", "Approvals", "AuditRow", "Backlog",
        "BatchRequest", "ClientAccount", "ClientUser", "ClientView", "Clock",
        "ConcurrentChangeError", "ConfigurationError", "Cycle", "CycleOutcome",
        "DeliveryError", "DeliveryPass", "Directory", "Document",
        "DocumentAccountMismatchError", "DocumentFacts", "DocumentNotVisibleError",
        "DocumentRow", "DocumentStatus", "EmailComposer", "EntryPoint", "EventSink",
        "FileMailer", "FirmMember", "HealthReport", "HistoryEntry", "InvalidInputError",
        "InvalidStateError", "InvoiceLock", "Links", "Mailer", "NotAuthorizedError",
        "NotPendingError", "Notifier", "Page", "PermanentDeliveryError",
        "PlannedDelivery", "PortalLinks", "PortalNotifications", "PublishedEvent",
        "ReasonsNotOfferedError", "RebuildInProgressError", "Rejection",
        "RejectionRow", "ReminderPolicy", "ReminderSchedule", "SMTPMailer",
        "StatusFilter",
        "StoreBusyError", "StoreCorruptError", "StoreError", "StoreUnavailableError",
        "NotAStoreError", "StoreNotFoundError", "UserQueries",
        "SystemClock", "TemporaryDeliveryError", "UndeliverableAddressError",
        "UnknownDocumentError",
        "ViewPosition", "ViewRunner", "Words", "Worker", "WorkerPass", "words",
        "approval_request_id", "connect",
    }  # fmt: skip


def test_every_documented_error_is_exported() -> None:
    for name in DOCUMENTED_ERRORS:
        error = getattr(approvalflow, name)
        assert issubclass(error, approvalflow.ApprovalFlowError)


def _doc_files() -> list[Path]:
    pages = (ROOT / "docs").rglob("*.md")
    return [ROOT / "README.md", *sorted(p for p in pages if "_build" not in p.parts)]


_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(approvalflow[\w.]*)[ \t]+import[ \t]+"
    r"(?:\(([^)]*)\)|([^\n]+))|import[ \t]+(approvalflow[\w.]*))",
    re.MULTILINE,
)


def test_docs_import_only_the_public_api() -> None:
    problems = []
    for path in _doc_files():
        for match in _IMPORT.finditer(path.read_text()):
            module_name = match.group(1) or match.group(4)
            if module_name not in PUBLIC_MODULES:
                problems.append(f"{path.name}: imports internal {module_name}")
                continue
            module = importlib.import_module(module_name)
            names = match.group(2) or match.group(3) or ""
            for name in filter(None, re.split(r"[\s,]+", names.split("#")[0])):
                if name not in module.__all__:
                    problems.append(f"{path.name}: {module_name}.{name} is not public")
    assert problems == []


def test_errors_the_docs_name_are_exported() -> None:
    named = set()
    for path in _doc_files():
        named.update(re.findall(r"\b([A-Z]\w+Error)\b", path.read_text()))
    # Errors of other libraries the docs mention by name.
    foreign = {
        "OperationalError",
        "RecursionError",
        "ValueError",
        "TypeError",
        "LookupError",
    }
    assert named - foreign <= set(approvalflow.__all__)
