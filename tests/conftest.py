"""Shared fixtures: a small firm, a controllable clock, and stores to run on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from approvalflow import Approvals, connect
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests.helpers import START, make_directory

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


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store the library supports in this release."""
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path / 'approvals.sqlite3'}"


@pytest.fixture
def app(
    store_url: str, clock: ControllableClock, directory: InMemoryDirectory
) -> Iterator[Approvals]:
    with connect(store_url, directory=directory, clock=clock) as application:
        yield application
