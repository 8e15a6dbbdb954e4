"""WebhookSink passes approvalflow's EventSink contract.

The receiver is real, on loopback, and checks every signature.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from approvalflow_webhooks import WebhookSink, generate_secret, verify
from webhooks_support import Receiver, closed_port_url

from approvalflow import EventSink
from approvalflow.testing.contracts import EventSinkContract


class TestWebhookSinkContract(EventSinkContract):
    @pytest.fixture(autouse=True)
    def _receiver(self) -> Iterator[None]:
        self.secret = generate_secret()
        self.receiver = Receiver(self.secret)
        self.sinks: list[WebhookSink] = []
        yield
        for sink in self.sinks:
            sink.close()
        self.receiver.stop()

    def _sink(self, url: str) -> WebhookSink:
        sink = WebhookSink(url, self.secret, timeout=2, allow_private=True)
        self.sinks.append(sink)
        return sink

    def make_sink(self) -> EventSink:
        return self._sink(self.receiver.url)

    def received(self) -> list[tuple[str, str]]:
        # Only what the receiver accepted, i.e. whose signature checked out.
        return [
            (r.headers["webhook-id"], verify(r.body, r.headers, self.secret)["type"])
            for r in self.receiver.accepted
        ]

    def make_unreachable_sink(self) -> EventSink:
        return self._sink(closed_port_url())

    def make_refusing_sink(self) -> EventSink:
        # Signed with another secret: the receiver answers 401 to each event.
        sink = WebhookSink(
            self.receiver.url, generate_secret(), timeout=2, allow_private=True
        )
        self.sinks.append(sink)
        return sink
