"""Wiring: a store URL and the host's ports in, a ready application out.

Nothing here runs at import time; :func:`connect` builds everything when
called.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from approvalflow.application import Approvals
from approvalflow.domain.errors import ConfigurationError
from approvalflow.ports import Clock, Directory, Links, Mailer, PortalNotifications

__all__ = ["DEFAULT_SQLITE_FILE", "connect", "store_env"]

#: The file used when no URL and no eventsourcing variables are given.
DEFAULT_SQLITE_FILE = "approvalflow.sqlite3"

# Wait this long (seconds) for another process's SQLite write lock before
# failing, so a few processes can share one file.
_SQLITE_LOCK_TIMEOUT = "10"

_SUPPORTED = "'sqlite:///PATH', 'sqlite:///:memory:' or 'memory://'"


def store_env(url: str | None) -> dict[str, str]:
    """The eventsourcing settings for a store URL.

    ``None`` keeps eventsourcing's own environment variables when
    ``PERSISTENCE_MODULE`` is set, and otherwise means an SQLite file named
    :data:`DEFAULT_SQLITE_FILE` in the working directory.
    """
    if url is None:
        if os.environ.get("PERSISTENCE_MODULE"):
            return {}
        return _sqlite_env(str(Path.cwd() / DEFAULT_SQLITE_FILE))
    if not isinstance(url, str):
        msg = f"store URL must be a string, got {type(url).__name__}; use {_SUPPORTED}"
        raise ConfigurationError(msg)
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parts.scheme == "sqlite":
        if parts.netloc:
            msg = (
                f"store URL {url!r} names a host ({parts.netloc!r}); SQLite is a "
                "local file: write sqlite:///relative/path or sqlite:////absolute/path"
                f"; use {_SUPPORTED}"
            )
            raise ConfigurationError(msg)
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
        if not path:
            msg = f"store URL {url!r} names no file; use {_SUPPORTED}"
            raise ConfigurationError(msg)
        return _sqlite_env(path)
    if parts.scheme in ("postgresql", "postgres"):
        msg = "PostgreSQL is not supported by this release yet; use " + _SUPPORTED
        raise ConfigurationError(msg)
    msg = f"unknown store URL scheme {parts.scheme!r} in {url!r}; use {_SUPPORTED}"
    raise ConfigurationError(msg)


def _sqlite_env(path: str) -> dict[str, str]:
    if path != ":memory:":
        parent = Path(path).expanduser().parent
        if not parent.is_dir():
            msg = f"cannot open SQLite file {path!r}: no folder {str(parent)!r}"
            raise ConfigurationError(msg)
        path = str(Path(path).expanduser())
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": _SQLITE_LOCK_TIMEOUT,
    }


def connect(
    url: str | None = None,
    *,
    directory: Directory | None = None,
    clock: Clock | None = None,
    mailer: Mailer | None = None,
    portal: PortalNotifications | None = None,
    links: Links | None = None,
    refresh_views_on_read: bool = True,
    refresh_views_after_write: bool = True,
) -> Approvals:
    """Open the approvals store at ``url`` with the host's ports.

    ``url`` is ``None`` (an SQLite file in the working directory, or
    eventsourcing's own ``PERSISTENCE_MODULE``/``SQLITE_DBNAME``/... variables
    when set), ``"sqlite:///path/to/file"``, or ``"memory://"`` (in-process,
    for tests). Tables are created on first use. Close the application when
    done, best with ``with connect(...) as app:``.

    Read models follow the events: after this application's own commands
    (unless ``refresh_views_after_write`` is false) and before each list
    query (unless ``refresh_views_on_read`` is false). With both off, a
    :meth:`Approvals.follow` runner, here or in a worker process, keeps them
    up to date.
    """
    env = store_env(url)
    try:
        return Approvals(
            env,
            directory=directory,
            clock=clock,
            mailer=mailer,
            portal=portal,
            links=links,
            refresh_views_on_read=refresh_views_on_read,
            refresh_views_after_write=refresh_views_after_write,
        )
    except ConfigurationError:
        raise
    except Exception as exc:
        msg = f"cannot open the approvals store ({url or 'default'}): {exc}"
        raise ConfigurationError(msg) from exc
