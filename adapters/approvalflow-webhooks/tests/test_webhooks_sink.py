"""WebhookSink against a real HTTP server on loopback.

What arrives, and how each answer the receiver gives is reported to
approvalflow's delivery.
"""

from __future__ import annotations

import json
import math
import socket
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from approvalflow_webhooks import WebhookSink, generate_secret, verify
from webhooks_support import Answer, MakeEvent, Receiver, closed_port_url

from approvalflow import (
    EVENT_TYPES,
    ConfigurationError,
    EventSink,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from approvalflow.testing import ControllableClock

# -- what arrives ---------------------------------------------------------------


def test_a_published_event_arrives_signed_with_the_three_headers(
    checking_receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    event = make_event("approval.approved", version=3, data={"by": "client-9"})
    before = math.floor(time.time())
    with WebhookSink(checking_receiver.url, secret, allow_private=True) as sink:
        sink.publish(event)

    [request] = checking_receiver.received
    # The receiver checked the signature with the reference library.
    assert request.status == 204
    assert (request.method, request.path) == ("POST", "/hooks")
    assert request.headers["webhook-id"] == event.id
    assert before <= int(request.headers["webhook-timestamp"]) <= time.time()
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {
        "type": "approval.approved",
        "timestamp": "2026-01-05T09:30:00Z",
        "data": {"document_id": "doc-1", "by": "client-9"},
    }
    # Our own verifier agrees with the reference.
    assert verify(request.body, request.headers, secret)["type"] == "approval.approved"


def test_text_beyond_ascii_arrives_intact(
    checking_receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    event = make_event(data={"message": "Merci, Martin & Associés — 2025 ✓"})
    with WebhookSink(checking_receiver.url, secret, allow_private=True) as sink:
        sink.publish(event)
    [request] = checking_receiver.accepted
    payload = verify(request.body, request.headers, secret)
    assert payload["data"]["message"] == "Merci, Martin & Associés — 2025 ✓"
    assert "Associés".encode() in request.body  # UTF-8, readable in logs


def test_the_timestamp_header_follows_the_clock_given(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    clock = ControllableClock(datetime(2026, 3, 1, 12, 0, 0, 750000, tzinfo=UTC))
    with WebhookSink(receiver.url, secret, clock=clock, allow_private=True) as sink:
        sink.publish(make_event())
    [request] = receiver.received
    assert request.headers["webhook-timestamp"] == str(
        int(datetime(2026, 3, 1, 12, tzinfo=UTC).timestamp())
    )
    assert verify(request.body, request.headers, secret, now=clock.now())
    with pytest.raises(Exception, match="too old"):
        verify(request.body, request.headers, secret)


def test_a_receiver_checking_signatures_refuses_another_secret_for_good(
    checking_receiver: Receiver, make_event: MakeEvent
) -> None:
    with (
        WebhookSink(
            checking_receiver.url, generate_secret(), allow_private=True
        ) as sink,
        pytest.raises(PermanentDeliveryError, match="answered 401") as caught,
    ):
        sink.publish(make_event())
    assert "invalid signature" in str(caught.value)  # the receiver's own words
    assert [r.status for r in checking_receiver.received] == [401]


def test_a_retried_event_carries_the_same_webhook_id(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    receiver.script(Answer(503))
    event = make_event()
    with WebhookSink(receiver.url, secret, allow_private=True) as sink:
        with pytest.raises(TemporaryDeliveryError):
            sink.publish(event)
        sink.publish(event)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert ids == [event.id, event.id]
    assert [r.status for r in receiver.received] == [503, 204]


def test_a_host_client_is_used_and_left_open(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    with httpx.Client(headers={"x-host-app": "billing"}) as client:
        sink = WebhookSink(receiver.url, secret, client=client, allow_private=True)
        sink.publish(make_event())
        sink.close()
        assert not client.is_closed
    assert receiver.received[0].headers["x-host-app"] == "billing"


def test_the_sink_is_an_event_sink(secret: str) -> None:
    assert isinstance(WebhookSink("https://hooks.example/x", secret), EventSink)


def test_data_that_cannot_be_json_is_refused_for_good_without_sending(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    with (
        WebhookSink(receiver.url, secret, allow_private=True) as sink,
        pytest.raises(PermanentDeliveryError, match="cannot be written as JSON"),
    ):
        sink.publish(make_event(data={"at": datetime(2026, 1, 1, tzinfo=UTC)}))
    assert receiver.received == []


# -- answers and failures ---------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_a_2xx_answer_is_success(
    receiver: Receiver, secret: str, make_event: MakeEvent, status: int
) -> None:
    receiver.script(Answer(status))
    with WebhookSink(receiver.url, secret, allow_private=True) as sink:
        sink.publish(make_event())
    assert [r.status for r in receiver.received] == [status]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_are_temporary(
    receiver: Receiver, secret: str, make_event: MakeEvent, status: int
) -> None:
    receiver.script(Answer(status))
    with (
        WebhookSink(receiver.url, secret, allow_private=True) as sink,
        pytest.raises(TemporaryDeliveryError) as caught,
    ):
        sink.publish(make_event())
    assert f"answered {status}" in str(caught.value)
    assert receiver.url in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_4xx_are_permanent(
    receiver: Receiver, secret: str, make_event: MakeEvent, status: int
) -> None:
    receiver.script(Answer(status))
    with (
        WebhookSink(receiver.url, secret, allow_private=True) as sink,
        pytest.raises(PermanentDeliveryError) as caught,
    ):
        sink.publish(make_event())
    assert f"answered {status}" in str(caught.value)
    assert receiver.url in str(caught.value)
    assert "not retried" in str(caught.value)


def test_a_refusal_quotes_the_start_of_the_answer_on_one_line(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    receiver.script(Answer(422, body=b"field\r\nmissing: document_id" + b"x" * 5000))
    with (
        WebhookSink(receiver.url, secret, allow_private=True) as sink,
        pytest.raises(PermanentDeliveryError) as caught,
    ):
        sink.publish(make_event())
    message = str(caught.value)
    assert "field missing: document_id" in message
    assert "\n" not in message
    assert len(message) < 500


def test_a_refusal_with_an_endless_body_is_reported_without_waiting_for_it(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    # The rest of the body never comes within the sink's timeout: a sink
    # that waited for it would time out and call the failure temporary.
    receiver.script(Answer(400, body=b"bad request " * 40, unsent=10_000, delay=30))
    with (
        WebhookSink(receiver.url, secret, timeout=5, allow_private=True) as sink,
        pytest.raises(
            PermanentDeliveryError, match="answered 400 Bad Request: bad request"
        ),
    ):
        sink.publish(make_event())


def test_retry_after_is_reported(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    receiver.script(Answer(429, headers={"Retry-After": "120"}))
    with (
        WebhookSink(receiver.url, secret, allow_private=True) as sink,
        pytest.raises(TemporaryDeliveryError, match=r"Retry-After: 120"),
    ):
        sink.publish(make_event())


def test_a_redirect_is_not_followed_and_is_permanent(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    elsewhere = Receiver()
    try:
        receiver.script(Answer(301, headers={"Location": elsewhere.url}))
        with (
            WebhookSink(receiver.url, secret, allow_private=True) as sink,
            pytest.raises(PermanentDeliveryError, match="answered 301") as caught,
        ):
            sink.publish(make_event())
        assert elsewhere.url in str(caught.value)
        assert len(receiver.received) == 1
        assert elsewhere.received == []
    finally:
        elsewhere.stop()


def test_a_receiver_that_is_down_is_temporary(
    secret: str, make_event: MakeEvent
) -> None:
    url = closed_port_url()
    with (
        WebhookSink(url, secret, timeout=2, allow_private=True) as sink,
        pytest.raises(TemporaryDeliveryError, match="could not reach") as caught,
    ):
        sink.publish(make_event())
    assert url in str(caught.value)


def test_a_receiver_hanging_up_without_an_answer_is_temporary(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    receiver.script(Answer(hang_up=True))
    with (
        WebhookSink(receiver.url, secret, allow_private=True) as sink,
        pytest.raises(TemporaryDeliveryError, match=r"exchange with .* failed"),
    ):
        sink.publish(make_event())
    assert len(receiver.received) == 1


def test_a_receiver_slower_than_the_timeout_is_temporary(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    receiver.script(Answer(204, delay=2.0))
    started = time.monotonic()
    with (
        WebhookSink(receiver.url, secret, timeout=0.3, allow_private=True) as sink,
        pytest.raises(TemporaryDeliveryError, match=r"did not answer within 0.3 s"),
    ):
        sink.publish(make_event())
    assert time.monotonic() - started < 1.5


def test_messages_leave_out_credentials_and_query(
    receiver: Receiver, secret: str, make_event: MakeEvent
) -> None:
    url = receiver.url.replace("http://", "http://hookuser:s3cr3tpw@") + "?token=t0k3n"
    receiver.script(Answer(500))
    with (
        WebhookSink(url, secret, allow_private=True) as sink,
        pytest.raises(TemporaryDeliveryError) as caught,
    ):
        sink.publish(make_event())
    message = str(caught.value)
    assert receiver.url + "?..." in message
    for hidden in ("hookuser", "s3cr3tpw", "t0k3n"):
        assert hidden not in message
        assert hidden not in repr(sink)
    # The credentials were still used: the receiver got them.
    assert receiver.received[0].headers["authorization"].startswith("Basic ")


# -- configuration ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://hooks.example/x", "scheme must be 'https' or 'http'"),
        ("hooks.example/x", "scheme must be"),
        ("https:///x", "no host"),
        ("http://[::1/x", "not a valid URL"),
        (42, "must be a string"),
    ],
)
def test_a_bad_url_is_a_configuration_error(
    secret: str, url: object, problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem) as caught:
        WebhookSink(url, secret)  # type: ignore[arg-type]
    assert "https://host/path" in str(caught.value)


@pytest.mark.parametrize("bad", ["", "secret", "whsec_!!!", "whsec_c2hvcnQ=", None])
def test_a_bad_secret_is_a_configuration_error(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="webhook secret") as caught:
        WebhookSink("https://hooks.example/x", bad)  # type: ignore[arg-type]
    assert "whsec_" in str(caught.value)


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, True, "10", None])
def test_a_bad_timeout_is_a_configuration_error(secret: str, timeout: object) -> None:
    with pytest.raises(ConfigurationError, match="positive number of seconds"):
        WebhookSink("https://hooks.example/x", secret, timeout=timeout)  # type: ignore[arg-type]


def test_an_unknown_event_type_is_a_configuration_error_naming_the_allowed(
    secret: str,
) -> None:
    with pytest.raises(ConfigurationError, match=r"approval\.aproved") as caught:
        WebhookSink(
            "https://hooks.example/x",
            secret,
            events=["approval.requested", "approval.aproved"],
        )
    for allowed in EVENT_TYPES.values():
        assert allowed in str(caught.value)
    # One unknown type, or several: the plural a person writes, never "(s)".
    assert str(caught.value).startswith("unknown webhook event type [")
    with pytest.raises(ConfigurationError) as two:
        WebhookSink("https://hooks.example/x", secret, events=["a.b", "c.d"])
    assert str(two.value).startswith("unknown webhook event types ['a.b', 'c.d']")


@pytest.mark.parametrize(
    ("events", "problem"),
    [("approval.requested", "the string"), ([], "is empty")],
)
def test_a_lone_string_or_no_events_is_a_configuration_error(
    secret: str, events: object, problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        WebhookSink("https://hooks.example/x", secret, events=events)  # type: ignore[arg-type]


def test_accepts_only_the_listed_event_types(secret: str) -> None:
    chosen = ["approval.approved", "approval.rejected"]
    sink = WebhookSink("https://hooks.example/x", secret, events=iter(chosen))
    assert [t for t in EVENT_TYPES.values() if sink.accepts(t)] == chosen
    assert not sink.accepts("approval.unknown")


def test_all_event_types_are_accepted_by_default(secret: str) -> None:
    sink = WebhookSink("https://hooks.example/x", secret)
    assert all(sink.accepts(t) for t in EVENT_TYPES.values())
    assert len(EVENT_TYPES) == 9
    assert not sink.accepts("approval.unknown")
    assert not sink.accepts("")


def test_the_timeout_default_is_ten_seconds(secret: str) -> None:
    assert WebhookSink("https://hooks.example/x", secret).timeout == 10.0
    assert WebhookSink("https://hooks.example/x", secret, timeout=2).timeout == 2.0


# -- what reaches the host's logs -----------------------------------------------


def test_httpx_request_logs_carry_no_credentials_or_query(
    receiver: Receiver,
    secret: str,
    make_event: MakeEvent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    host_and_path = receiver.url.removeprefix("http://")
    url = f"http://hook-user:hunter2-pass@{host_and_path}?token=s3cr3t-t0ken&x=1"
    with (
        caplog.at_level("INFO", logger="httpx"),
        WebhookSink(url, secret, allow_private=True) as sink,
    ):
        sink.publish(make_event())
    assert receiver.received  # the request went out, with its query
    logged = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert logged, "httpx logged the request"
    assert any(host_and_path.split("/")[0] in line for line in logged)
    for line in logged:
        assert "hunter2-pass" not in line
        assert "hook-user" not in line
        assert "s3cr3t-t0ken" not in line


# -- targets inside the host's own network ----------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8080/hooks", "loopback"),
        ("http://localhost/hooks", "loopback"),
        ("http://app.localhost/hooks", "loopback"),
        ("http://[::1]/hooks", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]/hooks", "link-local"),
        ("http://10.0.0.1/hooks", "private"),
        ("http://172.16.5.4/hooks", "private"),
        ("http://192.168.1.10/hooks", "private"),
        ("http://[::ffff:10.0.0.1]/hooks", "private"),
        ("http://100.64.0.1/hooks", "non-public"),
        ("http://0.0.0.0/hooks", "unspecified"),
        ("http://224.0.0.1/hooks", "multicast"),
    ],
)
def test_targets_inside_the_network_are_refused_unless_allowed(
    secret: str, url: str, kind: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"is a {kind} address") as refused:
        WebhookSink(url, secret)
    assert "allow_private=True" in str(refused.value)
    WebhookSink(url, secret, allow_private=True).close()


@pytest.mark.parametrize(
    "url", ["https://93.184.216.34/hooks", "https://[2606:4700::1111]/hooks"]
)
def test_public_addresses_are_accepted(secret: str, url: str) -> None:
    WebhookSink(url, secret).close()


def test_a_name_that_resolves_inside_is_refused_before_anything_is_sent(
    receiver: Receiver,
    secret: str,
    make_event: MakeEvent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A public-looking name whose DNS answer points at the loopback
    # receiver (as a rebinding attacker's would): the machine's resolver is
    # told so for this one name, and every other name resolves as usual.
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "hooks.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = receiver.url.split(":")[2].split("/")[0]
    url = f"http://hooks.example:{port}/hooks"
    with (
        WebhookSink(url, secret) as sink,
        pytest.raises(PermanentDeliveryError, match=r"to 127\.0\.0\.1, a loopback"),
    ):
        sink.publish(make_event())
    assert receiver.received == []
    with WebhookSink(url, secret, allow_private=True) as sink:
        sink.publish(make_event())
    assert len(receiver.received) == 1
