"""Fixtures for the webhook adapter's tests: a secret, receivers, events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import webhooks_support
from approvalflow_webhooks import generate_secret
from webhooks_support import MakeEvent, Receiver


@pytest.fixture
def secret() -> str:
    return generate_secret()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that answers 204 to anything, signed or not."""
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def checking_receiver(secret: str) -> Iterator[Receiver]:
    """A receiver that answers 401 unless the request is signed with ``secret``."""
    server = Receiver(secret)
    yield server
    server.stop()


@pytest.fixture
def make_event() -> MakeEvent:
    return webhooks_support.make_event
