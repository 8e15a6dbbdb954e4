"""Wiring: a store URL and the host's ports in, a ready application out.

:func:`connect` is the one place that names concrete adapters (the system
clock, the default email composer, the storage adapters through
:mod:`approvalflow.storage`) and checks every port it is given. Nothing here
runs at import time.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

import attrs

from approvalflow._log import ApprovalLog
from approvalflow._store_errors import store_error
from approvalflow.application import Approvals, DeliveryPorts
from approvalflow.clocks import SystemClock
from approvalflow.domain.errors import (
    ConfigurationError,
    NotAStoreError,
    StoreCorruptError,
    StoreNotFoundError,
)
from approvalflow.domain.values import ReminderSchedule
from approvalflow.links import PortalLinks
from approvalflow.notifications.emails import EmailComposer
from approvalflow.notifications.mailers import FileMailer, SMTPMailer
from approvalflow.ports import (
    PORTS,
    Clock,
    Directory,
    EventSink,
    Links,
    Mailer,
    PortalNotifications,
    check_port,
)
from approvalflow.storage import APPLICATION_ID

__all__ = [
    "DEFAULT_SQLITE_FILE",
    "SMTPSettings",
    "connect",
    "delivery_ports",
    "store_env",
]

#: The file used when no URL and no eventsourcing variables are given.
DEFAULT_SQLITE_FILE = "approvalflow.sqlite3"

# An arbitrary, fixed key for the start-up lock (see _postgres_startup).
_STARTUP_LOCK = 0x61707073

# Wait this long (seconds) for another process's SQLite write lock before
# failing, so a few processes can share one file.
_SQLITE_LOCK_TIMEOUT = "10"

_SUPPORTED = (
    "'sqlite:///PATH', 'sqlite:///:memory:', 'memory://' or "
    "'postgresql://USER:PASSWORD@HOST:PORT/DATABASE?schema=NAME'"
)

# Schema names that PostgreSQL reads the same quoted or not.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# URL query parameters for PostgreSQL and the eventsourcing settings they set.
_POSTGRES_OPTIONS = {
    "schema": "POSTGRES_SCHEMA",
    "pool_size": "POSTGRES_POOL_SIZE",
    "max_overflow": "POSTGRES_MAX_OVERFLOW",
    "max_waiting": "POSTGRES_MAX_WAITING",
    "connect_timeout": "POSTGRES_CONNECT_TIMEOUT",
    "lock_timeout": "POSTGRES_LOCK_TIMEOUT",
    "conn_max_age": "POSTGRES_CONN_MAX_AGE",
    "pre_ping": "POSTGRES_PRE_PING",
    "idle_in_transaction_session_timeout": (
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT"
    ),
}


def store_env(
    url: str | None, *, create: bool = True, read_only: bool = False
) -> dict[str, str]:
    """The eventsourcing settings for a store URL.

    ``None`` keeps eventsourcing's own environment variables when
    ``PERSISTENCE_MODULE`` is set, and otherwise means an SQLite file named
    :data:`DEFAULT_SQLITE_FILE` in the working directory. An SQLite file
    that another application made is refused untouched; with ``create``
    false (or ``read_only``) a missing one is refused too.
    """
    if url is None:
        if os.environ.get("PERSISTENCE_MODULE"):
            return {}
        return _sqlite_env(
            str(Path.cwd() / DEFAULT_SQLITE_FILE), create=create, read_only=read_only
        )
    if not isinstance(url, str):
        msg = f"store URL must be a string, got {type(url).__name__}; use {_SUPPORTED}"
        raise ConfigurationError(msg)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        msg = f"store URL {redact_url(url)!r} is not a URL ({exc}); use {_SUPPORTED}"
        raise ConfigurationError(msg) from exc
    if parts.scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parts.scheme == "sqlite":
        if parts.netloc:
            msg = (
                f"store URL {redact_url(url)!r} names a host; SQLite is a "
                "local file: write sqlite:///relative/path or sqlite:////absolute/path"
                f"; use {_SUPPORTED}"
            )
            raise ConfigurationError(msg)
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
        if not path:
            msg = f"store URL {redact_url(url)!r} names no file; use {_SUPPORTED}"
            raise ConfigurationError(msg)
        return _sqlite_env(path, create=create, read_only=read_only)
    if parts.scheme in ("postgresql", "postgres"):
        return _postgres_env(url)
    shown = redact_url(url)
    msg = f"unknown store URL scheme {parts.scheme!r} in {shown!r}; use {_SUPPORTED}"
    raise ConfigurationError(msg)


#: Query options whose values are secrets wherever they appear in a URL.
_SECRET_OPTIONS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "token",
        "secret",
        "key",
        "api_key",
        "sig",
        "signature",
    }
)


def redact_url(url: str) -> str:
    """``url`` as it may be shown in a message or a log: no password, no token.

    The password in the user part and the values of query options that carry
    secrets (``password``, ``token``, ``secret``, ``key``, ...) become ``***``;
    anything that is not a URL is returned as it is.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        # An unusable port: still take the password out of the user part.
        return re.sub(r"(//[^/:@]*:)[^/@]*@", r"\1***@", url)
    netloc = parts.netloc
    if parts.password is not None:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{parts.username or ''}:***@{host}" + (f":{port}" if port else "")
    query = "&".join(
        f"{name}=***" if name.lower() in _SECRET_OPTIONS else f"{name}={value}"
        for name, value in (
            pair.split("=", 1) if "=" in pair else (pair, "")
            for pair in parts.query.split("&")
            if pair
        )
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _postgres_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError as exc:  # not a number, or out of range
        msg = (
            f"store URL {redact_url(url)!r} has an unusable port ({exc}); "
            "write a port from 1 to 65535, or none for 5432"
        )
        raise ConfigurationError(msg) from exc
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not database or parts.username is None:
        msg = (
            f"store URL {redact_url(url)!r} needs a user, a host and a database; "
            f"use {_SUPPORTED}"
        )
        raise ConfigurationError(msg)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database,
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parts.username),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        # A pool that lets a worker's threads and a web process's requests
        # work at once; a URL can say otherwise.
        "POSTGRES_POOL_SIZE": "5",
        "POSTGRES_MAX_OVERFLOW": "10",
        "POSTGRES_CONNECT_TIMEOUT": "10",
    }
    for name, values in parse_qs(parts.query, keep_blank_values=True).items():
        if name not in _POSTGRES_OPTIONS:
            msg = (
                f"unknown PostgreSQL option {name!r} in {redact_url(url)!r}; known: "
                + ", ".join(sorted(_POSTGRES_OPTIONS))
            )
            raise ConfigurationError(msg)
        env[_POSTGRES_OPTIONS[name]] = values[-1]
    schema = env.get("POSTGRES_SCHEMA")
    if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
        msg = (
            f"PostgreSQL schema {schema!r} in the store URL is not usable: write "
            "1 to 63 lowercase letters, digits and underscores, starting with a "
            "letter or an underscore (eventsourcing writes the name unquoted in "
            "places, where PostgreSQL would fold its case)"
        )
        raise ConfigurationError(msg)
    return env


@contextmanager
def _postgres_startup(env: dict[str, str], *, create: bool = True) -> Iterator[None]:
    """Let processes starting at once take turns creating PostgreSQL tables.

    eventsourcing (re)creates its tables and functions when an application
    starts; two processes doing so at the same moment can fail ("tuple
    concurrently updated"). A session advisory lock makes them queue. The
    schema a URL names is created here too.
    """
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield
        return
    try:
        import psycopg  # noqa: PLC0415 - only PostgreSQL users have it
        from psycopg import sql  # noqa: PLC0415
    except ImportError as exc:
        msg = "PostgreSQL needs psycopg: pip install 'approvalflow[postgres]'"
        raise ConfigurationError(msg) from exc
    try:
        conn = psycopg.connect(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=int(float(env.get("POSTGRES_CONNECT_TIMEOUT", "10"))),
            autocommit=True,
        )
    except psycopg.Error as exc:
        msg = f"cannot connect to PostgreSQL at {env['POSTGRES_HOST']}: {exc}"
        raise ConfigurationError(msg) from exc
    schema = env.get("POSTGRES_SCHEMA")
    with conn:
        # A Django project's store (approvalflow_django's approvalflow_events,
        # none of eventsourcing's tables): never add a second store beside it.
        where = schema or "public"
        hosted = conn.execute(
            "SELECT to_regclass(%s) IS NULL AND to_regclass(%s) IS NOT NULL",
            [f"{where}.approvals_events", f"{where}.approvalflow_events"],
        ).fetchone()
        if hosted is not None and hosted[0]:
            raise NotAStoreError(
                _django_hosted(f"PostgreSQL schema {where!r} at {env['POSTGRES_HOST']}")
            )
        if not create:
            table = f"{schema or 'public'}.approvals_events"
            found = conn.execute("SELECT to_regclass(%s)", [table]).fetchone()
            if found is None or found[0] is None:
                msg = (
                    f"no approvalflow store in PostgreSQL at {env['POSTGRES_HOST']} "
                    f"(no table {table}): nothing was created"
                )
                raise StoreNotFoundError(msg)
        if schema:
            # The name rule cannot know the server's own keywords: 'user' or
            # 'order' pass it, and eventsourcing's unquoted SQL then fails.
            reserved = conn.execute(
                "SELECT 1 FROM pg_get_keywords()"
                " WHERE word = %s AND catcode IN ('R', 'T')",
                [schema],
            ).fetchone()
            if reserved is not None:
                msg = (
                    f"PostgreSQL schema {schema!r} in the store URL is a word "
                    "PostgreSQL reserves; choose another name (e.g. "
                    f"{schema}_approvals)"
                )
                raise ConfigurationError(msg)
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", [_STARTUP_LOCK])
            if schema:
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        sql.Identifier(schema)
                    )
                )
        except psycopg.Error as exc:
            msg = f"cannot prepare PostgreSQL schema {schema!r}: {exc}"
            raise ConfigurationError(msg) from exc
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [_STARTUP_LOCK])


def _sqlite_env(path: str, *, create: bool, read_only: bool) -> dict[str, str]:
    if path == ":memory:":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": _SQLITE_LOCK_TIMEOUT,
        }
    file = Path(path).expanduser()
    try:
        folder = file.parent.is_dir()
        exists = file.is_file() and file.stat().st_size > 0
    except OSError as exc:  # e.g. a name longer than the file system allows
        shown = path if len(path) <= 200 else f"{path[:100]}...{path[-60:]}"
        msg = (
            f"cannot open SQLite file {shown!r} ({exc.strerror}); write the path "
            "of a file the file system can name"
        )
        raise ConfigurationError(msg) from exc
    if not folder:
        msg = f"cannot open SQLite file {path!r}: no folder {str(file.parent)!r}"
        raise ConfigurationError(msg)
    if exists:
        _check_is_a_store(file)
    elif not create or read_only:
        msg = (
            f"no approvalflow store at {str(file)!r}: nothing was created (check "
            "the path; a store is created by connect() or a command that records)"
        )
        raise StoreNotFoundError(msg)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(file),
        "SQLITE_LOCK_TIMEOUT": _SQLITE_LOCK_TIMEOUT,
    }
    if read_only:
        # Opened read-only: nothing is written, no lock is taken, and a copy
        # on a read-only disk or without write permission opens too.
        writable = os.access(file, os.W_OK) and os.access(file.parent, os.W_OK)
        mode = "mode=ro" if writable else "immutable=1"
        env["SQLITE_DBNAME"] = f"file:{quote(str(file))}?{mode}"
        env["CREATE_TABLE"] = "false"
        env["APPROVALFLOW_READ_ONLY"] = "true"
    return env


def _read_mark(uri: str) -> tuple[int, set[str]]:
    """The application id and the table names of the database at ``uri``."""
    conn = sqlite3.connect(uri, uri=True)
    try:
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        tables = {
            str(r[0])
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    finally:
        conn.close()
    return app_id, tables


def _django_hosted(where: str) -> str:
    """Why a Django project's database is refused, and what to run instead."""
    return (
        f"{where} is a Django project's database, with approvalflow's store in "
        "it (approvalflow_django): approvalflow left it untouched. Run the same "
        "command from that project, without --db: python manage.py approvalflow "
        "COMMAND (e.g. python manage.py approvalflow health)"
    )


def _check_is_a_store(file: Path) -> None:
    """Refuse, untouched, a database that another application made."""
    # immutable: no lock, no -wal/-shm files, nothing written; the header
    # and the table names are all that is read. It ignores a -wal file,
    # though, where the latest committed pages may be (the mark, new tables,
    # or after a crash the truth while the main file is mid-checkpoint):
    # with one beside it, the file is read as SQLite reads it, read-only.
    wal = file.with_name(file.name + "-wal")
    attempts = [f"file:{quote(str(file))}?immutable=1"]
    if wal.is_file() and wal.stat().st_size > 0:
        attempts.insert(0, f"file:{quote(str(file))}?mode=ro")
    attempts.append(_recovering_uri(file))
    failure: sqlite3.DatabaseError | None = None
    for uri in attempts:
        try:
            app_id, tables = _read_mark(uri)
            break
        except sqlite3.DatabaseError as exc:
            # A file SQLite recovers when opened normally (a crash left a
            # WAL or hot journal) is not damaged: the next way is tried.
            failure = failure or exc
    else:
        msg = (
            f"{str(file)!r} is not an approvalflow store or is damaged "
            f"({failure}); check the path; if `PRAGMA integrity_check` in the "
            "sqlite3 shell reports errors too, restore it from a backup"
        )
        raise StoreCorruptError(msg) from failure
    if app_id == APPLICATION_ID:
        return
    # Stores of releases before the mark: eventsourcing's events table and
    # approvalflow's own tables, nothing else.
    own = {t for t in tables if t.startswith(("approvalflow_", "af"))}
    ours = {"stored_events"} | own
    # eventsourcing's events table alone is any eventsourcing application's
    # database: an earlier approvalflow release always made its own tables
    # beside it.
    if (
        app_id == 0
        and "stored_events" in tables
        and own
        and tables <= ours | {"sqlite_sequence"}
    ):
        return
    if app_id == 0 and not tables:
        return  # an empty database: nothing of anyone's to protect
    if {"approvalflow_events", "django_migrations"} <= tables:
        raise NotAStoreError(_django_hosted(repr(str(file))))
    others = sorted(tables - own - {"sqlite_sequence"})[:5]
    msg = (
        f"{str(file)!r} is not an approvalflow store: it is another application's "
        f"database (tables {', '.join(others) or '-'}; application id {app_id:#x}). "
        "approvalflow left it untouched: point it at its own file"
    )
    raise NotAStoreError(msg)


def _recovering_uri(file: Path) -> str:
    """A URI that lets SQLite replay the file's WAL or hot journal.

    Read-only where that is enough (SQLite rebuilds a WAL's index in private
    memory); read-write where the file and its folder allow it, since only a
    writer can roll back a hot rollback journal.
    """
    writable = os.access(file, os.W_OK) and os.access(file.parent, os.W_OK)
    return f"file:{quote(str(file))}?mode={'rw' if writable else 'ro'}"


def connect(
    url: str | None = None,
    *,
    settings: Mapping[str, str] | None = None,
    directory: Directory | None = None,
    clock: Clock | None = None,
    mailer: Mailer | None = None,
    composer: EmailComposer | None = None,
    portal: PortalNotifications | None = None,
    links: Links | None = None,
    event_sink: EventSink | None = None,
    refresh_views_on_read: bool = True,
    refresh_views_after_write: bool = True,
    create: bool = True,
    read_only: bool = False,
    reminder_schedule: ReminderSchedule | None = None,
) -> Approvals:
    """Open the approvals store at ``url`` with the host's ports.

    ``url`` is ``None`` (an SQLite file in the working directory, or
    eventsourcing's own ``PERSISTENCE_MODULE``/``SQLITE_DBNAME``/``POSTGRES_*``
    variables when set), ``"sqlite:///path/to/file"``, ``"memory://"``
    (in-process, for tests) or ``"postgresql://user:password@host:5432/db"``
    with optional ``?schema=...&pool_size=...&max_overflow=...&
    connect_timeout=...&lock_timeout=...``. Instead of a URL, ``settings``
    passes eventsourcing settings as they are (``PERSISTENCE_MODULE`` and its
    module's own), for a persistence module with an approvalflow storage
    adapter (:mod:`approvalflow.storage`); one without is refused here.
    Tables (and a named schema) are created on first use. Close the
    application when done, best with ``with connect(...) as app:``.

    Every port given is checked: an object lacking a port's methods is a
    :class:`ConfigurationError` naming the port and the method. ``clock``
    defaults to the system clock. ``mailer``, ``links`` and ``composer``
    (an :class:`EmailComposer` with the firm's sender address and name; there
    is no default, so no placeholder ever reaches a client) are what
    :meth:`Approvals.notifier` delivers with; ``portal`` and ``event_sink``
    are optional there.

    A database another application made is refused untouched
    (:class:`~approvalflow.NotAStoreError`). ``create=False`` refuses a
    store that does not exist yet (:class:`~approvalflow.StoreNotFoundError`)
    instead of creating it. ``read_only=True`` (SQLite files) opens an
    existing store without writing or locking anything, also a copy on a
    read-only disk: queries, history and the audit chain work, commands are
    refused, and lists show what the read models held.

    ``reminder_schedule`` is the firm's :class:`ReminderSchedule`, recorded
    with every request whose :class:`ReminderPolicy` names none, e.g.
    ``ReminderSchedule(time_zone="Europe/Paris", holidays="FR")`` (09:00 to
    18:00 on French working days). Without one (the default) reminders fall
    due exactly N x 24 hours after the latest contact, any day and hour; an
    application given a schedule (a worker) sends those too only when its
    schedule is open.

    Read models follow the events: after this application's own commands
    (unless ``refresh_views_after_write`` is false) and before each list
    query (unless ``refresh_views_on_read`` is false). With both off, a
    :meth:`Approvals.follow` runner, here or in a worker process, keeps them
    up to date.
    """
    given = {
        "directory": directory,
        "clock": clock,
        "mailer": mailer,
        "portal": portal,
        "links": links,
        "event_sink": event_sink,
    }
    for name, port in given.items():
        if port is not None:
            check_port(name, PORTS[name], port)
    if reminder_schedule is not None and not isinstance(
        reminder_schedule, ReminderSchedule
    ):
        msg = (
            f"reminder_schedule= is not a ReminderSchedule: got "
            f"{type(reminder_schedule).__name__}"
        )
        raise ConfigurationError(msg)
    if composer is not None and not callable(getattr(composer, "compose", None)):
        msg = (
            f"composer= is not an email composer: {type(composer).__name__} "
            "lacks compose(); pass an approvalflow.EmailComposer"
        )
        raise ConfigurationError(msg)
    env = _settings_env(url, settings, create=create, read_only=read_only)
    if read_only:
        # Nothing may be written: no catching up, no inline read models.
        refresh_views_on_read = refresh_views_after_write = False
    try:
        # A read-only command never creates a store, on PostgreSQL neither.
        with _postgres_startup(env, create=create and not read_only):
            log = ApprovalLog(
                env,
                clock=clock if clock is not None else SystemClock(),
                refresh_views_after_write=refresh_views_after_write,
            )
    except (ConfigurationError, NotAStoreError):
        raise
    except Exception as exc:
        where = redact_url(url) if url else "default"
        typed = store_error(exc)
        if typed is not None:
            raise type(typed)(
                f"cannot open the approvals store ({where}): {typed}"
            ) from exc
        msg = f"cannot open the approvals store ({where}): {exc}"
        raise ConfigurationError(msg) from exc
    return Approvals(
        log,
        directory=directory,
        delivery=DeliveryPorts(
            mailer=mailer,
            composer=composer,
            links=links,
            portal=portal,
            event_sink=event_sink,
            lease_clock=SystemClock(),
        ),
        refresh_views_on_read=refresh_views_on_read,
        reminder_schedule=reminder_schedule,
    )


def _settings_env(
    url: str | None,
    settings: Mapping[str, str] | None,
    *,
    create: bool,
    read_only: bool,
) -> dict[str, str]:
    if settings is None:
        return store_env(url, create=create, read_only=read_only)
    if url is not None:
        msg = "pass either a store URL or settings=, not both"
        raise ConfigurationError(msg)
    if not isinstance(settings, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in settings.items()
    ):
        msg = (
            "settings= must map setting names to strings, "
            "e.g. {'PERSISTENCE_MODULE': ...}"
        )
        raise ConfigurationError(msg)
    if not settings.get("PERSISTENCE_MODULE"):
        msg = (
            "settings= must name PERSISTENCE_MODULE "
            "(an eventsourcing persistence module)"
        )
        raise ConfigurationError(msg)
    return dict(settings)


@attrs.frozen
class SMTPSettings:
    """Where and how to hand emails to an SMTP server (see :class:`SMTPMailer`)."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


def delivery_ports(
    *,
    smtp: SMTPSettings | None = None,
    mail_dir: str | Path | None = None,
    sender: str,
    firm_name: str,
    language: str = "en",
    portal_url: str | None = None,
    links: Links | None = None,
    reply_to: str | None = None,
    logo_url: str | None = None,
    firm_url: str | None = None,
    preferences_url: str | None = None,
) -> dict[str, Any]:
    """The mailer, composer and links for :func:`connect`, from plain settings.

    Exactly one of ``smtp`` (checked by connecting now, so a wrong setting
    fails at start-up rather than at the first email) and ``mail_dir`` (one
    ``.eml`` file per message). ``links`` is the host's own Links port, or
    else review links under ``portal_url`` (with the firm's document pages
    under ``firm_url`` and the email preferences page ``preferences_url``,
    both optional). ``reply_to`` and ``logo_url`` go to the
    :class:`EmailComposer`. Pass the result on:
    ``connect(url, directory=..., **delivery_ports(...))``.
    """
    if (smtp is None) == (mail_dir is None):
        msg = "give exactly one of an SMTP server and a mail folder"
        raise ConfigurationError(msg)
    if links is None:
        if not portal_url:
            msg = (
                "emails link to the portal: give portal_url= (the portal's base "
                "URL) or links= (the host's Links port)"
            )
            raise ConfigurationError(msg)
        links = PortalLinks(
            portal_url, firm_url=firm_url, preferences_url=preferences_url
        )
    # Settings first, then the mail server: a wrong setting is refused
    # before anything connects or creates a folder.
    composer = EmailComposer(
        sender=sender,
        firm_name=firm_name,
        default_language=language,
        reply_to=reply_to,
        logo_url=logo_url,
    )
    mailer: SMTPMailer | FileMailer
    if smtp is not None:
        mailer = SMTPMailer(
            smtp.host,
            smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=smtp.password,
            timeout=smtp.timeout,
        )
        mailer.check()
    else:
        assert mail_dir is not None
        mailer = FileMailer(mail_dir)
    return {"mailer": mailer, "composer": composer, "links": links}
