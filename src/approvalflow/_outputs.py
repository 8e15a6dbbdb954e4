"""Files the command line writes: never the store, never a special file.

An export goes to a temporary file in the target's folder and is renamed
over the target only when complete, so a refusal or a crash leaves no empty
or half-written file under the final name. Before anything is written, the
target is refused if it is the store itself or one of SQLite's files beside
it (``-wal``, ``-shm``, ``-journal``), or if it exists and is not a regular
file (a folder, a FIFO, a device such as ``/dev/full``, a symbolic link):
renaming over those would destroy them or write where nobody meant.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

from approvalflow.domain.errors import InvalidInputError

__all__ = ["open_output", "store_files"]

#: SQLite's own files beside a database.
_SIDE_FILES = ("-wal", "-shm", "-journal")


def store_files(url: str) -> list[Path]:
    """The files an SQLite store URL names (none for other stores)."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.path in {"", "/:memory:"}:
        return []
    main = Path(unquote(parts.path))
    return [main, *(main.with_name(main.name + side) for side in _SIDE_FILES)]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (
            a.exists() and b.exists() and a.samefile(b)
        )
    except OSError:
        return False


def _check_target(out: str, protected: list[Path]) -> Path:
    if not out.strip():
        raise InvalidInputError("--out", "got an empty file name", "a file's path")
    target = Path(out).expanduser()
    folder = target.parent
    if not folder.is_dir():
        raise InvalidInputError(
            "--out",
            f"got {out!r}, in a folder that does not exist ({str(folder)!r})",
            "a file in an existing folder",
        )
    for kept in protected:
        if _same_file(target, kept):
            raise InvalidInputError(
                "--out",
                f"got {out!r}, which is the store's own file {kept.name!r}",
                "a file other than the store and its -wal, -shm and -journal files",
            )
    try:
        found = target.lstat()
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise InvalidInputError(
            "--out", f"got {out!r}, which cannot be used ({exc.strerror})", "a file"
        ) from exc
    if not stat.S_ISREG(found.st_mode):
        kind = (
            "a symbolic link"
            if stat.S_ISLNK(found.st_mode)
            else "a folder"
            if stat.S_ISDIR(found.st_mode)
            else "a special file (a FIFO, socket or device)"
        )
        raise InvalidInputError(
            "--out",
            f"got {out!r}, which is {kind}",
            "a new file or an existing regular file (replaced when complete)",
        )
    return target


@contextlib.contextmanager
def open_output(out: str, *, protected: list[Path]) -> Iterator[IO[str]]:
    """A text file to write ``out`` through; it appears only when complete.

    Raises :class:`~approvalflow.InvalidInputError` for an unusable target
    (see the module's docstring) before anything is written, and for a disk
    that refuses the data (full, read-only) with nothing left behind.
    """
    target = _check_target(out, protected)
    try:
        descriptor, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
        )
    except OSError as exc:
        raise InvalidInputError(
            "--out",
            f"got {out!r}, whose folder cannot be written ({exc.strerror})",
            "a file in a folder you may write to",
        ) from exc
    partial = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)
    except OSError as exc:
        raise InvalidInputError(
            "--out",
            f"could not write {out!r} ({exc.strerror or exc}); nothing was written",
            "a file on a disk with room and write access",
        ) from exc
    finally:
        partial.unlink(missing_ok=True)
