"""Every word from the catalogs: complete catalogs, emails, history, CLI, hosts."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from click.testing import CliRunner

from approvalflow import Approvals, ConfigurationError, EmailComposer, connect
from approvalflow.cli import main
from approvalflow.i18n import LOCALE_DIR, languages
from approvalflow.notifications.emails import KINDS, Recipient
from approvalflow.testing import (
    ControllableClock,
    RecordingMailer,
    RecordingPortal,
    StaticLinks,
)
from tests.helpers import START, make_directory

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("de", "en", "fr")
PLACEHOLDER = re.compile(r"%\((\w+)\)s|%[sd]")


def _catalog(language: str) -> Catalog:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "approvalflow.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def _extracted() -> dict[str, str]:
    """Every msgid in the sources and templates, and where it was found.

    A message with plural forms is there by its singular (as catalogs key it).
    """
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    found = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "src"), method_map, options_map
    ):
        found[message if isinstance(message, str) else message[0]] = filename
    return found


def _key(msgid: Any) -> str:
    """A message's key in a catalog: its id, or its singular if it has plurals."""
    return msgid if isinstance(msgid, str) else str(next(iter(msgid)))


def _hashable(value: Any) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


def test_the_shipped_languages_are_the_catalogs_found() -> None:
    assert languages() == SHIPPED


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_has_a_translation_in_every_catalog(language: str) -> None:
    catalog = _catalog(language)
    extracted = _extracted()
    assert len(extracted) > 100  # the extraction found the templates and code
    missing = []
    for msgid, filename in extracted.items():
        message = catalog.get(msgid)
        forms = message.string if message and isinstance(message.string, tuple) else ()
        if (
            message is None
            or not message.string
            or message.fuzzy
            or (forms and (len(forms) != catalog.num_plurals or not all(forms)))
        ):
            missing.append(f"{filename}: {msgid!r}")
    assert not missing, f"untranslated in {language}: {missing}"
    # And no message left over that nothing uses any more.
    stale = [m.id for m in catalog if m.id and _key(m.id) not in extracted]
    assert not stale, f"obsolete in {language}: {stale}"


@pytest.mark.parametrize("language", SHIPPED)
def test_placeholders_are_the_same_in_msgid_and_msgstr(language: str) -> None:
    catalog = _catalog(language)
    for message in catalog:
        if not message.id:
            continue
        ids: tuple[str, ...] = (
            (message.id,) if isinstance(message.id, str) else tuple(message.id)
        )
        strings: tuple[str, ...] = (
            (message.string,)
            if isinstance(message.string, str)
            else tuple(message.string or ())
        )
        wanted = sorted(PLACEHOLDER.findall(ids[0]))
        # Singular and plural name the same values; so does every form.
        for text in (*ids, *strings):
            assert sorted(PLACEHOLDER.findall(text)) == wanted, message.id
    # Babel's own checks (python-format flags and the like).
    assert not [(m.id, errors) for m, errors in catalog.check()]


@pytest.mark.parametrize("language", SHIPPED)
def test_the_committed_mo_file_is_the_po_file_compiled(language: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(language))
    compiled.seek(0)
    fresh = {_hashable(m.id): _hashable(m.string) for m in read_mo(compiled) if m.id}
    path = LOCALE_DIR / language / "LC_MESSAGES" / "approvalflow.mo"
    with path.open("rb") as handle:
        committed = {
            _hashable(m.id): _hashable(m.string) for m in read_mo(handle) if m.id
        }
    assert committed == fresh, "run pybabel compile (see docs/how-to/languages.md)"


# -- Emails ---------------------------------------------------------------------

CONTEXT: dict[str, Any] = {
    "document_id": "d1",
    "document_name": "Bilan",
    "file_type": "pdf",
    "message": "Page 2, please.",
    "link": "https://p.example/d/1",
    "number": 2,
    "count": 3,
    "client_name": "Claire Dupont",
    "account_name": "ACME",
    "approved": False,
    "reasons": ["Wrong year"],
    "comment": "Page 3 blank",
    "firm_link": "https://app.example/d1",
    "preferences_link": "https://p.example/prefs",
    "decided_at": datetime(2026, 7, 1, 12, 30, tzinfo=UTC),
}
COMPOSER = EmailComposer(sender="cabinet@firm.example", firm_name="Martin")


def _parts(message: EmailMessage) -> str:
    text = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert text is not None
    assert page is not None
    return "\n".join(
        [str(message["Subject"]), text.get_content(), html.unescape(page.get_content())]
    )


def _english_fragments(language: str) -> set[str]:
    """Pieces of the templates' English sentences (between placeholders).

    Leaving out pieces a real translation shares (a word spelled the same
    in both languages): the others must never show in the language's emails.
    A message "translated" as its English msgid keeps all its pieces.
    """
    catalog = _catalog(language)
    fragments = set()
    for msgid, filename in _extracted().items():
        if "templates" not in filename:
            continue
        translation = str(catalog[msgid].string)
        for piece in PLACEHOLDER.split(msgid):
            words = (piece or "").strip(' .,:"()')
            shared = translation != msgid and words in translation
            if len(words) >= 6 and not shared:
                fragments.add(words)
    return fragments


@pytest.mark.parametrize("language", ["fr", "de"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_email_is_written_in_the_readers_language(
    language: str, kind: str
) -> None:
    recipient = Recipient("c1", "Claire", "claire@acme.example", language)
    for approved in (True, False):
        context = {**CONTEXT, "approved": approved}
        message = COMPOSER.compose(kind, recipient, context, key="k:1", at=START)
        shown = _parts(message)
        english = [f for f in _english_fragments(language) if f in shown]
        assert not english, f"English left in the {language} {kind} email: {english}"
        assert message["Content-Language"] == language


def test_the_french_request_reads_as_the_french_templates_did() -> None:
    recipient = Recipient("c1", "Claire Dupont", "claire@acme.example", "fr")
    message = COMPOSER.compose(
        "request", recipient, {**CONTEXT, "preferences_link": None}, key="k", at=START
    )
    assert str(message["Subject"]) == "Martin vous demande d'approuver « Bilan »"
    text = message.get_body(("plain",))
    assert text is not None
    assert text.get_content() == (
        "Bonjour Claire Dupont,\n\n"
        "Martin vous demande de vérifier et d'approuver « Bilan » (pdf).\n\n"
        "Message de Martin :\n\n"
        "Page 2, please.\n\n"
        "Consulter les documents : https://p.example/d/1\n\n"
        "Vous pouvez approuver le document, ou le refuser en nous disant pourquoi.\n\n"
        "-- \n"
        "Martin\n"
        "Vous recevez cet e-mail parce que vous êtes client de Martin et que les "
        "notifications par e-mail sont activées pour vous sur son portail client.\n"
    )


def test_the_decision_time_is_written_in_the_readers_locale_and_zone() -> None:
    paris = Recipient("f1", "Anna", "anna@firm.example", "fr", "Europe/Paris")
    message = COMPOSER.compose("decision", paris, CONTEXT, key="k", at=START)
    # 12:30 UTC is 14:30 in Paris in July (summer time).
    assert "Date : 1 juil. 2026, 14:30:00 UTC+02:00" in _parts(message)
    new_york = Recipient("f1", "Anna", "anna@firm.example", "en", "America/New_York")
    message = COMPOSER.compose("decision", new_york, CONTEXT, key="k", at=START)
    assert "Date: Jul 1, 2026, 8:30:00\u202fAM GMT-04:00" in _parts(message)
    # A zone the directory got wrong must not stop the mail: UTC it is.
    lost = Recipient("f1", "Anna", "anna@firm.example", "en", "Mars/Olympus")
    message = COMPOSER.compose("decision", lost, CONTEXT, key="k", at=START)
    assert "Date: Jul 1, 2026, 12:30:00\u202fPM GMT" in _parts(message)


def test_numbers_are_written_as_the_readers_locale_writes_them() -> None:
    recipient = Recipient("c1", "Claire", "claire@acme.example", "fr")
    context = {**CONTEXT, "number": 1200, "count": 1500}
    message = COMPOSER.compose("reminder", recipient, context, key="k", at=START)
    assert str(message["Subject"]).startswith("Rappel 1\u202f200 sur 1\u202f500 :")
    # The header for machines keeps the plain number.
    assert message["X-Approvalflow-Reminder"] == "1200"


# -- A host's own templates and languages ---------------------------------------


def _spanish_catalog(folder: Path) -> Path:
    """A host's Spanish catalog: a few messages, the rest left to English."""
    catalog = Catalog(locale="es", domain="approvalflow")
    catalog.add(
        '%(firm_name)s asks you to approve "%(document_name)s"',
        "%(firm_name)s le pide aprobar «%(document_name)s»",
    )
    catalog.add("Hello %(recipient_name)s,", "Hola %(recipient_name)s:")
    target = folder / "es" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "approvalflow.mo").open("wb") as handle:
        write_mo(handle, catalog)
    return folder


def test_a_host_template_with_the_same_name_wins(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "request.html").write_text(
        "<p>{{ firm_name }}: our own request page for {{ document_name }}</p>"
    )
    composer = EmailComposer(
        sender="cabinet@firm.example", firm_name="Martin", template_dirs=[tmp_path]
    )
    english = Recipient("c1", "Claire", "claire@acme.example", "en")
    message = composer.compose("request", english, CONTEXT, key="k", at=START)
    shown = _parts(message)
    assert "Martin: our own request page for Bilan" in shown
    # Only that file: the plain-text part and the other languages are shipped.
    assert "Martin asks you to review and approve" in shown
    french = Recipient("c1", "Claire", "claire@acme.example", "fr")
    message = composer.compose("request", french, CONTEXT, key="k", at=START)
    assert "our own request page" not in _parts(message)


def test_a_host_adds_a_language_with_its_own_catalog(tmp_path: Path) -> None:
    composer = EmailComposer(
        sender="cabinet@firm.example",
        firm_name="Martin",
        default_language="es",
        locale_dirs=[_spanish_catalog(tmp_path)],
    )
    assert composer.languages == ("de", "en", "es", "fr")
    nobody = Recipient("c1", "Claire", "claire@acme.example")
    message = composer.compose("request", nobody, CONTEXT, key="k", at=START)
    assert str(message["Subject"]) == "Martin le pide aprobar «Bilan»"
    assert message["Content-Language"] == "es"
    text = message.get_body(("plain",))
    assert text is not None
    assert text.get_content().startswith("Hola Claire:\n")
    # A language nobody has a catalog for falls back to the default.
    klingon = Recipient("c1", "Claire", "claire@acme.example", "tlh")
    message = composer.compose("request", klingon, CONTEXT, key="k", at=START)
    assert message["Content-Language"] == "es"
    # Without the host's catalog, Spanish is refused as a default.
    with pytest.raises(ConfigurationError, match="default_language must be one of"):
        EmailComposer(sender="c@firm.example", firm_name="M", default_language="es")


# -- History, audit trail and Inbox+ notes --------------------------------------


@pytest.fixture
def app() -> Iterator[Approvals]:
    directory = make_directory()
    directory.firm_members["f1"] = attrs.evolve(
        directory.firm_members["f1"], language="fr", time_zone="Europe/Paris"
    )
    clock = ControllableClock(START)
    with connect("memory://", directory=directory, clock=clock) as app:
        yield app


def _decide(app: Approvals, portal: RecordingPortal, mailer: RecordingMailer) -> None:
    notifier = app.notifier(
        mailer=mailer,
        portal=portal,
        links=StaticLinks("https://p.example"),
        composer=EmailComposer(sender="cabinet@firm.example", firm_name="Martin"),
    )
    app.request_approval("d1", by="f1", message="Merci")
    app.reject("d1", by="c1", reasons=["Wrong year"], comment="Page 3")
    while notifier.run_once().events:
        pass


def test_inbox_notes_and_decision_emails_are_in_the_members_language(
    app: Approvals,
) -> None:
    portal, mailer = RecordingPortal(), RecordingMailer()
    _decide(app, portal, mailer)
    assert portal.inbox["f1"] == [("d1", "Claire Dupont a refusé Document 1")]
    [decision] = [m for m in mailer.sent if m["X-Approvalflow-Kind"] == "decision"]
    assert str(decision["Subject"]) == "Claire Dupont a refusé « Document 1 »"
    # Recorded at 09:00 UTC in January: 10:00 in Paris.
    assert "Date : 5 janv. 2026, 10:00:00 UTC+01:00" in _parts(decision)


def test_history_and_audit_summaries_in_french(app: Approvals) -> None:
    _decide(app, RecordingPortal(), RecordingMailer())
    entries = app.history("d1")
    lines = [entry.describe("fr") for entry in entries]
    assert "Claire Dupont a refusé : Wrong year. Commentaire : « Page 3 »" in lines
    # The account by its name in the directory, the message in the firm's words.
    assert (
        "Anna Martin a demandé à ACME d'approuver « Document 1 » (pdf). "
        "Pas de rappel automatique. Message : « Merci »"
    ) in lines
    # English stays the default, word for word.
    assert "Claire Dupont rejected: Wrong year. Comment: “Page 3”" in [
        entry.describe() for entry in entries
    ]
    rows = app.audit_trail("d1", language="fr")
    notified = [row.summary for row in rows if row.event == "Notified"]
    assert any(
        "un e-mail a été envoyé à Anna Martin à l'adresse anna@firm.example" in s
        for s in notified
    )
    assert [row.summary for row in app.audit_trail("d1")] == [
        entry.summary() for entry in entries
    ]


def test_reminder_dates_in_summaries_follow_the_readers_zone(app: Approvals) -> None:
    app.request_approval("d1", by="f1", reminders={"days_before_next": 3, "count": 1})
    app.clock.advance(timedelta(days=30))  # type: ignore[attr-defined]
    app.send_due_reminders()
    [reminded] = [e for e in app.history("d1") if e.event == "Reminded"]
    due = reminded.details["due_at"]
    at = datetime.fromisoformat(due).astimezone(UTC)
    assert at.hour == 9  # so 10:00 in Paris, in January
    # In UTC unless the reader has a zone, in the one style of the language
    # (the time stays ISO 8601 in the details, for machines).
    assert reminded.summary() == (
        "Automatic reminder 1 was sent (due Jan 8, 2026, 9:00:00\u202fAM GMT+00:00)."
    )
    french = reminded.summary("fr", "Europe/Paris")
    assert french == (
        "Le rappel automatique 1 a été envoyé (prévu le 8 janv. 2026, "
        "10:00:00 UTC+01:00)."
    )


def test_audit_exports_take_a_language_and_refuse_an_unknown_zone(
    app: Approvals,
) -> None:
    _decide(app, RecordingPortal(), RecordingMailer())
    out = io.StringIO()
    app.export_audit("d1", out, fmt="csv", language="de")
    # The event column stays the event's name, for machines; the summary reads.
    assert (
        ",Rejected,c1,Claire Dupont,client_user,"
        "Claire Dupont hat abgelehnt: Wrong year. Kommentar: „Page 3“,"
    ) in out.getvalue()
    with pytest.raises(Exception, match="an IANA time zone"):
        app.export_audit("d1", io.StringIO(), time_zone="Paris")


# -- The command line -----------------------------------------------------------


def test_history_in_french_in_paris_time(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    with connect(
        f"sqlite:///{store}",
        directory=make_directory(),
        clock=ControllableClock(datetime(2026, 7, 1, 12, 30, tzinfo=UTC)),
    ) as app:
        app.request_approval("d1", by="f1")
        app.reject("d1", by="c1", reasons=["Wrong year"])
    runner = CliRunner()
    args = ["history", "d1", "--db", str(store)]
    french = runner.invoke(
        main, [*args, "--language", "fr", "--time-zone", "Europe/Paris"]
    )
    assert french.exit_code == 0, french.output
    lines = french.output.splitlines()
    assert lines[0] == "d1: refusé"
    assert lines[-1] == (
        "1 juil. 2026, 14:30:00 UTC+02:00  Claire Dupont a refusé : Wrong year."
    )
    # By variable too, and English in UTC by default.
    by_env = runner.invoke(
        main, args, env={"APPROVALFLOW_LANGUAGE": "fr", "APPROVALFLOW_TIME_ZONE": ""}
    )
    assert by_env.output.splitlines()[0] == "d1: refusé"
    english = runner.invoke(main, args, env={"APPROVALFLOW_LANGUAGE": None})
    assert english.output.splitlines()[-1] == (
        "Jul 1, 2026, 12:30:00\u202fPM GMT+00:00  Claire Dupont rejected: Wrong year."
    )
    bad = runner.invoke(main, [*args, "--time-zone", "Paris"])
    assert bad.exit_code == 2
    assert "not an IANA time zone" in bad.output


def test_health_and_deliveries_status_in_french(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    clock = ControllableClock(START)
    with connect(
        f"sqlite:///{store}",
        directory=make_directory(),
        clock=clock,
        mailer=RecordingMailer(),
        links=StaticLinks("https://p.example"),
    ) as app:
        app.request_approval("d1", by="f1")
    runner = CliRunner()
    status = runner.invoke(
        main, ["deliveries", "status", "--db", str(store), "--language", "fr"]
    )
    assert "position 0 sur 2 événements" in status.output
    assert "en attente : 0" in status.output
    assert "refusés définitivement : 0" in status.output
    health = runner.invoke(
        main, ["health", "--db", str(store), "--language", "de", "--max-delay", "1"]
    )
    assert health.exit_code == 1
    assert health.output.startswith("PROBLEM: Zustellung hängt: 2 Ereignisse warten")
