"""Shared fixtures: a small firm, a controllable clock, and stores to run on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from approvalflow import Approvals, connect
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests.helpers import START, make_directory, postgres_url


@pytest.fixture
def clock() -> ControllableClock:
    return ControllableClock(START)


@pytest.fixture
def directory() -> InMemoryDirectory:
    return make_directory()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store the library supports: in memory, an SQLite file, PostgreSQL."""
    if request.param == "memory":
        return "memory://"
    if request.param == "postgres":
        return postgres_url(request.getfixturevalue("postgres"))
    return f"sqlite:///{tmp_path / 'approvals.sqlite3'}"


@pytest.fixture
def app(
    store_url: str, clock: ControllableClock, directory: InMemoryDirectory
) -> Iterator[Approvals]:
    with connect(store_url, directory=directory, clock=clock) as application:
        yield application
