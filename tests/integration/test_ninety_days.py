"""Ninety days of a firm's life, every email checked against a plain model.

Hundreds of requests over several accounts with mixed reminder policies,
resends, decisions and cancels; users whose Notify flag changes; French and
English recipients. A worker passes every six hours (reminders, then
deliveries). The model, written here from the help centre's rules, says which
emails go to whom, when, in which language; the mail the library sent must be
exactly that.

With reminders exactly N x 24 hours after the latest contact (the default),
and with a Paris firm's schedule (09:00-18:00
local, Monday to Friday, French public holidays closed) from March to May
2026, across the change to summer time (29 March) and six public holidays,
counting calendar days and, as an option, working days. The model finds each
due time its own way: counting days, then walking forward minute by minute
to the first minute inside the hours on a working day; a worker pass while
the schedule is closed (every six hours, so some are at night) sends nothing
until the next pass in the hours.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from approvalflow import (
    Approvals,
    DocumentFacts,
    ReminderPolicy,
    ReminderSchedule,
    connect,
)
from approvalflow.notifications.emails import EmailComposer
from approvalflow.ports import AccountLink, ClientAccount, ClientUser, FirmMember
from approvalflow.testing import (
    ControllableClock,
    InMemoryDirectory,
    RecordingMailer,
    RecordingPortal,
    StaticLinks,
)
from tests.helpers import START

PASS_EVERY = timedelta(hours=6)
DAYS = 90
SEED = 20261128

Email = tuple[
    datetime, str, str, str, str, str
]  # when, to, kind, language, doc, reminder


PARIS = ZoneInfo("Europe/Paris")
FRENCH_HOLIDAYS = holidays.country_holidays("FR", years=range(2025, 2028))
#: The business calendar's first day: a Monday, four weeks before summer time.
SPRING = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def elapsed(last_contact: datetime, days: int) -> datetime:
    return last_contact + timedelta(days=days)


def paris_working(day: date) -> bool:
    return day.weekday() < 5 and day not in FRENCH_HOLIDAYS


def paris_open(now: datetime) -> bool:
    local = now.astimezone(PARIS)
    return paris_working(local.date()) and time(9) <= local.time() < time(18)


def always_open(_now: datetime) -> bool:
    return True


def _to_opening(wall: datetime) -> datetime:
    """Walk a Paris wall-clock time forward, minute by minute, into the hours."""
    while not (paris_working(wall.date()) and time(9) <= wall.time() < time(18)):
        wall = (wall + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return wall.replace(tzinfo=PARIS).astimezone(UTC)


def paris_business(last_contact: datetime, days: int) -> datetime:
    local = last_contact.astimezone(PARIS)
    day, counted = local.date(), 0
    while counted < days:
        day += timedelta(days=1)
        counted += paris_working(day)
    return _to_opening(datetime.combine(day, local.time().replace(tzinfo=None)))


def paris_hours(last_contact: datetime, days: int) -> datetime:
    local = last_contact.astimezone(PARIS)
    day = local.date() + timedelta(days=days)
    return _to_opening(datetime.combine(day, local.time().replace(tzinfo=None)))


Calendar = tuple[
    ReminderSchedule | None,
    datetime,
    Callable[[datetime, int], datetime],
    Callable[[datetime], bool],
]
CALENDARS: dict[str, Calendar] = {
    # ReminderSchedule.elapsed() gives the same times (tests/unit/test_reminders.py).
    "default": (None, START, elapsed, always_open),
    # Counting working days, as the firm asked.
    "paris-business": (
        ReminderSchedule(
            time_zone="Europe/Paris", holidays="FR", count_working_days=True
        ),
        SPRING,
        paris_business,
        paris_open,
    ),
    # Calendar days, then the next opening.
    "paris-hours": (
        ReminderSchedule(time_zone="Europe/Paris", holidays="FR"),
        SPRING,
        paris_hours,
        paris_open,
    ),
}


@dataclass
class Pending:
    account: str
    policy: ReminderPolicy | None
    last_contact: datetime
    rule: Callable[[datetime, int], datetime]
    sent_in_schedule: int = 0

    def due(self) -> datetime | None:
        if self.policy is None or self.sent_in_schedule >= self.policy.count:
            return None
        return self.rule(self.last_contact, self.policy.days_before_next)


@dataclass
class Model:
    """What should be emailed, from the rules alone."""

    languages: dict[str, str]  # user -> language
    emails_of: dict[str, str]
    links: dict[str, dict[str, bool]]  # account -> user -> notify
    subscribers: list[str]
    rule: Callable[[datetime, int], datetime] = elapsed
    #: Whether the firm's schedule lets a reminder out at a moment (one
    #: overdue while it was closed waits for its next opening).
    is_open: Callable[[datetime], bool] = always_open
    pending: dict[str, Pending] = field(default_factory=dict)
    # Events since the last worker pass: (kind, account, doc, reminder number)
    queue: list[tuple[str, str, str, str]] = field(default_factory=list)
    expected: list[Email] = field(default_factory=list)

    def worker_pass(self, now: datetime) -> None:
        for doc in sorted(self.pending):
            request = self.pending[doc]
            due = request.due()
            if due is not None and now >= due and self.is_open(now):
                request.sent_in_schedule += 1
                request.last_contact = now  # the next one a full interval later
                self.queue.append(
                    ("reminder", request.account, doc, str(request.sent_in_schedule))
                )
        for kind, account, doc, number in self.queue:
            if kind == "decision":
                users = self.subscribers
            else:
                users = [u for u, notify in self.links[account].items() if notify]
            for user in users:
                self.expected.append(
                    (now, self.emails_of[user], kind, self.languages[user], doc, number)
                )
        self.queue.clear()


def build_firm(rng: random.Random) -> tuple[InMemoryDirectory, Model]:
    firm = [
        FirmMember("f1", "Anna Martin", "anna@firm.example", True, "fr"),
        FirmMember("f2", "Paul Leroy", "paul@firm.example", True, None),
        FirmMember("f3", "Ines Garcia", "ines@firm.example", False, "en"),
    ]
    users: list[ClientUser] = []
    accounts: list[ClientAccount] = []
    links: dict[str, list[AccountLink]] = {}
    for a in range(6):
        account = f"acct{a}"
        accounts.append(ClientAccount(account, f"Client {a}"))
        links[account] = []
        for u in range(rng.randint(1, 3)):
            user = f"{account}-u{u}"
            language = rng.choice(["fr", "en", None])
            users.append(
                ClientUser(user, f"User {a}.{u}", f"{user}@client.example", language)
            )
            links[account].append(AccountLink(user, notify=rng.random() < 0.75))
    directory = InMemoryDirectory(
        firm_members=firm, client_users=users, accounts=accounts, links=links
    )
    model = Model(
        languages={u.user_id: u.language or "en" for u in users}
        | {m.user_id: m.language or "en" for m in firm},
        emails_of={u.user_id: u.email for u in users}
        | {m.user_id: m.email for m in firm},
        links={
            a: {link.user_id: link.notify for link in ls} for a, ls in links.items()
        },
        subscribers=[m.user_id for m in firm if m.approvals_notifications],
    )
    return directory, model


@pytest.mark.parametrize("calendar", sorted(CALENDARS))
def test_ninety_days_of_emails_match_the_model(store_url: str, calendar: str) -> None:
    schedule, start, rule, is_open = CALENDARS[calendar]
    rng = random.Random(SEED)
    directory, model = build_firm(rng)
    model.rule, model.is_open = rule, is_open
    clock = ControllableClock(start)
    mailer, portal = RecordingMailer(), RecordingPortal()
    composer = EmailComposer(
        sender="cabinet@firm.example", firm_name="Martin", default_language="en"
    )
    next_doc = 0
    with connect(
        store_url, directory=directory, clock=clock, reminder_schedule=schedule
    ) as app:
        notifier = app.notifier(
            mailer=mailer, portal=portal, links=StaticLinks(), composer=composer
        )
        end = start + timedelta(days=DAYS)
        while clock.now() < end:
            for _ in range(rng.randint(0, 4)):
                next_doc = act(app, model, directory, rng, next_doc)
            clock.advance(PASS_EVERY)
            app.send_due_reminders()
            while notifier.run_once().events:
                pass
            model.worker_pass(clock.now())

    actual = sorted(
        (
            datetime.fromisoformat(_iso(m["Date"])),
            m["To"].addresses[0].addr_spec,
            str(m["X-Approvalflow-Kind"]),
            str(m["Content-Language"]),
            str(m["X-Approvalflow-Document"]),
            str(m["X-Approvalflow-Reminder"] or ""),
        )
        for m in mailer.sent
    )
    expected = sorted(model.expected)
    kinds = Counter(kind for _, _, kind, *_ in expected)
    # The population is large and varied enough to mean something.
    assert next_doc >= 200
    assert kinds["request"] >= 200
    assert kinds["reminder"] >= 50
    assert kinds["resend"] >= 20
    assert kinds["decision"] >= 100
    assert {language for *_, language, _, _ in expected} == {"fr", "en"}
    if calendar.startswith("paris"):
        # Reminders go out in Paris opening hours only, before and after the
        # change to summer time.
        sent = [w for w, _, k, *_ in expected if k == "reminder"]
        assert all(paris_open(w) for w in sent)
        days = [w.astimezone(PARIS).date() for w in sent]
        assert min(days) < date(2026, 3, 29) < max(days)
    assert actual == expected
    # Every email went to exactly the address and in the language expected;
    # and the portal holds a task exactly for each request still pending.
    tasks = {(t.account_id, t.document_id) for ts in portal.tasks.values() for t in ts}
    assert tasks == {(p.account, doc) for doc, p in model.pending.items()}


def act(
    app: Approvals,
    model: Model,
    directory: InMemoryDirectory,
    rng: random.Random,
    next_doc: int,
) -> int:
    """One random thing a firm member, a client or the host does."""
    roll = rng.random()
    pending = sorted(model.pending)
    if roll < 0.45 or not pending:
        account = rng.choice(sorted(model.links))
        doc = f"doc{next_doc}"
        directory.add_document(
            DocumentFacts(doc, account, f"Document {next_doc}", "pdf", "Anna")
        )
        policy = rng.choice(
            [
                None,
                ReminderPolicy(1, 1),
                ReminderPolicy(2, 3),
                ReminderPolicy(3, 2),
                ReminderPolicy(),
            ]
        )
        app.request_approval(doc, by=rng.choice(["f1", "f2", "f3"]), reminders=policy)
        model.pending[doc] = Pending(account, policy, app.clock.now(), model.rule)
        model.queue.append(("request", account, doc, ""))
        return next_doc + 1
    doc = rng.choice(pending)
    request = model.pending[doc]
    if roll < 0.55:
        policy = rng.choice([request.policy, ReminderPolicy(1, 2), None])
        app.resend(doc, by="f2", reminders=policy)
        model.pending[doc] = Pending(
            request.account, policy, app.clock.now(), model.rule
        )
        model.queue.append(("resend", request.account, doc, ""))
    elif roll < 0.85:
        linked = sorted(model.links[request.account])
        user = rng.choice(linked)
        if rng.random() < 0.5:
            app.approve(doc, by=user)
        else:
            app.reject(doc, by=user, reasons=["Not right"])
        del model.pending[doc]
        model.queue.append(("decision", request.account, doc, ""))
    elif roll < 0.92:
        app.cancel(doc, by="f1")
        del model.pending[doc]
    else:
        # A client user turns Notify on or off; it counts from the next send.
        account = request.account
        user = rng.choice(sorted(model.links[account]))
        notify = not model.links[account][user]
        directory.link(account, user, notify=notify)
        model.links[account][user] = notify
    return next_doc


def _iso(date_header: Any) -> str:
    from email.utils import parsedate_to_datetime  # noqa: PLC0415

    return parsedate_to_datetime(str(date_header)).isoformat()
