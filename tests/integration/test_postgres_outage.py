"""A PostgreSQL outage: typed, retriable errors, nothing lost, back when it is.

The test runs its own throwaway server (the shared one must stay up), stops
it in the middle of work and starts it again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from approvalflow import ApprovalState, StoreUnavailableError, connect
from approvalflow.testing import ControllableClock
from conftest import running_postgres
from tests import pg_server
from tests.helpers import (
    START,
    eventually,
    make_directory,
    postgres_url,
    stored_records,
)


@pytest.fixture
def own_server() -> Iterator[pg_server.PostgresServer]:
    """A server of this test's own (the shared one must stay up)."""
    yield from running_postgres()


def test_an_outage_is_a_retriable_typed_error_and_loses_nothing(
    own_server: pg_server.PostgresServer,
) -> None:
    # A short connect timeout: the outage is noticed in seconds, not minutes.
    url = postgres_url(own_server) + "&connect_timeout=2"
    clock = ControllableClock(START)
    with connect(url, directory=make_directory(), clock=clock) as app:
        app.request_approval("d1", by="f1")
        before = stored_records(app)
        own_server.pause()
        try:
            with pytest.raises(StoreUnavailableError, match="try again") as caught:
                app.approve("d1", by="c1")
            assert caught.value.retriable
            with pytest.raises(StoreUnavailableError):
                app.recent()
        finally:
            own_server.resume()

        # Back: a query answers once the pool has reconnected, retried as a
        # host retries a retriable error (on a loaded machine reconnecting
        # may take longer than one connect timeout).
        refusals: list[StoreUnavailableError] = []

        def answers() -> bool:
            try:
                app.status("d1")
            except StoreUnavailableError as error:
                refusals.append(error)
                return False
            return True

        eventually(answers, "the store never came back", every=1)
        assert all(refusal.retriable for refusal in refusals)
        # Nothing was half-recorded, and the same command now works.
        assert stored_records(app) == before
        app.approve("d1", by="c1")
        assert app.status("d1").state is ApprovalState.APPROVED
        assert app.verify_audit().ok
