"""Fixtures shared by the core's tests and every adapter's tests.

The hypothesis profiles and the throwaway PostgreSQL server live here, at the
repository's root, so ``adapters/*/tests`` use the same ones when the whole
suite runs from the root (the README's test command).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from tests import pg_server

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


def running_postgres() -> Iterator[pg_server.PostgresServer]:
    """A throwaway PostgreSQL server until the generator closes.

    Where it cannot be started, the test is skipped with the reason, except
    in CI (CI=true), where that is a failure: CI must test all stores.
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


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_server.PostgresServer]:
    """One throwaway PostgreSQL server for the whole run."""
    yield from running_postgres()
