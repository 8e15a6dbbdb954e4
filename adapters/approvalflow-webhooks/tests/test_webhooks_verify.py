"""verify(): what a receiver accepts and refuses, and the secrets it takes.

Requests are signed here by the reference ``standardwebhooks`` library, so
these tests check our verifier against another implementation of the spec.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import standardwebhooks
from approvalflow_webhooks import WebhookVerificationError, generate_secret, verify

from approvalflow import ConfigurationError

SENT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
BODY = json.dumps({"type": "approval.approved", "data": {"document_id": "d1"}}).encode()
ID = "evt_0123456789abcdef0123456789abcdef_3"


def signed(secret: str, body: bytes = BODY, at: datetime = SENT) -> dict[str, str]:
    """Headers the reference library would send for ``body`` at ``at``."""
    signature = standardwebhooks.Webhook(secret).sign(ID, at, body.decode())
    return {
        "webhook-id": ID,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def test_a_request_signed_by_the_reference_library_is_accepted(secret: str) -> None:
    payload = verify(BODY, signed(secret), secret, now=SENT)
    assert payload == {"type": "approval.approved", "data": {"document_id": "d1"}}


def test_header_names_match_in_any_letter_case(secret: str) -> None:
    headers = {name.title(): value for name, value in signed(secret).items()}
    assert verify(BODY, headers, secret, now=SENT)["type"] == "approval.approved"


@pytest.mark.parametrize(
    ("tolerance", "now_after_sending"),
    [
        (timedelta(minutes=5), timedelta(minutes=5)),
        (timedelta(minutes=5), -timedelta(minutes=5)),
        (timedelta(seconds=30), timedelta(seconds=30)),
        (timedelta(seconds=30), -timedelta(seconds=30)),
        (timedelta(0), timedelta(0)),
    ],
)
def test_timestamps_exactly_at_the_tolerance_are_accepted(
    secret: str, tolerance: timedelta, now_after_sending: timedelta
) -> None:
    now = SENT + now_after_sending
    assert verify(BODY, signed(secret), secret, tolerance=tolerance, now=now)


@pytest.mark.parametrize("tolerance", [timedelta(minutes=5), timedelta(seconds=30)])
def test_a_timestamp_one_second_too_old_is_refused(
    secret: str, tolerance: timedelta
) -> None:
    now = SENT + tolerance + timedelta(seconds=1)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(BODY, signed(secret), secret, tolerance=tolerance, now=now)


@pytest.mark.parametrize("tolerance", [timedelta(minutes=5), timedelta(seconds=30)])
def test_a_timestamp_one_second_too_far_ahead_is_refused(
    secret: str, tolerance: timedelta
) -> None:
    now = SENT - tolerance - timedelta(seconds=1)
    with pytest.raises(WebhookVerificationError, match="after now"):
        verify(BODY, signed(secret), secret, tolerance=tolerance, now=now)


def test_the_default_tolerance_is_five_minutes(secret: str) -> None:
    assert verify(BODY, signed(secret), secret, now=SENT + timedelta(minutes=5))
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(BODY, signed(secret), secret, now=SENT + timedelta(minutes=5, seconds=1))


def test_the_default_now_is_the_machines_clock(secret: str) -> None:
    now = datetime.now(UTC)
    assert verify(BODY, signed(secret, at=now), secret)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(BODY, signed(secret, at=now - timedelta(minutes=6)), secret)


def test_a_tampered_body_is_refused(secret: str) -> None:
    headers = signed(secret)
    tampered = BODY.replace(b"approved", b"rejected")
    with pytest.raises(WebhookVerificationError, match="no v1 signature matches"):
        verify(tampered, headers, secret, now=SENT)


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("webhook-id", "evt_0123456789abcdef0123456789abcdef_4"),
        ("webhook-timestamp", str(int(SENT.timestamp()) + 1)),
    ],
)
def test_a_tampered_id_or_timestamp_is_refused(
    secret: str, header: str, value: str
) -> None:
    headers = {**signed(secret), header: value}
    with pytest.raises(WebhookVerificationError, match="no v1 signature matches"):
        verify(BODY, headers, secret, now=SENT)


def test_a_request_signed_with_another_secret_is_refused(secret: str) -> None:
    with pytest.raises(WebhookVerificationError, match="wrong secret"):
        verify(BODY, signed(generate_secret()), secret, now=SENT)


@pytest.mark.parametrize(
    "missing", ["webhook-id", "webhook-timestamp", "webhook-signature"]
)
def test_a_missing_or_empty_header_is_named(secret: str, missing: str) -> None:
    without = {k: v for k, v in signed(secret).items() if k != missing}
    with pytest.raises(WebhookVerificationError, match=f"missing header.*{missing}"):
        verify(BODY, without, secret, now=SENT)
    empty = {**signed(secret), missing: ""}
    with pytest.raises(WebhookVerificationError, match=f"missing header: {missing}$"):
        verify(BODY, empty, secret, now=SENT)


def test_several_missing_headers_are_named_in_the_plural(secret: str) -> None:
    only_id = {"webhook-id": signed(secret)["webhook-id"]}
    with pytest.raises(
        WebhookVerificationError,
        match=r"missing headers: webhook-timestamp, webhook-signature$",
    ):
        verify(BODY, only_id, secret, now=SENT)


def test_with_several_signatures_one_match_is_enough(secret: str) -> None:
    right = signed(secret)["webhook-signature"]
    wrong = signed(generate_secret())["webhook-signature"]
    for header in (
        f"{wrong} {right}",
        f"{right} {wrong}",
        f"v1a,c29tZXRoaW5nIGVsc2U= {right}",  # another scheme, skipped
        f"v1,not*base64 {right}",  # malformed, skipped
    ):
        headers = {**signed(secret), "webhook-signature": header}
        assert verify(BODY, headers, secret, now=SENT)


def test_with_several_signatures_none_matching_is_refused(secret: str) -> None:
    right = signed(secret)["webhook-signature"]
    wrong = signed(generate_secret())["webhook-signature"]
    for header in (
        f"{wrong} {wrong}",
        right.replace("v1,", "v2,"),  # the right bytes under another version
        "v1,not*base64",
        "garbage",
    ):
        headers = {**signed(secret), "webhook-signature": header}
        with pytest.raises(WebhookVerificationError, match="no v1 signature"):
            verify(BODY, headers, secret, now=SENT)


@pytest.mark.parametrize(
    "stamp", ["1767605400.5", "-1767605400", "soon", "\uff11\uff12"]
)
def test_a_timestamp_that_is_not_whole_seconds_is_refused(
    secret: str, stamp: str
) -> None:
    headers = {**signed(secret), "webhook-timestamp": stamp}
    with pytest.raises(WebhookVerificationError, match="not whole seconds"):
        verify(BODY, headers, secret, now=SENT)


@pytest.mark.parametrize("stamp", ["9" * 13, "1" * 5_000, "0" + "9" * 13])
def test_a_timestamp_past_the_year_9999_is_refused_as_such(
    secret: str, stamp: str
) -> None:
    headers = {**signed(secret), "webhook-timestamp": stamp}
    with pytest.raises(WebhookVerificationError, match="past the year 9999"):
        verify(BODY, headers, secret, now=SENT)


def test_the_latest_timestamp_a_date_holds_is_checked_as_a_time(secret: str) -> None:
    # 12 digits: read as a time, then refused as too far ahead, not as junk.
    headers = {**signed(secret), "webhook-timestamp": "253402300799"}
    with pytest.raises(WebhookVerificationError) as refused:
        verify(BODY, headers, secret, now=SENT)
    assert "past the year 9999" not in str(refused.value)


def spec_signature(secret: str, body: bytes) -> str:
    """The spec's signature over raw bytes, written out with hmac by hand."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{ID}.{int(SENT.timestamp())}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@pytest.mark.parametrize(
    ("body", "problem"),
    [(b"[1, 2]", "not an object"), (b"{oops", "not JSON"), (b"\xff\xfe", "not JSON")],
)
def test_a_signed_body_that_is_not_a_json_object_is_refused(
    secret: str, body: bytes, problem: str
) -> None:
    headers = {**signed(secret), "webhook-signature": spec_signature(secret, body)}
    with pytest.raises(WebhookVerificationError, match=problem):
        verify(body, headers, secret, now=SENT)


def test_verify_refuses_a_negative_tolerance_or_a_naive_now(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="tolerance"):
        verify(BODY, signed(secret), secret, tolerance=timedelta(seconds=-1), now=SENT)
    with pytest.raises(ConfigurationError, match="aware datetime"):
        verify(BODY, signed(secret), secret, now=datetime(2026, 1, 5, 9, 30))


def test_an_aware_now_in_another_zone_is_the_same_moment(secret: str) -> None:
    paris = SENT.astimezone(timezone(timedelta(hours=1)))
    assert verify(BODY, signed(secret), secret, tolerance=timedelta(0), now=paris)


# -- secrets ------------------------------------------------------------------


def test_generated_secrets_are_fresh_32_byte_keys_the_reference_accepts() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    now = datetime.now(UTC)
    assert standardwebhooks.Webhook(first).verify(BODY, signed(first, at=now))


def key_secret(size: int, *, padded: bool = True) -> str:
    encoded = base64.b64encode(bytes(range(size))).decode()
    return "whsec_" + (encoded if padded else encoded.rstrip("="))


@pytest.mark.parametrize(
    "good", [key_secret(24), key_secret(64), key_secret(25, padded=False)]
)
def test_secrets_of_24_to_64_bytes_with_or_without_padding_are_taken(
    good: str,
) -> None:
    assert verify(BODY, signed(good), good, now=SENT)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "does not start with 'whsec_'"),
        ("whsec_not*base64!", "not valid base64"),
        ("whsec_", "holds 0 bytes"),
        (key_secret(23), "holds 23 bytes"),
        (key_secret(65), "holds 65 bytes"),
    ],
)
def test_a_malformed_secret_is_a_configuration_error_that_hides_it(
    bad: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem) as caught:
        verify(BODY, signed(generate_secret()), bad, now=SENT)
    assert "generate_secret()" in str(caught.value)
    if len(bad) > 10:
        assert bad not in str(caught.value)
