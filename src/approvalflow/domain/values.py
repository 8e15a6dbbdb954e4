"""Immutable value types of the approval domain.

They are frozen attrs classes: events carry them, and one cattrs converter
(:mod:`approvalflow.persistence`) stores them and reads them back. Their
field names are part of the stored format: change them only with an upcaster.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import holidays

from approvalflow.domain.errors import InvalidInputError
from approvalflow.domain.validation import (
    MAX_COMMENT,
    MAX_NAME,
    check_identifier,
    check_int,
    check_optional_text,
    check_reasons,
    check_text,
)

__all__ = [
    "ActivityKind",
    "Actor",
    "ActorRole",
    "ApprovalState",
    "CycleOutcome",
    "DeliveryRecord",
    "DocumentFacts",
    "EntryPoint",
    "InvoiceLock",
    "NotificationReport",
    "Rejection",
    "ReminderPolicy",
    "ReminderSchedule",
]


class EntryPoint(enum.StrEnum):
    """Where in the host's UI the request was made; recorded for audit."""

    VIEWER = "viewer"
    UPLOAD = "upload"
    LIST = "list"


class ActivityKind(enum.StrEnum):
    """Activity on a document that the host reports (the recent list)."""

    UPLOADED = "uploaded"
    MODIFIED = "modified"
    SENT = "sent"
    DOWNLOADED = "downloaded"


class ApprovalState(enum.StrEnum):
    """A document's approval status. Cancelled requests read as NONE."""

    NONE = "none"
    PENDING = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"


class CycleOutcome(enum.StrEnum):
    """How one request cycle stands or ended."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class ActorRole(enum.StrEnum):
    """Who acted: a firm member, a client user, or the library's scheduler."""

    FIRM_MEMBER = "firm_member"
    CLIENT_USER = "client_user"
    SYSTEM = "system"


_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _identifier(field: str) -> _Validator:
    def validate(_instance: object, _attribute: object, value: object) -> None:
        check_identifier(field, value)

    return validate


def _name(field: str) -> _Validator:
    def validate(_instance: object, _attribute: object, value: object) -> None:
        check_text(field, value, max_length=MAX_NAME)

    return validate


@attrs.frozen
class Actor:
    """The user who performed a command, as the directory knew them then.

    The name is captured so the audit trail reads without the host.
    """

    user_id: str = attrs.field(validator=_identifier("user_id"))
    name: str = attrs.field(validator=_name("name"))
    role: ActorRole = attrs.field(converter=ActorRole)

    @classmethod
    def system(cls, name: str = "reminder scheduler") -> Actor:
        """The library itself, acting on a schedule (automatic reminders)."""
        return cls(user_id="system", name=name, role=ActorRole.SYSTEM)


def _optional_description(_instance: Any, _attribute: Any, value: str | None) -> None:
    check_optional_text("description", value, max_length=MAX_COMMENT)


@attrs.frozen
class DocumentFacts:
    """What the document was when approval was requested (name, type, ...)."""

    document_id: str = attrs.field(validator=_identifier("document_id"))
    account_id: str = attrs.field(validator=_identifier("account_id"))
    name: str = attrs.field(validator=_name("name"))
    file_type: str = attrs.field(validator=_identifier("file_type"))
    uploaded_by: str = attrs.field(validator=_name("uploaded_by"))
    description: str | None = attrs.field(default=None, validator=_optional_description)


MIN_REMINDER_DAYS = 1
MAX_REMINDER_DAYS = 365
MIN_REMINDER_COUNT = 1
MAX_REMINDER_COUNT = 30


def _days(_instance: object, _attribute: object, value: object) -> None:
    check_int("days_before_next", value, low=MIN_REMINDER_DAYS, high=MAX_REMINDER_DAYS)


def _count(_instance: object, _attribute: object, value: object) -> None:
    check_int("count", value, low=MIN_REMINDER_COUNT, high=MAX_REMINDER_COUNT)


def _zone(_instance: object, _attribute: object, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(
            "time_zone", f"got {value!r}", "an IANA time zone such as 'Europe/Paris'"
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(
            "time_zone",
            f"{value!r} is not a known time zone",
            "an IANA time zone such as 'Europe/Paris', 'Europe/London' or 'UTC'",
        ) from exc


def _window_time(_instance: object, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, time) or value.tzinfo is not None):
        raise InvalidInputError(
            attribute.name,
            f"got {value!r}",
            "None or a local wall-clock datetime.time without a zone, e.g. time(9)",
        )


def _holiday_country(_instance: object, _attribute: object, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or value not in holidays.list_supported_countries():
        raise InvalidInputError(
            "holidays",
            f"got {value!r}",
            "None or an ISO 3166 country code the python holidays package "
            "supports, e.g. 'FR' or 'GB'",
        )


@cache
def holiday_calendar(country: str, region: str | None) -> holidays.HolidayBase:
    """The public holidays of ``country`` (and ``region``), all years, cached."""
    return holidays.country_holidays(country, subdiv=region)


@attrs.frozen
class ReminderSchedule:
    """When automatic reminders may go out: in whose hours, on which days.

    The client's reminders fall due in ``time_zone`` (an IANA zone), inside
    the sending window ``window_start``-``window_end`` (local wall-clock
    times; ``None`` for any time), and with ``business_days`` only on Monday
    to Friday outside ``holidays`` (a country code for the python holidays
    package, with an optional ``holiday_region``), "days before next
    reminder" then counting business days. :meth:`elapsed` is the plain
    rule: exactly N x 24 hours after the latest contact, any day, any hour.

    The schedule in force is recorded with each request, so replaying the
    history gives the same due times whatever the firm's settings become.
    """

    time_zone: str = attrs.field(default="UTC", validator=_zone)
    window_start: time | None = attrs.field(default=time(9), validator=_window_time)
    window_end: time | None = attrs.field(default=time(18), validator=_window_time)
    business_days: bool = attrs.field(
        default=True, validator=attrs.validators.instance_of(bool)
    )
    holidays: str | None = attrs.field(default=None, validator=_holiday_country)
    holiday_region: str | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if (self.window_start is None) != (self.window_end is None):
            raise InvalidInputError(
                "window_end",
                "a window needs both ends",
                "window_start and window_end both set, or both None",
            )
        if (
            self.window_start is not None
            and self.window_end is not None
            and not self.window_start < self.window_end
        ):
            raise InvalidInputError(
                "window_end",
                f"{self.window_end} is not after {self.window_start}",
                "a window end later the same day than its start",
            )
        if self.holiday_region is not None:
            if self.holidays is None:
                raise InvalidInputError(
                    "holiday_region", "given without holidays", "holidays set too"
                )
            supported = holidays.list_supported_countries()[self.holidays]
            if self.holiday_region not in supported:
                raise InvalidInputError(
                    "holiday_region",
                    f"{self.holiday_region!r} is not a region of {self.holidays}",
                    f"one of {sorted(supported)}",
                )

    @classmethod
    def elapsed(cls) -> ReminderSchedule:
        """The plain rule: N x 24 hours after the latest contact, any day and hour.

        Today's behaviour before schedules, kept for hosts that want it:
        ``connect(reminder_schedule=ReminderSchedule.elapsed())``.
        """
        return ELAPSED

    @property
    def zone(self) -> ZoneInfo:
        """The time zone."""
        return ZoneInfo(self.time_zone)

    def is_business_day(self, day: Any) -> bool:
        """Whether reminders may go out on the local date ``day``."""
        if not self.business_days:
            return True
        if day.weekday() >= 5:  # Saturday, Sunday
            return False
        if self.holidays is None:
            return True
        return day not in holiday_calendar(self.holidays, self.holiday_region)


#: Exactly N x 24 hours after the latest contact, any day and hour (the rule
#: of requests recorded before schedules existed).
ELAPSED = ReminderSchedule(
    time_zone="UTC", window_start=None, window_end=None, business_days=False
)


def _schedule(_instance: object, _attribute: object, value: Any) -> None:
    if value is not None and not isinstance(value, ReminderSchedule):
        raise InvalidInputError(
            "schedule",
            f"got {type(value).__name__}",
            "None (the firm's schedule) or a ReminderSchedule",
        )


@attrs.frozen
class ReminderPolicy:
    """Automatic reminders for one request.

    After ``days_before_next`` days without activity on the request, a
    reminder goes out; at most ``count`` reminders per schedule. A request or
    a resend starts a new schedule. "Reminders off" is no policy at all
    (``None``).
    """

    days_before_next: int = attrs.field(default=3, validator=_days)
    count: int = attrs.field(default=1, validator=_count)
    #: When reminders may go out. ``None`` given to a command means the
    #: firm's schedule (``connect(reminder_schedule=...)``), which is then
    #: recorded; ``None`` in a stored request means :meth:`ReminderSchedule.elapsed`.
    schedule: ReminderSchedule | None = attrs.field(default=None, validator=_schedule)

    @property
    def interval(self) -> timedelta:
        """The quiet time after which the next reminder is due."""
        return timedelta(days=self.days_before_next)


def _reasons_tuple(value: Any) -> Any:
    # Lists become tuples (immutable); anything else is left for the validator
    # to refuse with a clear message (a bare string is not a list of reasons).
    return tuple(value) if isinstance(value, list | tuple) else value


@attrs.frozen
class Rejection:
    """Why a client rejected a document: reasons and an optional comment."""

    reasons: tuple[str, ...] = attrs.field(converter=_reasons_tuple)
    comment: str | None = attrs.field(default=None)

    @reasons.validator
    def _check_reasons(self, _attribute: object, value: object) -> None:
        check_reasons("reasons", value)

    @comment.validator
    def _check_comment(self, _attribute: object, value: object) -> None:
        check_optional_text("comment", value, max_length=MAX_COMMENT)


@attrs.frozen
class InvoiceLock:
    """The document is locked to an invoice; unpaid means pending payment."""

    invoice_id: str = attrs.field(validator=_identifier("invoice_id"))
    locked_at: datetime
    paid_at: datetime | None = None
    #: The account the document was in when locked: its clients pay the
    #: invoice (``None`` on locks recorded before this was kept).
    account_id: str | None = None

    @property
    def is_paid(self) -> bool:
        """Whether the host reported the invoice paid."""
        return self.paid_at is not None


@attrs.frozen
class DeliveryRecord:
    """One message approvalflow delivered (or was refused) about an event."""

    #: ``email``, ``portal`` (client task list) or ``inbox`` (firm Inbox+).
    channel: str
    #: ``request``, ``resend``, ``reminder``, ``decision``, ``put_task``, ...
    kind: str
    recipient_id: str
    recipient_name: str
    #: The email address, account id (portal) or user id (inbox) used.
    address: str
    #: ``sent`` or ``refused`` (refused for good by the server).
    outcome: str
    detail: str | None = None


def _records_tuple(value: Iterable[DeliveryRecord]) -> tuple[DeliveryRecord, ...]:
    return tuple(value)


@attrs.frozen
class NotificationReport:
    """Who was told about one event, and how (the audit trail's recipients)."""

    about_version: int
    about_event: str
    deliveries: tuple[DeliveryRecord, ...] = attrs.field(converter=_records_tuple)


def reminder_policy_from(value: object) -> ReminderPolicy | None:
    """Accept a :class:`ReminderPolicy`, ``None`` (off) or a plain mapping."""
    if value is None or isinstance(value, ReminderPolicy):
        return value
    if isinstance(value, dict):
        unknown = set(value) - {"days_before_next", "count", "schedule"}
        if unknown:
            raise InvalidInputError(
                "reminders",
                f"unknown settings {sorted(unknown)}",
                "days_before_next, count and schedule",
            )
        return ReminderPolicy(**value)
    raise InvalidInputError(
        "reminders",
        f"got {type(value).__name__}",
        "None (reminders off), a ReminderPolicy, or a dict with "
        "days_before_next and count",
    )
