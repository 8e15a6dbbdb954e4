"""approvalflow's SQL on one Django database connection, in Django's transactions.

Everything approvalflow writes (events, read-model rows, delivery records)
goes through :class:`DjangoDatabase`: the thread's own connection of a
Django database alias, inside ``transaction.atomic(using=alias)``. So an
approval request made inside the host's own ``transaction.atomic()`` becomes
a savepoint of the host's transaction: it commits with the host's ORM writes,
or rolls back with them.

The SQL runs on the DB-API connection under Django's wrapper
(``connection.connection``), through a cursor that reads rows by column name
(``sqlite3.Row``, psycopg's ``dict_row``), which is what approvalflow's
:class:`~approvalflow.storage.Cursor` expects. Django's own cursor wrapper
returns tuples.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import django.db
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.connection import ConnectionDoesNotExist
from eventsourcing.persistence import IntegrityError, OperationalError

from approvalflow import ConfigurationError
from approvalflow.storage import Cursor

__all__ = ["SUPPORTED_VENDORS", "DjangoDatabase"]

#: Django database vendors approvalflow runs on.
SUPPORTED_VENDORS = ("sqlite", "postgresql")


class DjangoDatabase:
    """One Django database alias, as approvalflow's storage uses it.

    Raises :class:`~approvalflow.ConfigurationError` for an alias Django does
    not know, a database other than SQLite or PostgreSQL, or PostgreSQL
    through psycopg 2 (approvalflow reads rows by name with psycopg 3).
    """

    def __init__(self, alias: str) -> None:
        try:
            wrapper = connections[alias]
        except ConnectionDoesNotExist as exc:
            known = ", ".join(repr(a) for a in connections) or "none"
            msg = (
                f"Django has no database {alias!r} (settings.DATABASES has: {known}); "
                "set APPROVALFLOW['DATABASE'] (or DJANGO_DATABASE) to one of them"
            )
            raise ConfigurationError(msg) from exc
        if wrapper.vendor not in SUPPORTED_VENDORS:
            msg = (
                f"Django database {alias!r} is {wrapper.vendor}; approvalflow_django "
                f"runs on {' and '.join(SUPPORTED_VENDORS)}"
            )
            raise ConfigurationError(msg)
        self.alias = alias
        self.vendor: str = wrapper.vendor
        #: psycopg's ``%s`` placeholders (PostgreSQL) or sqlite3's ``?``.
        self.pyformat = self.vendor == "postgresql"
        integrity: list[type[BaseException]] = [
            sqlite3.IntegrityError,
            django.db.IntegrityError,
        ]
        operational: list[type[BaseException]] = [
            sqlite3.OperationalError,
            django.db.OperationalError,
            django.db.InterfaceError,
        ]
        if self.pyformat:
            # Django's PostgreSQL backend runs on psycopg 3 or psycopg 2.
            driver = getattr(getattr(wrapper, "Database", None), "__name__", "")
            if str(driver).startswith("psycopg2"):
                msg = (
                    f"Django database {alias!r} uses psycopg 2; approvalflow_django "
                    "needs psycopg 3: pip install 'approvalflow-django[postgres]'"
                )
                raise ConfigurationError(msg)
            import psycopg  # noqa: PLC0415 - only PostgreSQL hosts have it

            integrity.append(psycopg.IntegrityError)
            operational += [psycopg.OperationalError, psycopg.InterfaceError]
        self._integrity = tuple(integrity)
        self._operational = tuple(operational)

    @property
    def connection(self) -> BaseDatabaseWrapper:
        """The calling thread's Django connection for the alias."""
        return connections[self.alias]

    def name(self) -> str:
        """The database's name as configured (an SQLite file, a PostgreSQL db)."""
        return str(self.connection.settings_dict["NAME"])

    def _raw_cursor(self) -> Any:
        # Only inside ensure_connection()/atomic(): the DB-API connection.
        raw = self.connection.connection
        if self.pyformat:
            from psycopg.rows import dict_row  # noqa: PLC0415

            return raw.cursor(row_factory=dict_row)
        cursor = raw.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Driver errors as eventsourcing's, which approvalflow handles.

        A broken connection outside any transaction is closed, so the next
        use reconnects (Django would do so between requests, but a worker
        has no requests).
        """
        try:
            yield
        except self._integrity as exc:
            raise IntegrityError(str(exc)) from exc
        except self._operational as exc:
            connection = self.connection
            if not connection.in_atomic_block:
                connection.close()
            raise OperationalError(str(exc)) from exc

    @contextmanager
    def _atomic(self, *, immediate: bool) -> Iterator[bool]:
        """``transaction.atomic`` on the alias; yields whether it is outermost.

        On SQLite an outermost write transaction starts ``BEGIN IMMEDIATE``
        (taking the write lock at once, waiting for it up to the busy
        timeout), where Django's default ``BEGIN`` would let a transaction
        that read first fail at once when another wrote meanwhile. Reads
        start a deferred ``BEGIN``: a snapshot, no lock.
        """
        connection = self.connection
        outermost = not connection.in_atomic_block
        with ExitStack() as stack:
            if outermost and self.vendor == "sqlite":
                connection.ensure_connection()
                wanted = "IMMEDIATE" if immediate else None
                saved = getattr(connection, "transaction_mode", None)
                setattr(connection, "transaction_mode", wanted)  # noqa: B010
                try:
                    stack.enter_context(transaction.atomic(using=self.alias))
                finally:
                    setattr(connection, "transaction_mode", saved)  # noqa: B010
            else:
                stack.enter_context(transaction.atomic(using=self.alias))
            yield outermost

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        """A cursor in ``transaction.atomic``: a savepoint inside the host's."""
        with self._translated(), self._atomic(immediate=True):
            raw = self._raw_cursor()
            try:
                yield Cursor(raw, pyformat=self.pyformat)
            finally:
                raw.close()

    @contextmanager
    def read(self) -> Iterator[Cursor]:
        """A cursor in a consistent read (one snapshot for every statement).

        Inside the host's transaction it reads what that transaction sees,
        including its own uncommitted writes.
        """
        with self._translated(), self._atomic(immediate=False) as outermost:
            raw = self._raw_cursor()
            try:
                if outermost and self.pyformat:
                    # The first statement of the transaction sets its level.
                    raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                yield Cursor(raw, pyformat=self.pyformat)
            finally:
                raw.close()

    @contextmanager
    def statement(self) -> Iterator[Cursor]:
        """A cursor for one statement: autocommit, or in the host's transaction."""
        with self._translated():
            self.connection.ensure_connection()
            raw = self._raw_cursor()
            try:
                yield Cursor(raw, pyformat=self.pyformat)
            finally:
                raw.close()

    def table_names(self) -> set[str]:
        """Tables the connection sees (PostgreSQL: on its search path)."""
        with self._translated():
            return set(self.connection.introspection.table_names())
