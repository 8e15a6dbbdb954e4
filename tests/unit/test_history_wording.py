"""What people read: sentences with names, real plurals, one date style.

The history and the audit trail read as sentences saying who did what, in
every shipped language; no person-facing output writes "(s)" plurals or
internal numbers ("#3"); every time a person reads is in the one style of
their locale.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from click.testing import CliRunner

from approvalflow import Approvals, EmailComposer, connect
from approvalflow.cli import main
from approvalflow.demo import _deliver, _story, demo_directory, run_demo
from approvalflow.domain.values import ReminderSchedule
from approvalflow.i18n import words
from approvalflow.notifications.emails import KINDS, Recipient
from approvalflow.testing import (
    ControllableClock,
    RecordingMailer,
    RecordingPortal,
    StaticLinks,
)
from approvalflow.worker import Worker, pass_summary
from tests.helpers import START, make_directory

SHIPPED = ("en", "fr", "de")
#: "(s)", "(es)", "(ies)", "(se)", "(en)" plurals and "#12"-style numbers.
HAND_PLURAL = re.compile(r"\w\((?:s|es|ies|se|en|e)\)")
INTERNAL_NUMBER = re.compile(r"#\d")
#: Dates no locale's medium style writes: ISO days and "12/04".
OTHER_DATE_STYLES = re.compile(r"\d{4}-\d{2}-\d{2}|\b\d{1,2}/\d{1,2}\b")


@pytest.fixture(scope="module")
def story() -> Iterator[Approvals]:
    """The demo's story, recorded in memory with the demo's directory."""
    clock = ControllableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with connect(
        "memory://",
        directory=demo_directory(),
        clock=clock,
        portal=RecordingPortal(),
        mailer=RecordingMailer(),
        links=StaticLinks("https://p.example"),
        composer=EmailComposer(sender="cabinet@firm.example", firm_name="Martin"),
        # The demo's own schedule: French working days, Paris hours.
        reminder_schedule=ReminderSchedule(
            time_zone="Europe/Paris", holidays="FR", count_working_days=True
        ),
    ) as app:
        _story(app, clock, lambda _line: _deliver(app))
        yield app


EXPECTED = {
    "en": [
        "The approval record was opened.",
        "Anna Martin asked Dupont & Fils to approve “2025 Tax return” (pdf). Up "
        "to 2 automatic reminders, each after 3 business days without an answer. "
        "Sent between 09:00 and 18:00, Europe/Paris time. Public holidays in "
        "France are not working days. Asked from the document viewer. Message: "
        "“Bonjour, voici votre déclaration 2025 : merci de la valider.”",
        "Automatic reminder 1 was sent (due Mar 5, 2026, 10:00:00\u202fAM GMT+01:00).",
        "People were told of the reminder: Claire Dupont was emailed at "
        "claire@dupont.example.",
        "Claire Dupont rejected: Wrong tax year on page 2 and Missing the rental "
        "income. Comment: “The flat in Lyon was rented from March.”",
        "People were told of the rejection: the portal task of Dupont & Fils was "
        "removed, Anna Martin was emailed at anna@martin-associes.example, and "
        "Anna Martin got an Inbox+ note.",
        "Up to 1 automatic reminder, after 3 business days without an answer.",
        "Marc Dupont approved. Comment: “All good now, thank you.”",
    ],
    "fr": [
        "Le dossier d'approbation a été ouvert.",
        "Anna Martin a demandé à Dupont & Fils d'approuver « 2025 Tax return » "
        "(pdf). Au plus 2 rappels automatiques, chacun après 3 jours ouvrés sans "
        "réponse. Envoyés entre 09:00 et 18:00 (fuseau horaire Europe/Paris). "
        "Les jours fériés (France) ne sont pas des jours ouvrés. Demandé depuis "
        "la visionneuse de documents. Message : « Bonjour, voici votre "
        "déclaration 2025 : merci de la valider. »",
        "Le rappel automatique 1 a été envoyé (prévu le 5 mars 2026, 10:00:00 "
        "UTC+01:00).",
        "Personnes informées du rappel : un e-mail a été envoyé à Claire Dupont "
        "à l'adresse claire@dupont.example.",
        "Claire Dupont a refusé : Wrong tax year on page 2 et Missing the rental "
        "income. Commentaire : « The flat in Lyon was rented from March. »",
        "Personnes informées du refus : la tâche du portail de Dupont & Fils a "
        "été retirée, un e-mail a été envoyé à Anna Martin à l'adresse "
        "anna@martin-associes.example et Anna Martin a reçu une note Inbox+.",
        "Au plus 1 rappel automatique, après 3 jours ouvrés sans réponse.",
        "Marc Dupont a approuvé. Commentaire : « All good now, thank you. »",
    ],
    "de": [
        "Der Freigabevorgang wurde angelegt.",
        "Anna Martin hat Dupont & Fils gebeten, „2025 Tax return“ (pdf) "
        "freizugeben. Höchstens 2 automatische Erinnerungen, jeweils nach 3 "
        "Arbeitstagen ohne Antwort. Versand zwischen 09:00 und 18:00 Uhr, "
        "Zeitzone Europe/Paris. Feiertage (Frankreich) sind keine Arbeitstage. "
        "Aus der Dokumentansicht angefragt. Nachricht: „Bonjour, voici votre "
        "déclaration 2025 : merci de la valider.“",
        "Die automatische Erinnerung 1 wurde gesendet (fällig am 05.03.2026, "
        "10:00:00 GMT+01:00).",
        "Benachrichtigt über die Erinnerung: Claire Dupont wurde per E-Mail an "
        "claire@dupont.example benachrichtigt.",
        "Claire Dupont hat abgelehnt: Wrong tax year on page 2 und Missing the "
        "rental income. Kommentar: „The flat in Lyon was rented from March.“",
        "Benachrichtigt über die Ablehnung: die Portal-Aufgabe von Dupont & Fils "
        "wurde entfernt, Anna Martin wurde per E-Mail an "
        "anna@martin-associes.example benachrichtigt und Anna Martin hat eine "
        "Inbox+-Notiz erhalten.",
        "Höchstens 1 automatische Erinnerung, nach 3 Arbeitstagen ohne Antwort.",
        "Marc Dupont hat freigegeben. Kommentar: „All good now, thank you.“",
    ],
}


@pytest.mark.parametrize("language", SHIPPED)
def test_the_demo_story_reads_as_sentences_in_every_language(
    story: Approvals, language: str
) -> None:
    lines = [
        e.describe(language, "Europe/Paris") for e in story.history("tax-return-2025")
    ]
    told = "\n".join(lines)
    for expected in EXPECTED[language]:
        assert expected in told, expected
    # The audit trail says the same, row by row.
    trail = story.audit_trail(
        "tax-return-2025", language=language, time_zone="Europe/Paris"
    )
    assert [row.summary for row in trail] == lines
    for line in lines:
        assert line[:1].isupper(), line  # a sentence, not "about #3 (...)"
        assert not INTERNAL_NUMBER.search(line), line
        assert not HAND_PLURAL.search(line), line
        assert not OTHER_DATE_STYLES.search(line), line


def test_an_account_the_directory_does_not_name_is_written_by_its_id(
    tmp_path: Path,
) -> None:
    store = tmp_path / "s.sqlite3"
    with connect(
        f"sqlite:///{store}", directory=make_directory(), clock=ControllableClock(START)
    ) as app:
        app.request_approval("d1", by="f1")
        [named] = [e for e in app.history("d1") if e.event == "Requested"]
        assert named.describe().startswith("Anna Martin asked ACME to approve")
    # Opened without a directory (an audit, a replay): the account's id.
    with connect(f"sqlite:///{store}") as alone:
        [bare] = [e for e in alone.history("d1") if e.event == "Requested"]
        assert bare.describe().startswith("Anna Martin asked account acme to approve")
        assert bare.describe("fr").startswith("Anna Martin a demandé à « acme »")
    # A directory that no longer knows the account: the id too.
    directory = make_directory()
    directory.accounts.clear()
    with connect(f"sqlite:///{store}", directory=directory) as forgotten:
        [row] = [r for r in forgotten.audit_trail("d1") if r.event == "Requested"]
        assert "asked account acme to approve" in row.summary


@pytest.mark.parametrize(
    ("calendar", "region", "place"),
    [("FR", None, "France"), ("DE", "BY", "Germany (BY)")],
)
def test_holidays_read_as_days_that_are_not_working_days(
    calendar: str, region: str | None, place: str
) -> None:
    schedule = ReminderSchedule(
        time_zone="Europe/Paris", holidays=calendar, holiday_region=region
    )
    with connect(
        "memory://",
        directory=make_directory(),
        clock=ControllableClock(START),
        reminder_schedule=schedule,
    ) as app:
        app.request_approval(
            "d1", by="f1", reminders={"days_before_next": 2, "count": 1}
        )
        [entry] = [e for e in app.history("d1") if e.event == "Requested"]
    assert f"Public holidays in {place} are not working days." in entry.describe()
    assert "holidays off" not in entry.describe()
    german = "Frankreich" if calendar == "FR" else "Deutschland (BY)"
    assert f"Feiertage ({german}) sind keine Arbeitstage." in entry.describe("de")


def test_a_cancelled_request_and_a_document_never_asked_are_said_as_such(
    tmp_path: Path,
) -> None:
    store = tmp_path / "s.sqlite3"
    with connect(
        f"sqlite:///{store}", directory=make_directory(), clock=ControllableClock(START)
    ) as app:
        app.request_approval("d1", by="f1")
        app.cancel("d1", by="f1")
        app.record_activity("d2", kind="uploaded", by="f1")
    runner = CliRunner()
    cancelled = runner.invoke(main, ["history", "d1", "--db", str(store)])
    assert cancelled.output.splitlines()[0] == "d1: request cancelled"
    french = runner.invoke(
        main, ["history", "d1", "--db", str(store), "--language", "fr"]
    )
    assert french.output.splitlines()[0] == "d1: demande annulée"
    never = runner.invoke(main, ["history", "d2", "--db", str(store)])
    assert never.output.splitlines()[0] == "d2: approval not requested"
    assert ": none" not in cancelled.output + never.output


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        (
            "en",
            0,
            "0 reminders recorded; 0 events delivered: 0 messages sent, 0 refused",
        ),
        ("en", 1, "1 reminder recorded; 1 event delivered: 1 message sent, 1 refused"),
        (
            "en",
            2,
            "2 reminders recorded; 2 events delivered: 2 messages sent, 2 refused",
        ),
        # French: 0 and 1 take the singular.
        (
            "fr",
            0,
            "0 rappel enregistré ; 0 événement traité : 0 message envoyé, 0 refusé",
        ),
        (
            "fr",
            1,
            "1 rappel enregistré ; 1 événement traité : 1 message envoyé, 1 refusé",
        ),
        (
            "fr",
            2,
            "2 rappels enregistrés ; 2 événements traités : 2 messages envoyés, "
            "2 refusés",
        ),
        (
            "de",
            1,
            "1 Erinnerung erfasst; 1 Ereignis zugestellt: 1 Nachricht gesendet, "
            "1 abgelehnt",
        ),
        (
            "de",
            2,
            "2 Erinnerungen erfasst; 2 Ereignisse zugestellt: 2 Nachrichten "
            "gesendet, 2 abgelehnt",
        ),
    ],
)
def test_counts_take_the_form_their_number_needs(
    language: str, count: int, expected: str
) -> None:
    line = pass_summary(
        words(language), reminded=count, events=count, sent=count, refused=count
    )
    assert line == expected


@pytest.mark.parametrize("language", SHIPPED)
def test_every_time_a_person_reads_is_the_locales_medium_style(language: str) -> None:
    moment = datetime(2026, 4, 12, 7, 5, tzinfo=UTC)
    w = words(language, "Europe/Paris")
    local = moment.astimezone(ZoneInfo("Europe/Paris"))
    medium = format_datetime(local, "medium", locale=language)
    assert w.time(moment).startswith(medium)
    assert w.time(moment).endswith("+02:00")  # the zone, in April: summer time
    # The decision email writes the same, in the reader's zone.
    composer = EmailComposer(sender="cabinet@firm.example", firm_name="Martin")
    reader = Recipient("f1", "Anna", "anna@firm.example", language, "Europe/Paris")
    context = {
        "document_id": "d1",
        "document_name": "Bilan",
        "file_type": "pdf",
        "client_name": "Claire",
        "account_name": "ACME",
        "approved": True,
        "decided_at": moment,
        "firm_link": "https://app.example/d1",
    }
    message = composer.compose("decision", reader, context, key="k", at=START)
    text = message.get_body(("plain",))
    assert text is not None
    assert w.time(moment) in text.get_content()


def _email_text(message: EmailMessage) -> str:
    """The subject and the words of both parts (the HTML's text, not its CSS)."""
    text = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert text is not None
    assert page is not None
    body = re.sub(r"<style.*?</style>|<[^>]+>", " ", page.get_content(), flags=re.S)
    return "\n".join([str(message["Subject"]), text.get_content(), body])


def test_no_person_facing_output_has_hand_made_plurals_or_internal_numbers(
    tmp_path: Path,
) -> None:
    """Every output a person reads, rendered, then searched."""
    outputs: dict[str, str] = {}
    lines: list[str] = []
    run_demo(f"sqlite:///{tmp_path / 'story.sqlite3'}", lines.append)
    outputs["demo"] = "\n".join(lines)
    runner = CliRunner()
    db = ["--db", str(tmp_path / "story.sqlite3")]
    for language in SHIPPED:
        lang = ["--language", language]
        for doc in ("tax-return-2025", "engagement-letter", "q3-bookkeeping"):
            shown = runner.invoke(main, ["history", doc, *db, *lang])
            outputs[f"history {doc} {language}"] = shown.output
        for step, command in enumerate(
            (
                ["deliveries", "status"],
                ["health", "--max-delay", "1"],
                ["projections", "status", "--max-lag", "0"],
                ["reminders", "run"],
                ["reminders", "run"],
                [
                    "worker",
                    "--once",
                    "--directory",
                    "approvalflow.demo:demo_directory",
                    "--mail-dir",
                    str(tmp_path / "mail"),
                    "--sender",
                    "cabinet@firm.example",
                    "--firm-name",
                    "Martin",
                    "--portal-url",
                    "https://portal.example",
                ],
                ["deliveries", "status"],
            )
        ):
            shown = runner.invoke(main, [*command, *db, *lang])
            assert shown.exit_code in {0, 1}, shown.output  # 1: a problem said
            # stdout: what the command says (the log on stderr is for machines)
            outputs[f"{' '.join(command[:2])} {language} {step}"] = shown.stdout
        composer = EmailComposer(sender="cabinet@firm.example", firm_name="Martin")
        reader = Recipient("c1", "Claire", "claire@acme.example", language)
        for kind in KINDS:
            for approved in (True, False):
                context = {
                    "document_id": "d1",
                    "document_name": "Bilan",
                    "file_type": "pdf",
                    "message": "Merci",
                    "link": "https://p.example/d/1",
                    "number": 2,
                    "count": 3,
                    "client_name": "Claire",
                    "account_name": "ACME",
                    "approved": approved,
                    "reasons": ["Wrong year"],
                    "decided_at": START,
                }
                message = composer.compose(kind, reader, context, key="k", at=START)
                outputs[f"{kind} email {language} {approved}"] = _email_text(message)
    # The outputs were rendered, and the worker had something to say.
    assert "Automatic reminder" in outputs["demo"]
    assert "1 reminder recorded: q3-bookkeeping" in outputs["reminders run en 3"]
    assert "No reminder was due" in outputs["reminders run en 4"]
    assert "events delivered: 1 message sent" in outputs["worker --once en 5"]
    for name, text in outputs.items():
        assert not HAND_PLURAL.findall(text), (name, HAND_PLURAL.findall(text))
        assert not INTERNAL_NUMBER.findall(text), (name, text)
    for name, text in outputs.items():
        if name.startswith(("demo", "history", "deliveries")):
            assert not OTHER_DATE_STYLES.findall(text), (name, text)


def test_reminder_due_times_in_summaries_default_to_utc_in_the_locale_style() -> None:
    clock = ControllableClock(START)
    with connect("memory://", directory=make_directory(), clock=clock) as app:
        app.request_approval(
            "d1", by="f1", reminders={"days_before_next": 3, "count": 1}
        )
        clock.advance(timedelta(days=30))
        app.send_due_reminders()
        [reminded] = [e for e in app.history("d1") if e.event == "Reminded"]
    assert "GMT+00:00" in reminded.summary()
    assert "T09:00:00" not in reminded.summary()  # not ISO 8601: that is for details
    assert reminded.details["due_at"].startswith("2026-01-08T09:00:00")


def test_the_worker_logs_counts_in_their_own_form(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="approvalflow.worker")
    with connect(
        "memory://",
        directory=make_directory(),
        clock=ControllableClock(START),
        mailer=RecordingMailer(),
        portal=RecordingPortal(),
        links=StaticLinks("https://p.example"),
        composer=EmailComposer(sender="cabinet@firm.example", firm_name="Martin"),
    ) as app:
        app.request_approval("d1", by="f1")
        worker = Worker(app, app.notifier(), interval=0.01)
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            # The request's two events, then the one recording who was told.
            while not any("1 event (" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, "the worker logged no pass"
                time.sleep(0.01)
        finally:
            worker.stop()
            thread.join(timeout=30)
    passes = [r.getMessage() for r in caplog.records if "delivered" in r.getMessage()]
    # "delivered 1 event", never "delivered 1 events"; and 2 events.
    assert passes[:2] == [
        "reminded 0 documents, delivered 2 events (2 sent, 0 refused)",
        "reminded 0 documents, delivered 1 event (0 sent, 0 refused)",
    ]
    assert not any(HAND_PLURAL.search(p) or "1 events" in p for p in passes)
