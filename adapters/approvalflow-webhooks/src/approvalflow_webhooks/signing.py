"""Standard Webhooks signatures: secrets, signing, and verifying for receivers.

The scheme (https://www.standardwebhooks.com): the sender signs
``"{webhook-id}.{webhook-timestamp}.{body}"`` with HMAC-SHA256 under the
secret's key and sends ``webhook-signature: v1,<base64 signature>``. A
secret is written ``whsec_`` followed by the key in base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from gettext import NullTranslations
from typing import Any

from approvalflow import ApprovalFlowError, ConfigurationError

# Errors are English: gettext's English plural rule, bound to a name babel
# does not extract (these are not catalog messages).
_plural = NullTranslations().ngettext

__all__ = [
    "SECRET_PREFIX",
    "WebhookVerificationError",
    "generate_secret",
    "secret_key",
    "sign",
    "verify",
]

# The prefix of every secret, not a secret itself.
SECRET_PREFIX = "whsec_"  # noqa: S105
# The spec asks for keys of 24 to 64 bytes; shorter ones are guessable.
MIN_KEY_BYTES = 24
MAX_KEY_BYTES = 64
_SECRET_ALLOWED = (
    f"{SECRET_PREFIX!r} followed by the base64 of {MIN_KEY_BYTES} to "
    f"{MAX_KEY_BYTES} random bytes, as generate_secret() makes"
)


class WebhookVerificationError(ApprovalFlowError):
    """A webhook request is not what approvalflow sent: reject it.

    ``reason`` says which check failed (missing header, bad signature,
    timestamp out of tolerance, body not a JSON object).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"webhook not verified: {reason}")


def generate_secret() -> str:
    """A fresh random secret (``whsec_`` and 32 random bytes in base64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_...`` secret stands for.

    Raises :class:`approvalflow.ConfigurationError` saying what is wrong and
    what a secret looks like; the message never repeats the secret.
    """
    if not isinstance(secret, str):
        msg = f"webhook secret must be a string: {_SECRET_ALLOWED}"
        raise ConfigurationError(msg)
    if not secret.startswith(SECRET_PREFIX):
        msg = (
            f"webhook secret does not start with {SECRET_PREFIX!r}; "
            f"expected {_SECRET_ALLOWED}"
        )
        raise ConfigurationError(msg)
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Other senders' tools drop the padding; put it back before decoding.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        msg = (
            f"webhook secret is not valid base64 after {SECRET_PREFIX!r}; "
            f"expected {_SECRET_ALLOWED}"
        )
        raise ConfigurationError(msg) from exc
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        msg = f"webhook secret holds {len(key)} bytes; expected {_SECRET_ALLOWED}"
        raise ConfigurationError(msg)
    return key


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one request: ``v1,<base64>``."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


#: Digits of the latest timestamp a datetime holds (9999-12-31).
_MAX_TIMESTAMP_DIGITS = 12


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: timedelta = timedelta(minutes=5),
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check a webhook request approvalflow sent and return its JSON payload.

    ``body`` is the request body exactly as received (bytes, before any
    parsing); ``headers`` its headers in any letter case. The request passes
    when one of the space-separated ``v1,`` signatures matches (compared in
    constant time) and ``webhook-timestamp`` is within ``tolerance`` of
    ``now`` (the machine's clock by default) either way, the bound included.
    Deduplicate on the ``webhook-id`` header: a retried delivery carries the
    same one.

    Raises :class:`WebhookVerificationError` when the request fails a check,
    and :class:`approvalflow.ConfigurationError` for a malformed ``secret``,
    ``tolerance`` or ``now``.
    """
    key = secret_key(secret)
    if not isinstance(tolerance, timedelta) or tolerance < timedelta(0):
        msg = f"tolerance must be a zero or positive timedelta, got {tolerance!r}"
        raise ConfigurationError(msg)
    if now is None:
        now = datetime.now(UTC)
    elif not isinstance(now, datetime) or now.utcoffset() is None:
        msg = f"now must be an aware datetime (for example in UTC), got {now!r}"
        raise ConfigurationError(msg)

    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [
        name
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        if not lowered.get(name)
    ]
    if missing:
        what = _plural("missing header", "missing headers", len(missing))
        raise WebhookVerificationError(f"{what}: {', '.join(missing)}")
    webhook_id = lowered["webhook-id"]
    stamp_text = lowered["webhook-timestamp"].strip()
    # Whole seconds only, as the spec writes them; no sign, no fraction.
    if not stamp_text.isascii() or not stamp_text.isdigit():
        raise WebhookVerificationError(
            f"webhook-timestamp {stamp_text[:40]!r} is not whole seconds since 1970"
        )
    # The year 9999 is 12 digits of seconds: anything longer is no time at
    # all (and thousands of digits are more than int() converts).
    if len(stamp_text.lstrip("0")) > _MAX_TIMESTAMP_DIGITS:
        raise WebhookVerificationError(
            f"webhook-timestamp {stamp_text[:40]!r} is past the year 9999"
        )
    timestamp = int(stamp_text)

    expected = base64.b64decode(sign(key, webhook_id, timestamp, body)[3:])
    if not any(
        hmac.compare_digest(expected, candidate)
        for candidate in _v1_signatures(lowered["webhook-signature"])
    ):
        raise WebhookVerificationError(
            "no v1 signature matches (wrong secret, or the body, webhook-id "
            "or webhook-timestamp changed on the way)"
        )

    try:
        sent_at = datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise WebhookVerificationError(
            f"webhook-timestamp {timestamp} is out of range"
        ) from exc
    if sent_at < now - tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp {sent_at.isoformat()} is more than {tolerance} "
            f"before now ({now.isoformat()}): too old, possibly a replay"
        )
    if sent_at > now + tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp {sent_at.isoformat()} is more than {tolerance} "
            f"after now ({now.isoformat()}): check the clocks"
        )

    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookVerificationError(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise WebhookVerificationError(
            f"body is JSON but not an object (got {type(payload).__name__})"
        )
    return payload


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded ``v1`` signatures in a header; others are skipped.

    Other versions (``v1a`` is the asymmetric scheme) and malformed entries
    are skipped rather than refused, as the spec lets senders add schemes.
    """
    found = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found
