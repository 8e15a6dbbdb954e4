"""Test support: a real webhook receiver on loopback, and events to send.

A :class:`ThreadingHTTPServer` on 127.0.0.1 (a free port) keeps every
request it gets and answers each with the next scripted :class:`Answer`, or
the default one. Given a secret, it verifies signatures with the reference
``standardwebhooks`` library first and answers 401 when they do not match,
as a careful receiver would.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import standardwebhooks

from approvalflow import PublishedEvent

#: The ``make_event`` fixture: ``make_event(type, version=, document_id=, data=)``.
MakeEvent = Callable[..., PublishedEvent]


def make_event(
    type: str = "approval.requested",
    *,
    version: int = 1,
    document_id: str = "doc-1",
    data: dict[str, Any] | None = None,
) -> PublishedEvent:
    """A published event as approvalflow would hand it to the sink."""
    return PublishedEvent(
        id=f"evt_{'ab' * 16}_{version}",
        type=type,
        occurred_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        document_id=document_id,
        data=data if data is not None else {"by": "staff-1", "message": "Merci"},
    )


@attrs.frozen
class Answer:
    """What the receiver answers to one request."""

    status: int = 204
    headers: dict[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    #: Seconds to wait before answering (a slow receiver).
    delay: float = 0.0
    #: Announce this many body bytes more than sent, then hold the line for
    #: ``delay`` seconds after the body (a receiver that never finishes).
    unsent: int = 0
    #: Close the connection without answering at all.
    hang_up: bool = False


@attrs.frozen
class Received:
    """One request as it arrived, headers' names in lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    #: The status the receiver answered with.
    status: int


class Receiver:
    """The server, its script and what it received (see the module doc)."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.default = Answer()
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        # A short poll interval so that stopping (every test's teardown) is quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The URL that reaches the receiver's ``/hooks`` path."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    @property
    def received(self) -> list[Received]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._received)

    @property
    def accepted(self) -> list[Received]:
        """The requests answered 2xx."""
        return [r for r in self.received if 200 <= r.status < 300]

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with these, then the default again."""
        with self._lock:
            self._script.extend(answers)

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        with self._lock:
            answer = self._script.popleft() if self._script else self.default
        if self.secret is not None and not _signed(self.secret, headers, body):
            answer = Answer(401, body=b"invalid signature")
        with self._lock:
            self._received.append(Received(method, path, headers, body, answer.status))
        return answer


def closed_port_url() -> str:
    """A loopback URL on a port that was free a moment ago: nobody answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def _signed(secret: str, headers: dict[str, str], body: bytes) -> bool:
    try:
        standardwebhooks.Webhook(secret).verify(body, headers)
    except standardwebhooks.WebhookVerificationError:
        return False
    return True


def _make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            answer = receiver._answer("POST", self.path, headers, body)
            if answer.hang_up:
                self.close_connection = True
                return
            if answer.delay and not answer.unsent:
                time.sleep(answer.delay)
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                length = len(answer.body) + answer.unsent
                self.send_header("content-length", str(length))
                self.end_headers()
                self.wfile.write(answer.body)
                if answer.unsent:
                    self.wfile.flush()
                    time.sleep(answer.delay)
                    self.close_connection = True
            except OSError:
                # The sender gave up waiting (the timeout tests): nothing to do.
                pass

        def log_message(self, format: str, *args: Any) -> None:
            # Keep test output quiet; the tests read ``received`` instead.
            pass

    return Handler
