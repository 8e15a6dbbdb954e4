"""A document's history in plain terms: when, who, what.

A :class:`HistoryEntry` is built from one stored event alone, so the history
replays from the event store without the host's directory. Its words come
from the catalogs (:mod:`approvalflow.i18n`): English unless a language is
asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from approvalflow.domain.values import Actor
from approvalflow.i18n import N_, Words, words
from approvalflow.persistence import converter

__all__ = ["EVENT_LABELS", "HistoryEntry", "history_entry"]

# Bookkeeping fields every event has; they are shown as version and time.
_ENVELOPE = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "by"}
)


@attrs.frozen
class HistoryEntry:
    """One recorded event of a document, ready to show or export."""

    #: Position in the document's history (1 is the record's creation).
    version: int
    #: When it was recorded (UTC, from the Clock port).
    at: datetime
    #: The event's name: ``Requested``, ``Resent``, ``Reminded``, ...
    event: str
    #: Who acted (``None`` for the record's creation).
    actor: Actor | None
    #: The event's own facts as JSON-ready data (message, reasons, ...).
    details: Mapping[str, Any]

    def summary(self, language: str | None = None, time_zone: str | None = None) -> str:
        """What happened, in words, without the event name or the actor.

        In English unless ``language`` names a catalog's language. Times are
        as recorded (ISO 8601, UTC) unless ``time_zone`` (IANA) is given:
        then as the language writes them, in that zone.
        """
        return _DESCRIBERS.get(self.event, _generic)(
            _Reader(words(language, time_zone), time_zone is not None), self.details
        )

    def describe(
        self, language: str | None = None, time_zone: str | None = None
    ) -> str:
        """One line in words, e.g. ``Rejected by Bob: reasons: Wrong year``."""
        w = words(language, time_zone)
        event = event_label(w, self.event)
        text = self.summary(language, time_zone)
        if self.actor and text:
            return w.gettext(
                "%(event)s by %(actor)s: %(summary)s",
                event=event,
                actor=self.actor.name,
                summary=text,
            )
        if self.actor:
            return w.gettext(
                "%(event)s by %(actor)s", event=event, actor=self.actor.name
            )
        if text:
            return w.gettext("%(event)s: %(summary)s", event=event, summary=text)
        return event


def history_entry(event: Any) -> HistoryEntry:
    """Turn one stored ``ApprovalRequest`` event into a :class:`HistoryEntry`."""
    fields = vars(event)
    actor = fields.get("by")
    details = {
        name: converter.unstructure(value)
        for name, value in fields.items()
        if name not in _ENVELOPE
    }
    return HistoryEntry(
        version=event.originator_version,
        at=event.timestamp,
        event=type(event).__name__,
        actor=actor if isinstance(actor, Actor) else None,
        details=details,
    )


#: The events' names as people read them (the msgids are the event names).
EVENT_LABELS = {
    "Created": N_("Created"),
    "Requested": N_("Requested"),
    "Resent": N_("Resent"),
    "Reminded": N_("Reminded"),
    "Approved": N_("Approved"),
    "Rejected": N_("Rejected"),
    "Cancelled": N_("Cancelled"),
    "LockedToInvoice": N_("LockedToInvoice"),
    "ActivityReported": N_("ActivityReported"),
    "Notified": N_("Notified"),
    "InvoicePaid": N_("InvoicePaid"),
}

_ACTIVITIES = {
    "uploaded": N_("uploaded"),
    "modified": N_("modified"),
    "sent": N_("sent"),
    "downloaded": N_("downloaded"),
}

_ENTRY_POINTS = {
    "viewer": N_("from the document viewer"),
    "upload": N_("at upload"),
    "list": N_("from the document list"),
}


def event_label(w: Words, event: str) -> str:
    """The name of ``event`` in ``w``'s language (an unknown one as it is)."""
    return w.gettext(EVENT_LABELS[event]) if event in EVENT_LABELS else event


@attrs.frozen
class _Reader:
    """Who the summary is for: their words, and whether times are localised."""

    words: Words
    local_times: bool

    def when(self, iso: str) -> str:
        """A recorded time: as recorded, or in the reader's zone and locale."""
        if not self.local_times:
            return iso
        try:
            moment = datetime.fromisoformat(iso)
        except (TypeError, ValueError):
            return str(iso)
        return self.words.time(moment)


def _policy(r: _Reader, policy: Mapping[str, Any] | None) -> str:
    w = r.words
    if policy is None:
        return w.gettext("reminders off")
    schedule = policy.get("schedule")
    # Counted in working days; in earlier versions, business_days meant that too.
    business = schedule is not None and schedule.get(
        "count_working_days", schedule.get("business_days")
    )
    every = (
        N_("reminders every %(days)s business day(s), at most %(count)s")
        if business
        else N_("reminders every %(days)s day(s), at most %(count)s")
    )
    text = w.gettext(
        every,
        days=w.number(policy["days_before_next"]),
        count=w.number(policy["count"]),
    )
    if schedule is None:
        return text
    if schedule.get("window_start") and schedule.get("window_end"):
        text += f", {schedule['window_start'][:5]}-{schedule['window_end'][:5]}"
    text += f" {schedule.get('time_zone', 'UTC')}"
    if schedule.get("holidays"):
        region = schedule.get("holiday_region")
        calendar = f"{schedule['holidays']}{'-' + region if region else ''}"
        text += ", " + w.gettext("%(calendar)s holidays off", calendar=calendar)
    return text


def _message(r: _Reader, details: Mapping[str, Any]) -> str:
    message = details.get("message")
    if message:
        return r.words.gettext("message %(message)s", message=repr(message))
    return r.words.gettext("no message")


def _generic(_r: _Reader, details: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in details.items() if k != "cycle")


def _requested(r: _Reader, d: Mapping[str, Any]) -> str:
    w = r.words
    doc = d["document"]
    parts = [
        w.gettext(
            "cycle %(cycle)s, %(document)s (%(file_type)s) to account %(account)s",
            cycle=w.number(d["cycle"]),
            document=doc["name"],
            file_type=doc["file_type"],
            account=doc["account_id"],
        ),
        _message(r, d),
        _policy(r, d["reminders"]),
    ]
    if d.get("entry_point"):
        point = d["entry_point"]
        parts.append(
            w.gettext(_ENTRY_POINTS[point]) if point in _ENTRY_POINTS else point
        )
    return ", ".join(parts)


def _rejected(r: _Reader, d: Mapping[str, Any]) -> str:
    w = r.words
    rejection = d["rejection"]
    text = w.gettext("reasons: %(reasons)s", reasons="; ".join(rejection["reasons"]))
    comment = rejection.get("comment")
    if comment:
        text += "; " + w.gettext("comment %(comment)s", comment=repr(comment))
    return text


def _notified(r: _Reader, report: Mapping[str, Any]) -> str:
    w = r.words
    parts = []
    for d in report["deliveries"]:
        if d["channel"] == "email":
            what = w.gettext(
                "emailed %(name)s <%(address)s>",
                name=d["recipient_name"],
                address=d["address"],
            )
        elif d["channel"] == "inbox":
            what = w.gettext("Inbox+ note to %(name)s", name=d["recipient_name"])
        elif d["kind"] == "remove_task":
            what = w.gettext(
                "portal task removed for account %(account)s", account=d["address"]
            )
        else:
            what = w.gettext(
                "portal task put on top for account %(account)s", account=d["address"]
            )
        if d["outcome"] != "sent":
            what = w.gettext(
                "%(delivery)s (refused: %(detail)s)",
                delivery=what,
                detail=d.get("detail") or w.gettext("no reason given"),
            )
        parts.append(what)
    told = "; ".join(parts) or w.gettext("nobody to tell")
    return w.gettext(
        "about #%(version)s (%(event)s): %(told)s",
        version=report["about_version"],
        event=event_label(w, report["about_event"]),
        told=told,
    )


def _reminded(r: _Reader, d: Mapping[str, Any]) -> str:
    return r.words.gettext(
        "automatic reminder %(number)s, due %(due)s",
        number=r.words.number(d["number"]),
        due=r.when(d["due_at"]),
    )


def _resent(r: _Reader, d: Mapping[str, Any]) -> str:
    return f"{_message(r, d)}, {_policy(r, d['reminders'])}"


def _approved(r: _Reader, d: Mapping[str, Any]) -> str:
    if not d.get("comment"):
        return ""
    return r.words.gettext("comment %(comment)s", comment=repr(d["comment"]))


def _cancelled(r: _Reader, d: Mapping[str, Any]) -> str:
    if not d.get("note"):
        return ""
    return r.words.gettext("note %(note)s", note=repr(d["note"]))


def _invoice(r: _Reader, d: Mapping[str, Any]) -> str:
    return r.words.gettext("invoice %(invoice)s", invoice=d["invoice_id"])


def _activity(r: _Reader, d: Mapping[str, Any]) -> str:
    kind = d["kind"]
    label = r.words.gettext(_ACTIVITIES[kind]) if kind in _ACTIVITIES else kind
    return f"{label} {d['document']['name']}"


_DESCRIBERS: dict[str, Callable[[_Reader, Mapping[str, Any]], str]] = {
    "Created": lambda r, d: r.words.gettext(
        "approval record of document %(document)s", document=d["document_id"]
    ),
    "Requested": _requested,
    "Resent": _resent,
    "Reminded": _reminded,
    "Approved": _approved,
    "Rejected": _rejected,
    "Cancelled": _cancelled,
    "LockedToInvoice": _invoice,
    "ActivityReported": _activity,
    "Notified": lambda r, d: _notified(r, d["report"]),
    "InvoicePaid": _invoice,
}
