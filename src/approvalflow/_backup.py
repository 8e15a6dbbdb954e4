"""A consistent copy of a live SQLite store (``approvalflow backup``).

A plain ``cp`` of a store in use copies the main file without its write-ahead
log, or a page half-written: recent commits are lost, or the copy is
damaged. SQLite's online backup API copies the database as one read
transaction sees it, while writers carry on (a WAL reader blocks no one).
The copy is written beside the target under a temporary name and renamed
once complete and checked, so the target is never a partial file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
from pathlib import Path
from urllib.parse import quote

from approvalflow.domain.errors import InvalidInputError, StoreCorruptError

__all__ = ["SIDE_FILES", "backup_sqlite"]

#: The files SQLite keeps next to a database while it is open or after a crash.
SIDE_FILES = ("-wal", "-shm", "-journal")


def backup_sqlite(source: Path, out: Path, *, force: bool = False) -> int:
    """Copy the SQLite store ``source`` to ``out``, consistently, while in use.

    Returns the last event's notification id in the copy. Refused
    (:class:`InvalidInputError`, nothing written): ``out`` naming the store
    or one of its side files under any name, an ``out`` that is not a
    regular file (a folder, a link, a FIFO, a device), an existing ``out``
    unless ``force``, an ``out`` with a write-ahead log or journal of its own
    (a store open or crashed there: its log would be replayed onto the
    copy), a missing folder.
    """
    _check_target(source, out, force=force)
    handle, partial_name = tempfile.mkstemp(
        prefix=f".{out.name}.", suffix=".partial", dir=out.parent
    )
    os.close(handle)
    partial = Path(partial_name)
    try:
        head = _copy(source, partial)
        partial.replace(out)
        _sync_folder(out.parent)
    finally:
        partial.unlink(missing_ok=True)
        for side in SIDE_FILES:
            Path(f"{partial}{side}").unlink(missing_ok=True)
    return head


def _copy(source: Path, partial: Path) -> int:
    # Read-only: the backup never writes to the store, nor checkpoints it.
    reader = sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True)
    try:
        writer = sqlite3.connect(partial)
        try:
            # All pages in one step: one read transaction, one snapshot.
            # (Page by page, each write by another process restarts the copy.)
            reader.backup(writer)
            checked = writer.execute("PRAGMA quick_check").fetchone()
            if checked is None or checked[0] != "ok":
                msg = f"the copy of {str(source)!r} does not check: {checked}"
                raise StoreCorruptError(msg)
            found = writer.execute(
                "SELECT MAX(rowid) FROM stored_events"  # eventsourcing: rowid is the id
            ).fetchone()
            # The copy keeps the store's WAL mode (so read-only commands open
            # it); everything goes into the main file before it is renamed.
            writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            writer.close()
    except sqlite3.Error as exc:
        msg = f"cannot back up {str(source)!r}: {exc}"
        raise StoreCorruptError(msg) from exc
    finally:
        reader.close()
    log = Path(f"{partial}-wal")
    if log.exists() and log.stat().st_size:
        msg = f"the copy of {str(source)!r} kept a write-ahead log: try again"
        raise StoreCorruptError(msg)
    with partial.open("rb+") as done:
        os.fsync(done.fileno())
    return int(found[0] or 0) if found else 0


def _sync_folder(folder: Path) -> None:
    """Make the rename durable: a crash right after keeps the backup."""
    with contextlib.suppress(OSError):  # some file systems cannot sync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _refuse(out: Path, problem: str, allowed: str) -> InvalidInputError:
    return InvalidInputError("--out", f"{str(out)!r} {problem}", allowed)


def _check_target(source: Path, out: Path, *, force: bool) -> None:
    allowed = (
        "a new file, or an existing regular file with --force, that is not the store"
    )
    store = source.resolve()
    names = {store} | {Path(f"{store}{side}") for side in SIDE_FILES}
    if out.absolute() in names or out.resolve() in names:
        raise _refuse(out, "is the store or one of its files", allowed)
    if not out.parent.is_dir():
        raise _refuse(out, f"is in no folder: {str(out.parent)!r} is missing", allowed)
    try:
        found = out.lstat()
    except FileNotFoundError:
        found = None
    if found is not None:
        if not stat.S_ISREG(found.st_mode):
            raise _refuse(
                out, "is not a regular file (a folder, link or device)", allowed
            )
        for name in names:
            if name.exists() and out.samefile(name):
                raise _refuse(out, "is the store or one of its files", allowed)
        if not force:
            raise _refuse(out, "exists", "give --force to replace it, or a new file")
    for side in ("-wal", "-journal"):
        log = Path(f"{out}{side}")
        # An empty log (what a reader leaves) replays nothing; one with
        # pages would be replayed onto the copy and damage it.
        if log.is_symlink() or (log.exists() and log.stat().st_size):
            raise _refuse(
                out,
                f"has a {side} file beside it: a store is open there or was not "
                "closed cleanly, and its log would be replayed onto the copy",
                "stop the processes using it (or remove the side files of a "
                "store you mean to replace) and try again",
            )
