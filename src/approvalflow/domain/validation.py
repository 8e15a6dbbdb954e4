"""Argument checks shared by the value types and the application's commands.

Each check raises :class:`~approvalflow.domain.errors.InvalidInputError`
naming the argument, the problem and what is allowed, so a host can show the
message as it is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from approvalflow.domain.errors import InvalidInputError

__all__ = [
    "MAX_COMMENT",
    "MAX_ID",
    "MAX_MESSAGE",
    "MAX_NAME",
    "MAX_REASON",
    "MAX_REASONS",
    "check_identifier",
    "check_int",
    "check_optional_text",
    "check_reasons",
    "check_text",
    "check_utc",
]

MAX_ID = 200
MAX_NAME = 500
MAX_MESSAGE = 10_000
MAX_REASON = 2_000
MAX_COMMENT = 2_000
MAX_REASONS = 20

# Line breaks and tabs belong in free text (messages, comments); every other
# control character (NUL, ESC, bidi overrides are not Cc but are Cf) is
# refused because it cannot be typed by a person and breaks emails and logs.
_MULTILINE_ALLOWED = frozenset("\n\t")
_SINGLE_LINE_ALLOWED: frozenset[str] = frozenset()


# Characters that change how surrounding text is shown without being seen
# (bidi embeddings, overrides and isolates; the byte-order mark): a name or a
# message with them can read differently from what it says ("Trojan Source").
# Marks a person does type (left-to-right/right-to-left marks, zero-width
# joiners in emoji and Persian) stay allowed in texts.
_SPOOFING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")


def _bad_control(value: str, allowed: frozenset[str]) -> str | None:
    for char in value:
        if char in allowed:
            continue
        if (
            unicodedata.category(char) in ("Cc", "Cs")
            or char in "\u2028\u2029"
            or char in _SPOOFING
        ):
            return char
    return None


def check_text(
    field: str, value: object, *, max_length: int, multiline: bool = False
) -> str:
    """Return ``value`` if it is a non-blank string within ``max_length``.

    ``multiline`` admits line breaks and tabs (Windows line ends become plain
    line feeds); otherwise no control character is accepted.
    """
    kind = "text with line breaks" if multiline else "a single line of text"
    allowed = f"{kind}, 1 to {max_length:,} characters, not only spaces"
    if not isinstance(value, str):
        raise InvalidInputError(field, f"got {type(value).__name__}", allowed)
    if multiline:
        value = value.replace("\r\n", "\n")
    if not value.strip():
        raise InvalidInputError(field, "is empty or only spaces", allowed)
    if len(value) > max_length:
        raise InvalidInputError(field, f"has {len(value):,} characters", allowed)
    bad = _bad_control(value, _MULTILINE_ALLOWED if multiline else _SINGLE_LINE_ALLOWED)
    if bad is not None:
        raise InvalidInputError(
            field, f"contains the control character U+{ord(bad):04X}", allowed
        )
    return value


def check_optional_text(
    field: str, value: object, *, max_length: int, multiline: bool = True
) -> str | None:
    """Like :func:`check_text`, but ``None`` means "not given"."""
    if value is None:
        return None
    return check_text(field, value, max_length=max_length, multiline=multiline)


def check_identifier(field: str, value: object) -> str:
    """Return ``value`` in NFC form if it is a usable identifier (host ids, user ids).

    One id typed two ways (a precomposed "é", or "e" and a combining accent)
    is one id: both become the NFC form. Invisible format characters
    (zero-width spaces and joiners, bidi controls, byte-order marks) are
    refused: two ids that look the same must be the same.
    """
    allowed = (
        f"an identifier of 1 to {MAX_ID} visible characters without surrounding spaces"
    )
    text = unicodedata.normalize("NFC", check_text(field, value, max_length=MAX_ID))
    if text != text.strip():
        raise InvalidInputError(field, "has leading or trailing spaces", allowed)
    for char in text:
        if unicodedata.category(char) == "Cf":
            raise InvalidInputError(
                field, f"contains the invisible character U+{ord(char):04X}", allowed
            )
    return text


def check_int(field: str, value: object, *, low: int, high: int) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) in ``[low, high]``."""
    allowed = f"a whole number from {low} to {high}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(field, f"got {type(value).__name__}", allowed)
    if not low <= value <= high:
        raise InvalidInputError(field, f"got {value}", allowed)
    return value


def check_reasons(field: str, value: object) -> tuple[str, ...]:
    """Return rejection reasons as a tuple: 1 to 20 distinct single-line texts."""
    allowed = (
        f"a list of 1 to {MAX_REASONS} distinct reasons, "
        f"each 1 to {MAX_REASON:,} characters"
    )
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidInputError(field, f"got {type(value).__name__}", allowed)
    items: Sequence[Any] = value
    if not items:
        raise InvalidInputError(field, "no reason given", allowed)
    if len(items) > MAX_REASONS:
        raise InvalidInputError(field, f"got {len(items)} reasons", allowed)
    reasons = tuple(
        check_text(f"{field}[{i}]", item, max_length=MAX_REASON)
        for i, item in enumerate(items)
    )
    if len(set(reasons)) != len(reasons):
        raise InvalidInputError(field, "a reason is repeated", allowed)
    return reasons


def check_utc(field: str, value: object) -> datetime:
    """Return ``value`` converted to UTC; it must be a timezone-aware datetime.

    A naive datetime is refused: guessing its zone would store a wrong time.
    """
    allowed = "a timezone-aware datetime (it is stored in UTC)"
    if not isinstance(value, datetime):
        raise InvalidInputError(field, f"got {type(value).__name__}", allowed)
    if value.utcoffset() is None:
        raise InvalidInputError(field, "is naive (no timezone)", allowed)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01 east of UTC, 9999-12-31 west
        raise InvalidInputError(
            field, f"got {value.isoformat()}, which has no UTC time", allowed
        ) from exc
