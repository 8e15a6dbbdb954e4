"""The webhook sink: one signed HTTP POST per recorded event.

approvalflow's delivery follower calls :meth:`WebhookSink.publish` once per
event, in log order, and retries a :class:`TemporaryDeliveryError` later with
the same event (so the same ``webhook-id``); a
:class:`PermanentDeliveryError` is recorded and skipped.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import socket
from collections.abc import Iterable
from datetime import UTC
from gettext import NullTranslations
from types import TracebackType
from typing import Self

import httpx

from approvalflow import (
    EVENT_TYPES,
    Clock,
    ConfigurationError,
    PermanentDeliveryError,
    PublishedEvent,
    SystemClock,
    TemporaryDeliveryError,
)
from approvalflow_webhooks.signing import secret_key, sign

# Errors are English: gettext's English plural rule, bound to a name babel
# does not extract (these are not catalog messages).
_plural = NullTranslations().ngettext

__all__ = ["WebhookSink"]

# Statuses worth trying again: the receiver timed out, asked us to slow
# down, or failed on its side. Every other 4xx will not change on retry.
_RETRYABLE_4XX = frozenset({408, 429})
# How much of a refusal's body goes into the error (and the audit trail).
_SNIPPET_BYTES = 200
_USER_AGENT = "approvalflow-webhooks"


class WebhookSink:
    """Publishes approvalflow's events as signed webhooks (an ``EventSink``).

    Each event is POSTed to ``url`` as JSON, ``{"type": ..., "timestamp":
    ..., "data": {"document_id": ..., ...}}``, signed per Standard Webhooks
    with ``secret`` (``whsec_...``, see :func:`generate_secret`).
    ``events`` limits publishing to the listed types (by default all the
    types in :data:`approvalflow.EVENT_TYPES`). Each network step
    (connecting, sending, waiting for the answer) times out after
    ``timeout`` seconds.

    A 2xx answer is success. 408, 429, 5xx, an unreachable receiver or a
    timeout raise :class:`TemporaryDeliveryError` (the follower retries);
    any other answer, redirects included, raises
    :class:`PermanentDeliveryError`. ``client`` lets a host pass its own
    :class:`httpx.Client` (proxies, TLS settings); the sink then never
    closes it. ``clock`` stamps ``webhook-timestamp`` and must be real time,
    since receivers compare it with their own clocks.

    Targets inside the host's own network are refused unless
    ``allow_private=True``: a URL whose host is, or resolves to, a loopback,
    private, link-local (cloud metadata such as 169.254.169.254), shared,
    reserved, multicast or unspecified address. An address given in the URL
    is refused at construction (:class:`~approvalflow.ConfigurationError`);
    a name is resolved before each request, and a private answer is a
    :class:`PermanentDeliveryError` with nothing sent.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        events: Iterable[str] | None = None,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        clock: Clock | None = None,
        allow_private: bool = False,
    ) -> None:
        self.url = _check_url(url)
        if not isinstance(allow_private, bool):
            msg = f"allow_private must be True or False, got {allow_private!r}"
            raise ConfigurationError(msg)
        self.allow_private = allow_private
        host = httpx.URL(self.url).host
        literal = _address(host)
        refused = _private_kind(literal) if literal is not None else None
        if host.lower() == "localhost" or host.lower().endswith(".localhost"):
            refused = "loopback"
        if refused is not None and not allow_private:
            msg = (
                f"webhook url {_shown(self.url)!r} is a {refused} address inside "
                "your own network; such targets are refused unless "
                "allow_private=True"
            )
            raise ConfigurationError(msg)
        self._key = secret_key(secret)
        self.events = _check_events(events)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            msg = (
                f"webhook timeout must be a positive number of seconds, got {timeout!r}"
            )
            raise ConfigurationError(msg)
        self.timeout = float(timeout)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client()
        self.clock: Clock = clock if clock is not None else SystemClock()

    def __repr__(self) -> str:
        return f"WebhookSink({_shown(self.url)!r}, events={sorted(self.events)!r})"

    # -- the EventSink port --------------------------------------------------

    def accepts(self, event_type: str) -> bool:
        """Whether events of this type are published."""
        return event_type in self.events

    def publish(self, event: PublishedEvent) -> None:
        """POST one event; return once the receiver answered 2xx.

        Raises :class:`TemporaryDeliveryError` when a later try may work and
        :class:`PermanentDeliveryError` when it will not; both say what
        happened and where (the URL without credentials or query).
        """
        body = self.body(event)
        timestamp = math.floor(self.clock.now().timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": _USER_AGENT,
            "webhook-id": event.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self._key, event.id, timestamp, body),
        }
        where = _shown(self.url)
        if not self.allow_private:
            self._refuse_private_answer(event, where)
        try:
            # Redirects are not followed: a receiver that moved should be
            # reconfigured, and a redirect must not carry signed events to
            # another host.
            with self._client.stream(
                "POST",
                self.url,
                content=body,
                headers=headers,
                timeout=self.timeout,
                follow_redirects=False,
            ) as response:
                _judge(response, event, where)
        except httpx.TimeoutException as exc:
            msg = (
                f"{event.type} {event.id}: {where} did not answer within "
                f"{self.timeout:g} s ({type(exc).__name__})"
            )
            raise TemporaryDeliveryError(msg) from exc
        except httpx.ConnectError as exc:
            # Refused connections, unknown hosts, failed TLS handshakes.
            msg = (
                f"{event.type} {event.id}: could not reach {where}: "
                f"{type(exc).__name__}: {exc}"
            )
            raise TemporaryDeliveryError(msg) from exc
        except httpx.HTTPError as exc:
            # Resets and broken answers: the receiver may or may not have the
            # event, so it is sent again (receivers deduplicate on the id).
            msg = (
                f"{event.type} {event.id}: the exchange with {where} failed: "
                f"{type(exc).__name__}: {exc}"
            )
            raise TemporaryDeliveryError(msg) from exc

    def _refuse_private_answer(self, event: PublishedEvent, where: str) -> None:
        """Resolve the host; refuse, before sending, a name that points inside."""
        parsed = httpx.URL(self.url)
        if _address(parsed.host) is not None:
            return  # an address literal, checked when the sink was made
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            answers = socket.getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            msg = f"{event.type} {event.id}: could not resolve {where}: {exc}"
            raise TemporaryDeliveryError(msg) from exc
        for *_, sockaddr in answers:
            found = _address(str(sockaddr[0]))
            kind = _private_kind(found) if found is not None else None
            if kind is not None:
                msg = (
                    f"{event.type} {event.id}: {where} resolves to {found}, a "
                    f"{kind} address inside your own network; nothing was sent "
                    "(allow_private=True allows it)"
                )
                raise PermanentDeliveryError(msg)

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def body(event: PublishedEvent) -> bytes:
        """The JSON body POSTed for ``event`` (what the signature covers)."""
        payload = {
            "type": event.type,
            "timestamp": event.occurred_at.astimezone(UTC)
            .isoformat()
            .replace("+00:00", "Z"),
            "data": {"document_id": event.document_id, **event.data},
        }
        try:
            text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            # The event itself is malformed: retrying would fail the same way.
            msg = f"{event.type} {event.id}: its data cannot be written as JSON: {exc}"
            raise PermanentDeliveryError(msg) from exc
        return text.encode("utf-8")

    def close(self) -> None:
        """Close the HTTP client if the sink made it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _judge(response: httpx.Response, event: PublishedEvent, where: str) -> None:
    """Return on 2xx; otherwise raise the error the status calls for."""
    status = response.status_code
    if 200 <= status < 300:
        return
    said = f"{event.type} {event.id}: {where} answered {status}"
    if response.reason_phrase:
        said += f" {response.reason_phrase}"
    if 300 <= status < 400:
        location = response.headers.get("location", "(no Location header)")
        msg = (
            f"{said}, a redirect to {_shown_text(location)}; redirects are not "
            "followed: configure the webhook with the final URL"
        )
        raise PermanentDeliveryError(msg)
    snippet = _snippet(response)
    detail = f": {snippet}" if snippet else ""
    if status in _RETRYABLE_4XX or status >= 500:
        retry_after = response.headers.get("retry-after")
        hint = f" (Retry-After: {_shown_text(retry_after)})" if retry_after else ""
        raise TemporaryDeliveryError(f"{said}{hint}{detail}; will retry")
    raise PermanentDeliveryError(f"{said}{detail}; not retried")


def _snippet(response: httpx.Response) -> str:
    """The start of the answer's body, on one printable line."""
    read = b""
    try:
        for chunk in response.iter_bytes():
            read += chunk
            if len(read) >= _SNIPPET_BYTES:
                break
    except httpx.HTTPError:
        # The status is what matters; a body cut short is no extra failure.
        pass
    return _shown_text(read[:_SNIPPET_BYTES].decode("utf-8", "replace"))


class _RedactedURLs(logging.Filter):
    """Takes credentials and query strings out of httpx's own request log.

    httpx logs every request at INFO with its full URL, where a receiver's
    user, password or ``?token=`` would reach the host's logs. The filter
    only rewrites the URL arguments of httpx's records; it never drops one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _shown(str(arg)) if isinstance(arg, httpx.URL) else arg
                for arg in record.args
            )
        return True


# On httpx's logger itself, so the host's own handlers and levels stay theirs.
logging.getLogger("httpx").addFilter(_RedactedURLs())


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The host as an IP address, or ``None`` for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _private_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of non-public address this is, or ``None`` for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    kinds = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    )
    return next((kind for kind, hit in kinds if hit), None)


def _shown_text(text: str) -> str:
    """``text`` with control characters and line breaks made spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _shown(url: str) -> str:
    """The URL for messages: no user name, password or query (may hold keys)."""
    parsed = httpx.URL(url)
    shown = parsed.copy_with(username=None, password=None, query=None, fragment=None)
    return str(shown) + ("?..." if parsed.query else "")


def _check_url(url: str) -> str:
    if not isinstance(url, str):
        msg = f"webhook url must be a string like 'https://host/path', got {url!r}"
        raise ConfigurationError(msg)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        msg = f"webhook url is not a valid URL ({exc}); expected 'https://host/path'"
        raise ConfigurationError(msg) from exc
    if parsed.scheme not in ("http", "https"):
        msg = (
            f"webhook url scheme must be 'https' or 'http', got {parsed.scheme!r} "
            "(expected 'https://host/path')"
        )
        raise ConfigurationError(msg)
    if not parsed.host:
        msg = "webhook url has no host; expected 'https://host/path'"
        raise ConfigurationError(msg)
    return url


def _check_events(events: Iterable[str] | None) -> frozenset[str]:
    # The core names the types it publishes; the sink keeps no copy of them.
    published = tuple(EVENT_TYPES.values())
    if events is None:
        return frozenset(published)
    if isinstance(events, str):
        # A lone string would be read as its letters.
        msg = f"webhook events must be a list of event types, got the string {events!r}"
        raise ConfigurationError(msg)
    chosen = list(events)
    unknown = [name for name in chosen if name not in published]
    if unknown:
        what = _plural(
            "unknown webhook event type", "unknown webhook event types", len(unknown)
        )
        msg = f"{what} {unknown!r}; allowed: {', '.join(published)}"
        raise ConfigurationError(msg)
    if not chosen:
        msg = (
            "webhook events is empty, so nothing would be published; leave it "
            "out (None) for every type or list some of: " + ", ".join(published)
        )
        raise ConfigurationError(msg)
    return frozenset(chosen)
