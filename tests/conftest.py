"""Shared fixtures: a small firm, a controllable clock, and stores to run on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from approvalflow import Approvals, connect
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests import pg_server
from tests.helpers import START, make_directory, postgres_url

# Hypothesis profiles: "dev" is quick for local runs, "ci" digs deeper. CI
# (CI=true) picks "ci" unless HYPOTHESIS_PROFILE says otherwise.
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)


@pytest.fixture
def clock() -> ControllableClock:
    return ControllableClock(START)


@pytest.fixture
def directory() -> InMemoryDirectory:
    return make_directory()


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_server.PostgresServer]:
    """One throwaway PostgreSQL server for the whole run.

    Where it cannot be started, PostgreSQL tests are skipped with the reason,
    except in CI (CI=true), where that is a failure: CI must test all stores.
    """
    try:
        server = pg_server.start()
    except pg_server.PostgresUnavailableError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"no PostgreSQL server here: {exc}")
    try:
        yield server
    finally:
        server.stop()


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
