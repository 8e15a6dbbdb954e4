"""Database failures as typed errors: busy, unavailable, corrupt.

eventsourcing and the database drivers raise their own exceptions (sqlite3's,
psycopg's, eventsourcing's wrappers of both). A host should not have to know
them: :func:`store_error` classifies one into a
:class:`~approvalflow.StoreError` saying what happened and whether retrying
may help, and :func:`translating_store_errors` applies it to every public
method of a class.
"""

from __future__ import annotations

import functools
import inspect
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import TopicError

from approvalflow.domain.errors import (
    ApprovalFlowError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreUnavailableError,
)

__all__ = ["store_error", "translating_store_errors"]

C = TypeVar("C", bound=type)

_BUSY = ("database is locked", "database table is locked", "busy", "lock timeout")
_CORRUPT = ("not a database", "malformed", "corrupt", "disk image")


def _driver_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [PersistenceError, sqlite3.Error]
    try:
        import psycopg  # noqa: PLC0415 - only PostgreSQL users have it
    except ImportError:
        pass
    else:
        errors.append(psycopg.Error)
    return tuple(errors)


#: What an edited store looks like when its events are read back: a topic
#: that names no event class, or a document's versions out of sequence.
_EDITED = (TopicError, OriginatorVersionError)


def store_error(exc: BaseException) -> StoreError | None:
    """The typed error for a database failure, or ``None`` if it is not one."""
    if isinstance(exc, ApprovalFlowError):
        return None
    if isinstance(exc, _EDITED):
        return StoreCorruptError(
            f"a document's recorded events cannot be read back ({exc}): the "
            "store was changed outside approvalflow; run `approvalflow audit "
            "verify` to see what changed, and restore the store from a backup"
        )
    if not isinstance(exc, _driver_errors()):
        return None
    return _database_error(exc)


def _database_error(exc: BaseException) -> StoreError:
    text = str(exc).strip() or type(exc).__name__
    lowered = text.lower()
    if "readonly" in lowered or "read-only" in lowered:
        return StoreError(
            f"the store is open read-only ({text}); nothing was recorded: "
            "open it without read_only to record"
        )
    if any(word in lowered for word in _BUSY):
        return StoreBusyError(
            f"the store is busy ({text}): another process held its write lock "
            "too long; nothing was recorded, try again"
        )
    if any(word in lowered for word in _CORRUPT):
        return StoreCorruptError(
            f"the store is not an approvalflow store or is damaged ({text}); "
            "check the path or URL, or restore it from a backup"
        )
    name = type(exc).__name__
    if name in ("OperationalError", "InterfaceError") or "connection" in lowered:
        return StoreUnavailableError(
            f"the database is unavailable ({text}); nothing was recorded, "
            "try again when it is back"
        )
    return StoreError(f"the store failed ({name}: {text}); nothing was recorded")


def translating_store_errors(cls: C) -> C:
    """Make every public method of ``cls`` raise typed errors for the store's."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        setattr(cls, name, _translated(member))
    return cls


def _translated(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            typed = store_error(exc)
            if typed is None:
                raise
            raise typed from exc

    return call
