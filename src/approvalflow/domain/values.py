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
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import holidays
from holidays import HolidayBase

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

_T = TypeVar("_T")

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


def _weekend(value: Any) -> Any:
    # Any iterable of day numbers becomes a sorted tuple (stored as a list).
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(sorted(value))
    return value


def _check_weekend(_instance: object, _attribute: object, value: Any) -> None:
    if value is None:
        return
    if (
        not isinstance(value, tuple)
        or not all(isinstance(d, int) and not isinstance(d, bool) for d in value)
        or not set(value) <= set(range(7))
        or len(set(value)) != len(value)
        or len(value) == 7  # a week with no working day cannot open
    ):
        raise InvalidInputError(
            "weekend",
            f"got {value!r}",
            "None (the holidays country's weekend, else Saturday and Sunday) "
            "or distinct weekday numbers 0 (Monday) to 6 (Sunday), not all seven",
        )


@cache
def holiday_calendar(
    country: str | None, region: str | None, weekend: tuple[int, ...] | None
) -> HolidayBase:
    """The holidays and weekend of ``country`` (and ``region``), all years, cached.

    Without a country, no holidays and a Saturday-Sunday weekend. A given
    ``weekend`` replaces the country's, with no weekend day worked instead.
    """
    calendar = (
        HolidayBase()
        if country is None
        else holidays.country_holidays(country, subdiv=region)
    )
    if weekend is not None:
        calendar.weekend = set(weekend)
        calendar.weekend_workdays = set()
    return calendar


@attrs.frozen
class ReminderSchedule:
    """The firm's opening hours for reminders: zone, hours, working days.

    A reminder falls due ``days_before_next`` calendar days after the latest
    contact (wall-clock, in ``time_zone``, an IANA zone), or that many
    working days with ``count_working_days``. If that moment is outside the
    schedule, it moves to the next opening, never earlier: opening hours are
    ``window_start``-``window_end`` (local wall-clock times; ``None`` for
    the whole day); with ``business_days`` only working days open, that is
    days outside the ``weekend`` and the public ``holidays`` (a country code
    for the python holidays package, with an optional ``holiday_region``).
    The weekend is the country's as the holidays package knows it (Friday
    and Saturday in Israel, Saturday and Sunday in France), or Saturday and
    Sunday without a country, unless ``weekend`` lists weekday numbers
    (0 is Monday). The worker also sends a reminder that fell due while it
    was stopped only when the schedule is open.

    The schedule in force is recorded with each request, so replaying the
    history gives the same due times whatever the firm's settings become.

    .. versionchanged:: Unreleased
       ``count_working_days`` and ``weekend`` added: days are counted as
       calendar days unless ``count_working_days``; the weekend is the
       country's. Requests recorded before read back with working days
       counted when ``business_days`` and a Saturday-Sunday weekend, their
       rule then.
    """

    time_zone: str = attrs.field(default="UTC", validator=_zone)
    window_start: time | None = attrs.field(default=time(9), validator=_window_time)
    window_end: time | None = attrs.field(default=time(18), validator=_window_time)
    business_days: bool = attrs.field(
        default=True, validator=attrs.validators.instance_of(bool)
    )
    holidays: str | None = attrs.field(default=None, validator=_holiday_country)
    holiday_region: str | None = attrs.field(default=None)
    count_working_days: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )
    weekend: tuple[int, ...] | None = attrs.field(
        default=None, converter=_weekend, validator=_check_weekend
    )

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
        if self.count_working_days and not self.business_days:
            raise InvalidInputError(
                "count_working_days",
                "working days counted while every day is open (business_days=False)",
                "business_days=True to count working days",
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

        The default (no schedule) does the same; this names it explicitly:
        ``connect(reminder_schedule=ReminderSchedule.elapsed())``.
        """
        return ELAPSED

    @property
    def zone(self) -> ZoneInfo:
        """The time zone."""
        return ZoneInfo(self.time_zone)

    @property
    def calendar(self) -> HolidayBase:
        """The holidays package's calendar: public holidays and the weekend."""
        return holiday_calendar(self.holidays, self.holiday_region, self.weekend)

    def is_business_day(self, day: Any) -> bool:
        """Whether reminders may go out on the local date ``day``."""
        if not self.business_days:
            return True
        return bool(self.calendar.is_working_day(day))


#: Exactly N x 24 hours after the latest contact, any day and hour.
ELAPSED = ReminderSchedule(
    time_zone="UTC", window_start=None, window_end=None, business_days=False
)

#: The weekend every schedule had before weekends came from the country.
SATURDAY_SUNDAY = (5, 6)


def as_recorded_before_working_day_counting(
    policy: ReminderPolicy | None,
) -> ReminderPolicy | None:
    """A policy stored by an earlier version, with the rule it was recorded under.

    Then, business days were both counted and the only open days, and the
    weekend was Saturday and Sunday in every country. Stored values are read
    back without validation, so neither is this copy validated.
    """
    if policy is None or policy.schedule is None:
        return policy
    schedule = policy.schedule
    old = _unvalidated(
        schedule, count_working_days=schedule.business_days, weekend=SATURDAY_SUNDAY
    )
    return _unvalidated(policy, schedule=old)


def _unvalidated(value: _T, **changes: Any) -> _T:
    """``attrs.evolve`` without validators (for values read from the store)."""
    cls: Any = type(value)
    copy: _T = object.__new__(cls)
    for field in attrs.fields(cls):
        object.__setattr__(
            copy, field.name, changes.get(field.name, getattr(value, field.name))
        )
    return copy


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
    #: recorded; ``None`` in a stored request means no schedule: exactly
    #: ``days_before_next`` x 24 hours after the latest contact.
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
