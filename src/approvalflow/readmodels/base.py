"""What every read model is: tables, a fold over event classes, and queries.

A read model is one module holding a :class:`ReadModel` subclass and its
row types. The subclass names its tables and indexes (SQL written once for
SQLite and PostgreSQL; the differences live in :mod:`approvalflow.sqlbackend`),
says which event classes it handles and which it ignores (a test checks that
every event class is one or the other), and folds a batch of events into
its tables with :meth:`ReadModel.apply`. The store
(:mod:`approvalflow.readmodels.store`) runs that fold in the same transaction
as the command that recorded the events, in catch-up batches, and in bulk
for a rebuild.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

from approvalflow.sqlbackend import Cursor

__all__ = ["ReadModel", "Tx"]


class Tx:
    """One transaction on one generation of the read models' tables."""

    def __init__(self, cursor: Cursor, prefix: str, *, bulk: bool = False) -> None:
        self.cursor = cursor
        #: Put in front of table names: schema, generation (``af3_``).
        self.prefix = prefix
        #: True while a rebuild fills fresh tables: folds may keep rows in
        #: :attr:`cache` between batches instead of reading them back.
        self.bulk = bulk
        #: Rows a read model keeps between the batches of one rebuild.
        self.cache: dict[str, dict[str, Any]] = {}

    def sql(self, statement: str) -> str:
        """``statement`` with ``{p}`` replaced by this generation's prefix."""
        return statement.replace("{p}", self.prefix)

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Run one statement (``{p}`` prefixes table names)."""
        self.cursor.execute(self.sql(statement), params)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        self.cursor.executemany(self.sql(statement), rows)

    def fetchall(self) -> list[Any]:
        """The rows of the last query."""
        return self.cursor.fetchall()

    def select_in(
        self, statement: str, keys: Sequence[Any], chunk: int = 500
    ) -> list[Any]:
        """Rows of ``statement`` (ending in ``IN ({keys})``) for many keys."""
        found: list[Any] = []
        for start in range(0, len(keys), chunk):
            part = keys[start : start + chunk]
            marks = ", ".join("?" * len(part))
            self.execute(statement.replace("{keys}", marks), part)
            found.extend(self.fetchall())
        return found


class ReadModel(abc.ABC):
    """A read model: its tables, which events it folds, and how.

    Subclasses set the class attributes and implement :meth:`apply`.
    Queries are methods of the subclass taking a read cursor and prefix.
    """

    #: The read model's name, used for its tracking position (stable).
    name: ClassVar[str]
    #: ``CREATE TABLE`` statements; ``{p}`` is the generation's prefix,
    #: ``{text}`` the text type, ``{without_rowid}`` SQLite's table option.
    tables: ClassVar[tuple[str, ...]]
    #: The tables' names, for dropping a generation.
    table_names: ClassVar[tuple[str, ...]]
    #: ``CREATE INDEX`` statements; ``{i}`` is the index name prefix. A
    #: rebuild creates them after the bulk fill.
    indexes: ClassVar[tuple[str, ...]] = ()
    #: Event classes whose events change the read model.
    handles: ClassVar[frozenset[type]]
    #: Event classes the read model ignores on purpose.
    ignores: ClassVar[frozenset[type]]

    @abc.abstractmethod
    def apply(self, tx: Tx, events: Sequence[Any]) -> None:
        """Fold ``events`` (in log order) into the tables, in ``tx``."""
