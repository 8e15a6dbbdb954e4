"""One small SQL surface over SQLite and PostgreSQL for approvalflow's own tables.

The read models and the delivery bookkeeping write the same SQL to both
databases: ``?`` placeholders (turned into ``%s`` for psycopg), ``ON
CONFLICT`` upserts (SQLite 3.24+), rows read by column name. What differs is
here: how a write transaction starts, the text type (PostgreSQL compares
with the "C" collation, so order is byte order, as in SQLite), ``WITHOUT
ROWID``, and the schema in front of table names. Connections come from
eventsourcing's own datastores, so pools, timeouts and schemas are set once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import SQLiteDatastore

__all__ = [
    "Cursor",
    "PostgresBackend",
    "SQLBackend",
    "SQLiteBackend",
    "parse_time",
    "quote_identifier",
    "time_text",
]

# An arbitrary, fixed key: approvalflow's table creation in PostgreSQL.
_DDL_LOCK = 0x61707066
# Another arbitrary, fixed key: one read-model rebuild at a time.
_REBUILD_LOCK = 0x61707262


def time_text(value: datetime | None) -> str | None:
    """A time as stored: UTC, fixed width, so text order is time order."""
    if value is None:
        return None
    # isoformat with microseconds always: same text as
    # strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"), three times faster.
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(value: str | None) -> datetime | None:
    """A stored time back as an aware datetime."""
    return None if value is None else datetime.fromisoformat(value)


def quote_identifier(name: str) -> str:
    """``name`` as a PostgreSQL quoted identifier (case and symbols kept)."""
    return '"' + name.replace('"', '""') + '"'


class Cursor:
    """A database cursor taking ``?`` placeholders on every backend."""

    def __init__(self, raw: Any, *, pyformat: bool) -> None:
        self.raw = raw
        self.pyformat = pyformat

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        self.raw.execute(sql.replace("?", "%s") if self.pyformat else sql, list(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        if rows:
            self.raw.executemany(sql.replace("?", "%s") if self.pyformat else sql, rows)

    def fetchone(self) -> Any:
        """The next row (by column name), or ``None``."""
        return self.raw.fetchone()

    def fetchall(self) -> list[Any]:
        """The remaining rows (by column name)."""
        return list(self.raw.fetchall())

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return int(self.raw.rowcount)


class SQLBackend(Protocol):
    """What a store needs from a database."""

    #: The column type for text (ids, names, times).
    text: str
    #: Appended to tables keyed by their primary key.
    without_rowid: str
    #: Put in front of every table name (a schema and a dot, or nothing).
    prefix: str
    #: Appended to a SELECT that must lock the rows it reads until commit.
    for_update: str
    #: Whether each arm of a merged list gets its own ORDER BY and LIMIT
    #: (PostgreSQL) or the database merges ordered arms lazily (SQLite).
    limit_arms: bool

    def write(self, *, bulk: bool = False) -> Any:
        """A context manager: a cursor in a transaction that commits.

        ``bulk`` trades durability of this one commit for speed (a rebuild's
        batches: a crash loses at most work the rebuild redoes).
        """
        ...

    def read(self) -> Any:
        """A context manager: a cursor in a read-only transaction."""
        ...

    def serialize_ddl(self, cursor: Cursor) -> None:
        """Make concurrent table creation in this transaction wait its turn."""
        ...

    def analyze(self, cursor: Cursor) -> None:
        """Refresh the planner's statistics (after a bulk fill)."""
        ...

    def explain(self, cursor: Cursor, sql: str, params: Sequence[Any]) -> list[str]:
        """The database's plan for a query, one line per step."""
        ...


class SQLiteBackend:
    """SQLite through eventsourcing's datastore (WAL, busy timeout)."""

    text = "TEXT"
    without_rowid = " WITHOUT ROWID"
    prefix = ""
    # A write transaction already holds the database's only write lock.
    for_update = ""
    # SQLite merges index-ordered arms of a compound SELECT and stops at the
    # LIMIT (and takes no parentheses around arms).
    limit_arms = False

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    @contextmanager
    def write(self, *, bulk: bool = False) -> Iterator[Cursor]:
        """A write transaction that holds SQLite's write lock from the start."""
        # BEGIN IMMEDIATE queues for the write lock (honouring the busy
        # timeout), where a deferred transaction that read first could fail
        # at once when another process wrote in between.
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            if bulk:
                # In WAL mode NORMAL skips the fsync at commit and still never
                # corrupts the file; checkpoints come every ~40 MB, not 4 MB.
                # The pooled connection gets the defaults back.
                cursor.execute("PRAGMA synchronous = NORMAL")
                cursor.execute("PRAGMA wal_autocheckpoint = 10000")
                # Keys are random (record ids): a 64 MB page cache keeps the
                # B-trees' inner pages in memory as the tables grow.
                cursor.execute("PRAGMA cache_size = -65536")
            try:
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                    yield Cursor(cursor.sqlite_cursor, pyformat=False)
                except BaseException:
                    conn.rollback()
                    raise
                try:
                    conn.commit()
                except sqlite3.IntegrityError as exc:
                    raise IntegrityError(exc) from exc
            finally:
                if bulk:
                    cursor.execute("PRAGMA synchronous = FULL")
                    cursor.execute("PRAGMA wal_autocheckpoint = 1000")
                    cursor.execute("PRAGMA cache_size = -2000")

    def serialize_ddl(self, cursor: Cursor) -> None:
        """Nothing to do: BEGIN IMMEDIATE already serializes writers."""

    def analyze(self, cursor: Cursor) -> None:
        """Sampled statistics: quick even on a large file."""
        cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.execute("ANALYZE")

    def explain(self, cursor: Cursor, sql: str, params: Sequence[Any]) -> list[str]:
        """``EXPLAIN QUERY PLAN`` details."""
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return [str(r["detail"]) for r in cursor.fetchall()]

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A consistent read (one snapshot for every statement)."""
        with self.datastore.transaction(commit=False) as c:
            yield Cursor(c.sqlite_cursor, pyformat=False)


class PostgresBackend:
    """PostgreSQL through eventsourcing's datastore (psycopg 3 and its pool)."""

    text = 'TEXT COLLATE "C"'
    without_rowid = ""
    for_update = " FOR UPDATE"
    limit_arms = True

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore
        # Quoted as eventsourcing quotes it: a schema named MixedCase (or
        # with a dash) is that schema, not a case-folded or broken name.
        self.prefix = f"{quote_identifier(datastore.schema)}."

    @contextmanager
    def write(self, *, bulk: bool = False) -> Iterator[Cursor]:
        """A read-committed transaction; row locks order concurrent writers."""
        with self.datastore.transaction(commit=True) as c:
            if bulk:
                c.execute("SET LOCAL synchronous_commit = off")
            yield Cursor(c, pyformat=True)

    def serialize_ddl(self, cursor: Cursor) -> None:
        """Take a transaction-scoped advisory lock before creating tables.

        Two processes running ``CREATE TABLE IF NOT EXISTS`` at once can
        otherwise both try to create it and one fails.
        """
        cursor.execute("SELECT pg_advisory_xact_lock(?)", [_DDL_LOCK])

    def analyze(self, cursor: Cursor) -> None:
        """Statistics for the schema's tables (PostgreSQL samples them)."""
        cursor.execute("ANALYZE")

    def explain(self, cursor: Cursor, sql: str, params: Sequence[Any]) -> list[str]:
        """``EXPLAIN`` lines."""
        cursor.execute("EXPLAIN " + sql, params)
        return [str(next(iter(r.values()))) for r in cursor.fetchall()]

    @contextmanager
    def rebuild_lock(self) -> Iterator[bool]:
        """Hold a session advisory lock while a rebuild runs.

        It is held on a connection of its own; PostgreSQL releases it if the
        process dies.
        """
        with self.datastore.get_connection() as conn:
            conn.autocommit = True
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s) AS got", [_REBUILD_LOCK]
            ).fetchone()
            if not row["got"]:
                yield False
                return
            try:
                yield True
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", [_REBUILD_LOCK])

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A read transaction (rolled back at the end)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield Cursor(c, pyformat=True)
