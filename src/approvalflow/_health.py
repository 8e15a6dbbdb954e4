"""Health: what a host's monitoring checks (``approvalflow health``).

Three conditions make a store unhealthy, each needing someone to act:

- **deliveries stuck**: the oldest event not yet delivered was recorded more
  than ``max_delay`` ago: no worker runs, or the mail server has been down
  that long, or every pass fails (a broken directory, say);
- **refused deliveries**: messages refused for good (an address that is not
  one, a mailbox that does not exist) wait for an operator to fix the cause
  and run ``approvalflow deliveries retry``;
- **read models lagging**: a read model is more than ``max_lag`` events
  behind the log (with inline read models, the default, it never is; a
  follower process that stopped makes it so).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from approvalflow.i18n import words
from approvalflow.notifications.outbox import Backlog, PlannedDelivery

__all__ = ["HealthReport", "backlog_record", "delivery_problems", "view_problems"]


@attrs.frozen
class HealthReport:
    """The health of a store: what was checked and what needs someone.

    ``problems`` is empty when all is well; each says what is wrong and
    what to do.
    """

    checked_at: datetime
    #: The delivery bookkeeping (``None`` when deliveries were not checked).
    deliveries: Backlog | None
    #: When the oldest event not yet delivered was recorded (``None``: none).
    oldest_undelivered_at: datetime | None
    #: Each read model's position against the head of the log.
    views: tuple[Any, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when nothing needs anyone."""
        return not self.problems

    def as_record(self) -> dict[str, Any]:
        """A JSON-ready record (``approvalflow health --json``)."""
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat(),
            "problems": list(self.problems),
            "deliveries": None
            if self.deliveries is None
            else backlog_record(self.deliveries, self.oldest_undelivered_at),
            "views": [
                {
                    "view": v.view,
                    "position": v.position,
                    "head": v.head,
                    "behind": v.behind,
                }
                for v in self.views
            ],
        }


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _delivery_record(d: PlannedDelivery) -> dict[str, Any]:
    return {
        "event": d.notification_id,
        "seq": d.seq,
        "channel": d.channel,
        "kind": d.kind,
        "recipient_id": d.recipient_id,
        "address": d.address,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": _time(d.next_attempt_at),
        "last_error": d.last_error,
    }


def backlog_record(
    backlog: Backlog, oldest_undelivered_at: datetime | None = None
) -> dict[str, Any]:
    """The delivery backlog as a JSON-ready record."""
    return {
        "position": backlog.position,
        "head": backlog.head,
        "behind": max(backlog.head - backlog.position, 0),
        "oldest_undelivered_at": _time(oldest_undelivered_at),
        "lease_holder": backlog.lease_holder,
        "lease_until": _time(backlog.lease_until),
        "waiting": [_delivery_record(d) for d in backlog.waiting],
        "refused": [_delivery_record(d) for d in backlog.refused],
    }


def delivery_problems(
    backlog: Backlog,
    oldest_undelivered_at: datetime | None,
    now: datetime,
    max_delay: timedelta,
    *,
    language: str | None = None,
) -> list[str]:
    """What is wrong with deliveries, each with what to do."""
    w = words(language)
    problems = []
    if oldest_undelivered_at is not None and now - oldest_undelivered_at > max_delay:
        waited = int((now - oldest_undelivered_at).total_seconds())
        behind = max(backlog.head - backlog.position, 0)
        cause = next(
            (
                w.gettext(" (last error: %(error)s)", error=d.last_error)
                for d in backlog.waiting
                if d.last_error and d.notification_id == backlog.position + 1
            ),
            "",
        )
        problems.append(
            w.ngettext(
                "deliveries stuck: %(behind)s event waits, for %(waited)s s "
                "(more than %(limit)s s)%(cause)s; check that a worker runs "
                "and what it logs",
                "deliveries stuck: %(behind)s events wait, the oldest for "
                "%(waited)s s (more than %(limit)s s)%(cause)s; check that a "
                "worker runs and what it logs",
                behind,
                behind=w.number(behind),
                waited=w.number(waited),
                limit=w.number(int(max_delay.total_seconds())),
                cause=cause,
            )
        )
    if backlog.refused:
        problems.append(
            w.ngettext(
                "%(count)s delivery refused for good waits for an operator: "
                "fix the address or mailbox, then run "
                "'approvalflow deliveries retry'",
                "%(count)s deliveries refused for good wait for an operator: "
                "fix the address or mailbox, then run "
                "'approvalflow deliveries retry'",
                len(backlog.refused),
                count=w.number(len(backlog.refused)),
            )
        )
    return problems


def view_problems(
    views: tuple[Any, ...], max_lag: int, *, language: str | None = None
) -> list[str]:
    """Read models further behind the log than ``max_lag`` events."""
    w = words(language)
    return [
        w.ngettext(
            "read model %(view)s is %(behind)s event behind the log (more than "
            "%(limit)s); check that the process following it runs, or run "
            "'approvalflow projections rebuild'",
            "read model %(view)s is %(behind)s events behind the log (more than "
            "%(limit)s); check that the process following it runs, or run "
            "'approvalflow projections rebuild'",
            v.behind,
            view=repr(v.view),
            behind=w.number(v.behind),
            limit=w.number(max_lag),
        )
        for v in views
        if v.behind > max_lag
    ]
