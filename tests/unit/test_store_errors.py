"""Database failures reach the host as typed errors, never a driver's own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from approvalflow import (
    Approvals,
    ApprovalState,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    connect,
)
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory, stored_records


def _open(path: Path) -> Approvals:
    # A short lock timeout (whole seconds, as eventsourcing reads it) keeps
    # the test quick; the default is 10 s.
    return connect(
        settings={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "1",
        },
        directory=make_directory(),
        clock=ControllableClock(START),
    )


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "s.sqlite3"
    with _open(path) as app:
        app.request_approval("d1", by="f1")
    return path


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_command_blocked_by_another_writer_is_a_retriable_busy_error(
    store: Path,
) -> None:
    with _open(store) as app:
        before = stored_records(app)
        holder = _hold_write_lock(store)
        try:
            with pytest.raises(StoreBusyError, match="try again") as caught:
                app.request_approval("d2", by="f1")
        finally:
            holder.rollback()
            holder.close()
        assert caught.value.retriable
        assert stored_records(app) == before
        # Once the lock is gone, the same command goes through.
        app.request_approval("d2", by="f1")
        assert app.status("d2").state is ApprovalState.PENDING


def test_opening_and_reading_a_store_take_no_write_lock(store: Path) -> None:
    # Another process holds the write lock the whole time: opening the store
    # and every query still work (only commands wait for the lock).
    holder = _hold_write_lock(store)
    try:
        with _open(store) as app:
            assert app.status("d1").state is ApprovalState.PENDING
            assert [r.document_id for r in app.recent().rows] == ["d1"]
            assert app.verify_audit().ok
            with pytest.raises(StoreBusyError):
                app.cancel("d1", by="f1")
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.parametrize(
    "content", [b"not a database at all\n", bytes(range(256)) * 32]
)
def test_a_file_that_is_not_a_store_is_a_corrupt_store_error(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "other.sqlite3"
    path.write_bytes(content)
    with pytest.raises(StoreCorruptError, match="not an approvalflow store") as caught:
        _open(path)
    assert not caught.value.retriable
    assert isinstance(caught.value, StoreError)
    assert path.read_bytes() == content
