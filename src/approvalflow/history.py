"""A document's history in plain terms: when, who, what.

A :class:`HistoryEntry` is built from one stored event alone, so the history
replays from the event store without the host's directory. Its words come
from the catalogs (:mod:`approvalflow.i18n`): English unless a language is
asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs
from babel.lists import format_list

from approvalflow.domain.values import Actor
from approvalflow.i18n import N_, Words, words
from approvalflow.persistence import converter

__all__ = ["EVENT_LABELS", "HistoryEntry", "account_names", "history_entry"]

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
    #: The display names of the client accounts the facts name by id (from
    #: the Directory port when the entry was read). An account without one
    #: is written as its id: "account acme". Not part of equality: two
    #: readers of the same event, with or without a directory, read one entry.
    account_names: Mapping[str, str] = attrs.field(factory=dict, kw_only=True, eq=False)

    def summary(self, language: str | None = None, time_zone: str | None = None) -> str:
        """What happened, as a sentence: who did what, in the reader's words.

        ``Claire Martin asked Acme Trading to approve "Payroll Q1" (pdf).``
        In English unless ``language`` names a catalog's language; times in
        it in the medium style of that language, in ``time_zone`` (IANA;
        UTC unless given), with the zone's offset. Internal numbers (the
        event's version, the request's cycle) are left to :attr:`details`.
        """
        reader = _Reader(words(language, time_zone), self.account_names)
        actor = self.actor.name if self.actor else None
        return _DESCRIBERS.get(self.event, _generic)(reader, actor, self.details)

    def describe(
        self, language: str | None = None, time_zone: str | None = None
    ) -> str:
        """The entry as one line: the same sentence as :meth:`summary`."""
        return self.summary(language, time_zone)


def history_entry(
    event: Any, account_names: Mapping[str, str] | None = None
) -> HistoryEntry:
    """Turn one stored ``ApprovalRequest`` event into a :class:`HistoryEntry`.

    ``account_names`` gives the display names of client accounts by id
    (see :func:`account_names`); without it, accounts are written as ids.
    """
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
        account_names=dict(account_names or {}),
    )


def account_names(
    events: Iterable[Any], name_of: Callable[[str], str | None]
) -> dict[str, str]:
    """The display names of the accounts ``events`` name, as ``name_of`` gives.

    ``name_of`` is usually the Directory port's ``account(id).name``; an
    account it does not name is left out (and written as its id).
    """
    ids = {
        facts.account_id
        for event in events
        if (facts := getattr(event, "document", None)) is not None
        and isinstance(getattr(facts, "account_id", None), str)
    }
    found = {account: name_of(account) for account in sorted(ids)}
    return {account: name for account, name in found.items() if name}


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


def event_label(w: Words, event: str) -> str:
    """The name of ``event`` in ``w``'s language (an unknown one as it is)."""
    return w.gettext(EVENT_LABELS[event]) if event in EVENT_LABELS else event


#: Who was told of an event, one whole sentence per event (so each language
#: can write its own article: "du rappel", "de la demande").
_TOLD = {
    "Requested": N_("People were told of the request: %(told)s."),
    "Resent": N_("People were told of the request sent again: %(told)s."),
    "Reminded": N_("People were told of the reminder: %(told)s."),
    "Approved": N_("People were told of the approval: %(told)s."),
    "Rejected": N_("People were told of the rejection: %(told)s."),
    "Cancelled": N_("People were told of the cancellation: %(told)s."),
}

#: "<actor> uploaded <document>." for each kind of reported activity.
_ACTIVITIES = {
    "uploaded": N_("%(actor)s uploaded “%(document)s”."),
    "modified": N_("%(actor)s modified “%(document)s”."),
    "sent": N_("%(actor)s sent “%(document)s”."),
    "downloaded": N_("%(actor)s downloaded “%(document)s”."),
}

_ENTRY_POINTS = {
    "viewer": N_("Asked from the document viewer."),
    "upload": N_("Asked at upload."),
    "list": N_("Asked from the document list."),
}


@attrs.frozen
class _Reader:
    """Who the sentence is for: their words, and the accounts' names."""

    words: Words
    account_names: Mapping[str, str]

    def when(self, iso: str) -> str:
        """A recorded time in the reader's zone and locale (see Words.time)."""
        try:
            moment = datetime.fromisoformat(iso)
        except (TypeError, ValueError):
            return str(iso)
        return self.words.time(moment)

    def account(self, account_id: str) -> str:
        """The account's display name, or ``account <id>`` without one."""
        name = self.account_names.get(account_id)
        if name:
            return name
        return self.words.gettext("account %(account)s", account=account_id)

    def listed(self, items: list[str]) -> str:
        """``a, b and c`` as the reader's language writes a list (CLDR)."""
        return format_list(items, locale=self.words.locale)

    def who(self, actor: str | None) -> str:
        """The acting person's name (recorded with the event)."""
        return actor or self.words.gettext("Someone")


_Describer = Callable[[_Reader, "str | None", Mapping[str, Any]], str]


def _policy(r: _Reader, policy: Mapping[str, Any] | None) -> str:
    """The reminder rule as a sentence (or sentences)."""
    w = r.words
    if policy is None:
        return w.gettext("No automatic reminders.")
    schedule = policy.get("schedule") or {}
    days = int(policy["days_before_next"])
    count = int(policy["count"])
    # Counted in working days; in earlier versions, business_days meant that too.
    business = schedule.get("count_working_days", schedule.get("business_days"))
    after = (
        w.ngettext(
            "after %(days)s business day",
            "after %(days)s business days",
            days,
            days=w.number(days),
        )
        if business
        else w.ngettext(
            "after %(days)s day", "after %(days)s days", days, days=w.number(days)
        )
    )
    text = w.ngettext(
        "Up to %(count)s automatic reminder, %(after)s without an answer.",
        "Up to %(count)s automatic reminders, each %(after)s without an answer.",
        count,
        count=w.number(count),
        after=after,
    )
    if not schedule:
        return text
    zone = schedule.get("time_zone") or "UTC"
    if schedule.get("window_start") and schedule.get("window_end"):
        text += " " + w.gettext(
            "Sent between %(start)s and %(end)s, %(zone)s time.",
            start=schedule["window_start"][:5],
            end=schedule["window_end"][:5],
            zone=zone,
        )
    if schedule.get("holidays"):
        country = str(schedule["holidays"])
        name = w.locale.territories.get(country, country)
        region = schedule.get("holiday_region")
        place = f"{name} ({region})" if region else name
        text += " " + w.gettext(
            "Public holidays in %(place)s are not working days.", place=place
        )
    return text


def _generic(_r: _Reader, _actor: str | None, details: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in details.items() if k != "cycle")


def _created(r: _Reader, _actor: str | None, _d: Mapping[str, Any]) -> str:
    return r.words.gettext("The approval record was opened.")


def _requested(r: _Reader, actor: str | None, d: Mapping[str, Any]) -> str:
    w = r.words
    doc = d["document"]
    parts = [
        w.gettext(
            "%(actor)s asked %(account)s to approve “%(document)s” (%(file_type)s).",
            actor=r.who(actor),
            account=r.account(doc["account_id"]),
            document=doc["name"],
            file_type=doc["file_type"],
        ),
        _policy(r, d["reminders"]),
    ]
    point = d.get("entry_point")
    if point in _ENTRY_POINTS:
        parts.append(w.gettext(_ENTRY_POINTS[point]))
    return _with(r, " ".join(parts), message=d.get("message"))


def _with(
    r: _Reader,
    text: str,
    *,
    message: str | None = None,
    comment: str | None = None,
    note: str | None = None,
) -> str:
    """``text``, then the person's own words quoted (last: no stop after them)."""
    w = r.words
    if message:
        text += " " + w.gettext("Message: “%(message)s”", message=message)
    if comment:
        text += " " + w.gettext("Comment: “%(comment)s”", comment=comment)
    if note:
        text += " " + w.gettext("Note: “%(note)s”", note=note)
    return text


def _resent(r: _Reader, actor: str | None, d: Mapping[str, Any]) -> str:
    text = r.words.gettext("%(actor)s sent the request again.", actor=r.who(actor))
    return _with(r, f"{text} {_policy(r, d['reminders'])}", message=d.get("message"))


def _reminded(r: _Reader, _actor: str | None, d: Mapping[str, Any]) -> str:
    return r.words.gettext(
        "Automatic reminder %(number)s was sent (due %(due)s).",
        number=r.words.number(d["number"]),
        due=r.when(d["due_at"]),
    )


def _approved(r: _Reader, actor: str | None, d: Mapping[str, Any]) -> str:
    text = r.words.gettext("%(actor)s approved.", actor=r.who(actor))
    return _with(r, text, comment=d.get("comment"))


def _rejected(r: _Reader, actor: str | None, d: Mapping[str, Any]) -> str:
    rejection = d["rejection"]
    text = r.words.gettext(
        "%(actor)s rejected: %(reasons)s.",
        actor=r.who(actor),
        reasons=r.listed([reason.rstrip(".") for reason in rejection["reasons"]]),
    )
    return _with(r, text, comment=rejection.get("comment"))


def _cancelled(r: _Reader, actor: str | None, d: Mapping[str, Any]) -> str:
    text = r.words.gettext("%(actor)s cancelled the request.", actor=r.who(actor))
    return _with(r, text, note=d.get("note"))


def _locked(r: _Reader, actor: str | None, d: Mapping[str, Any]) -> str:
    return r.words.gettext(
        "%(actor)s locked “%(document)s” to invoice %(invoice)s.",
        actor=r.who(actor),
        document=d["document"]["name"],
        invoice=d["invoice_id"],
    )


def _paid(r: _Reader, actor: str | None, d: Mapping[str, Any]) -> str:
    return r.words.gettext(
        "%(actor)s recorded invoice %(invoice)s as paid.",
        actor=r.who(actor),
        invoice=d["invoice_id"],
    )


def _activity(r: _Reader, actor: str | None, d: Mapping[str, Any]) -> str:
    kind = d["kind"]
    document = d["document"]["name"]
    if kind not in _ACTIVITIES:
        return f"{r.who(actor)}: {kind} “{document}”"
    return r.words.gettext(_ACTIVITIES[kind], actor=r.who(actor), document=document)


def _delivery(r: _Reader, d: Mapping[str, Any]) -> str:
    w = r.words
    if d["channel"] == "email":
        what = w.gettext(
            "%(name)s was emailed at %(address)s",
            name=d["recipient_name"],
            address=d["address"],
        )
    elif d["channel"] == "inbox":
        what = w.gettext("%(name)s got an Inbox+ note", name=d["recipient_name"])
    elif d["kind"] == "remove_task":
        what = w.gettext(
            "the portal task of %(account)s was removed",
            account=r.account(d["address"]),
        )
    else:
        what = w.gettext(
            "the portal task of %(account)s was put on top",
            account=r.account(d["address"]),
        )
    if d["outcome"] != "sent":
        what = w.gettext(
            "%(delivery)s, but it was refused (%(detail)s)",
            delivery=what,
            detail=d.get("detail") or w.gettext("no reason given"),
        )
    return what


def _notified(r: _Reader, _actor: str | None, d: Mapping[str, Any]) -> str:
    w = r.words
    report = d["report"]
    about = report["about_event"]
    told = [_delivery(r, delivery) for delivery in report["deliveries"]]
    if not told:
        return w.gettext("Nobody had to be told.")
    deliveries = r.listed(told)
    if about in _TOLD:
        return w.gettext(_TOLD[about], told=deliveries)
    return w.gettext(
        "People were told (%(event)s): %(told)s.",
        event=event_label(w, about),
        told=deliveries,
    )


_DESCRIBERS: dict[str, _Describer] = {
    "Created": _created,
    "Requested": _requested,
    "Resent": _resent,
    "Reminded": _reminded,
    "Approved": _approved,
    "Rejected": _rejected,
    "Cancelled": _cancelled,
    "LockedToInvoice": _locked,
    "ActivityReported": _activity,
    "Notified": _notified,
    "InvoicePaid": _paid,
}
