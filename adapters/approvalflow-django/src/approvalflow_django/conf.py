"""The ``APPROVALFLOW`` setting: read, checked, and explained when wrong.

One dict in the host's settings::

    APPROVALFLOW = {
        "DATABASE": "default",  # the Django database alias for approvalflow's tables
        "MODELS": {...},  # the host's models, for approvalflow_django.directory
        # or "DIRECTORY": "myhost.approvals.Directory",  # a Directory of the host's own
        "FROM_EMAIL": "approvals@firm.example",
        "FIRM_NAME": "Martin & Co",
        "PORTAL_URL": "https://portal.firm.example",
        "FIRM_URL": None,  # the firm's own pages: a "View document" button in emails
        "PREFERENCES_URL": None,  # the clients' email preferences page
        "LINKS": None,  # or a dotted path to the host's own Links port
        "REPLY_TO": None,  # where replies go (default: FROM_EMAIL)
        "LOGO_URL": None,  # the firm's logo at the top of emails
        "LANGUAGE": "en",  # for recipients without a language of their own
        "CLOCK": None,  # a dotted path to a Clock (class or object); default: UTC now
        "PORTAL": None,  # a dotted path to a PortalNotifications (tasks, Inbox+)
        # The firm's ReminderSchedule: a dotted path to one, or its fields
        # ({"TIME_ZONE": "Europe/Paris", "HOLIDAYS": "FR", ...}).
        "REMINDER_SCHEDULE": None,
        # Signed webhooks of every event (approvalflow-webhooks' WebhookSink).
        "WEBHOOK": None,  # {"URL": ..., "SECRET": "whsec_...", "EVENTS": [...]}
    }

The required keys are :data:`REQUIRED_KEYS` (``PORTAL_URL`` only without
``LINKS``), and exactly one of ``MODELS`` and ``DIRECTORY``; in ``MODELS``,
the entries and fields :data:`approvalflow_django.directory.FIELDS`
lists as required (every entry, and its first fields).

:func:`problems` lists everything wrong at once; the system checks
(:mod:`approvalflow_django.checks`) show them at start-up and
:func:`load` raises them as one :class:`~approvalflow.ConfigurationError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from django.conf import settings as django_settings
from django.utils.module_loading import import_string

from approvalflow import ApprovalFlowError, ConfigurationError, ReminderSchedule
from approvalflow.notifications.emails import LANGUAGES, EmailComposer

__all__ = [
    "CHECK_IDS",
    "KNOWN_KEYS",
    "REQUIRED_KEYS",
    "WEBHOOK_KEYS",
    "ApprovalflowSettings",
    "Problem",
    "load",
    "problems",
    "reminder_schedule",
    "webhook_sink",
]

#: Every key ``APPROVALFLOW`` may have.
KNOWN_KEYS = (
    "DATABASE",
    "DIRECTORY",
    "MODELS",
    "FROM_EMAIL",
    "FIRM_NAME",
    "PORTAL_URL",
    "FIRM_URL",
    "PREFERENCES_URL",
    "LINKS",
    "REPLY_TO",
    "LOGO_URL",
    "LANGUAGE",
    "CLOCK",
    "PORTAL",
    "REMINDER_SCHEDULE",
    "WEBHOOK",
)
#: The keys ``APPROVALFLOW`` must have (``PORTAL_URL`` unless ``LINKS`` is set).
REQUIRED_KEYS = ("FROM_EMAIL", "FIRM_NAME", "PORTAL_URL")
#: The keys of ``APPROVALFLOW["WEBHOOK"]`` (``URL`` and ``SECRET`` required).
WEBHOOK_KEYS = ("URL", "SECRET", "EVENTS", "TIMEOUT", "ALLOW_PRIVATE")
#: Every system check's id, and what it is about (the README's table).
CHECK_IDS = {
    "approvalflow.E001": "APPROVALFLOW is missing or not a dict",
    "approvalflow.E002": "an unknown key in APPROVALFLOW",
    "approvalflow.E003": "DATABASE is not in DATABASES, or not SQLite/PostgreSQL",
    "approvalflow.E004": "not exactly one of DIRECTORY/MODELS; DIRECTORY cannot "
    "be imported; MODELS lacks a required entry or field, or names a model or "
    "field that does not exist",
    "approvalflow.E005": "FROM_EMAIL, FIRM_NAME or PORTAL_URL missing or wrong, "
    "or FIRM_URL/PREFERENCES_URL not a web address",
    "approvalflow.E006": "LANGUAGE is not a language approvalflow ships",
    "approvalflow.E007": "CLOCK cannot be imported",
    "approvalflow.E008": "PORTAL cannot be imported",
    "approvalflow.E009": "REMINDER_SCHEDULE cannot be imported, or its fields "
    "do not make a ReminderSchedule",
    "approvalflow.E010": "LINKS cannot be imported, or is given with "
    "FIRM_URL/PREFERENCES_URL (which shape the default links)",
    "approvalflow.E011": "WEBHOOK is not a dict of URL, SECRET, EVENTS, "
    "TIMEOUT that makes a webhook sink, or approvalflow-webhooks is not installed",
    "approvalflow.E012": "REPLY_TO is not an email address, or LOGO_URL not an "
    "http(s) URL",
}
# The languages approvalflow ships catalogs for (en, fr, de, ...).
_LANGUAGES = LANGUAGES


@attrs.frozen
class Problem:
    """One thing wrong with the settings, as a system check reports it."""

    id: str
    message: str
    hint: str


@attrs.frozen
class ApprovalflowSettings:
    """The ``APPROVALFLOW`` setting, checked."""

    database: str
    directory: str | None
    models: Mapping[str, Mapping[str, str]] | None
    from_email: str
    firm_name: str
    portal_url: str
    language: str
    clock: str | None
    firm_url: str | None = None
    portal: str | None = None
    reminder_schedule: str | Mapping[str, Any] | None = None
    preferences_url: str | None = None
    links: str | None = None
    reply_to: str | None = None
    logo_url: str | None = None
    webhook: Mapping[str, Any] | None = None


def _raw() -> Any:
    return getattr(django_settings, "APPROVALFLOW", None)


def problems() -> list[Problem]:
    """Everything wrong with ``settings.APPROVALFLOW`` (empty: all is well)."""
    raw = _raw()
    if raw is None:
        return [
            Problem(
                "approvalflow.E001",
                "settings.APPROVALFLOW is missing.",
                "Add APPROVALFLOW = {'FROM_EMAIL': ..., 'FIRM_NAME': ..., "
                "'PORTAL_URL': ..., 'MODELS': {...}} to your settings "
                "(see approvalflow_django's README).",
            )
        ]
    if not isinstance(raw, Mapping):
        return [
            Problem(
                "approvalflow.E001",
                f"settings.APPROVALFLOW must be a dict, got {type(raw).__name__}.",
                "Write APPROVALFLOW = {...} with the keys "
                + ", ".join(KNOWN_KEYS)
                + ".",
            )
        ]
    found: list[Problem] = []
    unknown = sorted(str(k) for k in raw if k not in KNOWN_KEYS)
    if unknown:
        found.append(
            Problem(
                "approvalflow.E002",
                f"APPROVALFLOW has unknown keys: {', '.join(unknown)}.",
                "Known keys: " + ", ".join(KNOWN_KEYS) + ".",
            )
        )
    alias = raw.get("DATABASE", "default")
    if alias not in django_settings.DATABASES:
        found.append(
            Problem(
                "approvalflow.E003",
                f"APPROVALFLOW['DATABASE'] is {alias!r}, which is not in DATABASES.",
                "Use one of: "
                + ", ".join(repr(a) for a in django_settings.DATABASES)
                + ".",
            )
        )
    else:
        engine = str(django_settings.DATABASES[alias].get("ENGINE", ""))
        if engine.rsplit(".", 1)[-1] not in ("sqlite3", "postgresql"):
            found.append(
                Problem(
                    "approvalflow.E003",
                    f"Database {alias!r} uses {engine!r}; approvalflow runs on "
                    "SQLite and PostgreSQL.",
                    "Point APPROVALFLOW['DATABASE'] at a django.db.backends.sqlite3 "
                    "or django.db.backends.postgresql database.",
                )
            )
    found += _directory_problems(raw)
    for key, example in (
        ("FROM_EMAIL", "'approvals@firm.example'"),
        ("FIRM_NAME", "'Martin & Co'"),
        ("PORTAL_URL", "'https://portal.firm.example'"),
    ):
        if key == "PORTAL_URL" and raw.get("LINKS") is not None:
            continue  # the host's Links make every link
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            found.append(
                Problem(
                    "approvalflow.E005",
                    f"APPROVALFLOW[{key!r}] is missing or empty.",
                    f"Set it to a non-empty string, e.g. {example}.",
                )
            )
    found += _url_problems(raw)
    if raw.get("LANGUAGE", "en") not in _LANGUAGES:
        found.append(
            Problem(
                "approvalflow.E006",
                f"APPROVALFLOW['LANGUAGE'] is {raw.get('LANGUAGE')!r}.",
                "Use one of: " + ", ".join(_LANGUAGES) + ".",
            )
        )
    for key, code in (
        ("CLOCK", "approvalflow.E007"),
        ("PORTAL", "approvalflow.E008"),
        ("LINKS", "approvalflow.E010"),
    ):
        if raw.get(key) is not None:
            found += _import_problem(key, raw[key], code)
    found += _schedule_problems(raw.get("REMINDER_SCHEDULE"))
    found += _links_problems(raw)
    found += _webhook_problems(raw.get("WEBHOOK"))
    found += _email_problems(raw)
    return found


def _schedule_problems(value: object) -> list[Problem]:
    """``REMINDER_SCHEDULE``: a dotted path, or a ReminderSchedule's fields."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        try:
            reminder_schedule(value)
        except (ApprovalFlowError, TypeError, ValueError) as exc:
            fields = ", ".join(f.name.upper() for f in attrs.fields(ReminderSchedule))
            return [
                Problem(
                    "approvalflow.E009",
                    f"APPROVALFLOW['REMINDER_SCHEDULE'] does not make a "
                    f"ReminderSchedule: {exc}",
                    f"Give its fields as keys ({fields}), e.g. "
                    "{'TIME_ZONE': 'Europe/Paris', 'HOLIDAYS': 'FR'}, or the "
                    "dotted path of an approvalflow.ReminderSchedule.",
                )
            ]
        return []
    return _import_problem("REMINDER_SCHEDULE", value, "approvalflow.E009")


def reminder_schedule(fields: Mapping[str, Any]) -> ReminderSchedule:
    """The :class:`~approvalflow.ReminderSchedule` a settings dict describes.

    Keys are the schedule's own fields in capitals (``TIME_ZONE``,
    ``HOLIDAYS``, ...); the schedule checks its values itself.
    """
    known = {f.name for f in attrs.fields(ReminderSchedule)}
    unknown = sorted(str(k) for k in fields if str(k).lower() not in known)
    if unknown:
        msg = f"unknown keys {', '.join(unknown)}"
        raise ValueError(msg)
    return ReminderSchedule(**{str(k).lower(): v for k, v in fields.items()})


def _links_problems(raw: Mapping[str, Any]) -> list[Problem]:
    shaped = [k for k in ("FIRM_URL", "PREFERENCES_URL") if raw.get(k) is not None]
    if raw.get("LINKS") is None or not shaped:
        return []
    return [
        Problem(
            "approvalflow.E010",
            f"APPROVALFLOW has both 'LINKS' and {', '.join(map(repr, shaped))}.",
            "The host's LINKS make every link in emails: leave out "
            f"{' and '.join(shaped)}, or LINKS to use the portal's links.",
        )
    ]


def _webhook_problems(value: object) -> list[Problem]:
    """``WEBHOOK``: checked by making the sink (and closing it at once)."""
    if value is None:
        return []
    hint = (
        "Write {'URL': 'https://billing.example/hooks', 'SECRET': 'whsec_...', "
        "'EVENTS': ['approval.approved'] (optional), 'TIMEOUT': 10.0 (optional)}."
    )
    if not isinstance(value, Mapping):
        message = f"APPROVALFLOW['WEBHOOK'] must be a dict, got {type(value).__name__}."
        return [Problem("approvalflow.E011", message, hint)]
    unknown = sorted(str(k) for k in value if k not in WEBHOOK_KEYS)
    missing = [k for k in ("URL", "SECRET") if not value.get(k)]
    if unknown or missing:
        said = "; ".join(
            part
            for part in (
                f"unknown keys {', '.join(unknown)}" if unknown else "",
                f"missing {', '.join(missing)}" if missing else "",
            )
            if part
        )
        message = f"APPROVALFLOW['WEBHOOK']: {said}."
        return [Problem("approvalflow.E011", message, hint)]
    try:
        sink = webhook_sink(value)
    except ImportError:
        return [
            Problem(
                "approvalflow.E011",
                "APPROVALFLOW['WEBHOOK'] is set, but approvalflow-webhooks is "
                "not installed.",
                "pip install approvalflow-webhooks (or leave WEBHOOK out).",
            )
        ]
    except ApprovalFlowError as exc:  # the sink's messages never repeat the secret
        message = f"APPROVALFLOW['WEBHOOK'] is not usable: {exc}"
        return [Problem("approvalflow.E011", message, hint)]
    sink.close()
    return []


def webhook_sink(value: Mapping[str, Any]) -> Any:
    """approvalflow-webhooks' ``WebhookSink`` that ``WEBHOOK`` describes."""
    from approvalflow_webhooks import WebhookSink  # noqa: PLC0415 - optional package

    options: dict[str, Any] = {}
    if value.get("EVENTS") is not None:
        options["events"] = value["EVENTS"]
    if value.get("TIMEOUT") is not None:
        options["timeout"] = value["TIMEOUT"]
    if value.get("ALLOW_PRIVATE") is not None:
        options["allow_private"] = value["ALLOW_PRIVATE"]
    return WebhookSink(value["URL"], value["SECRET"], **options)


def _email_problems(raw: Mapping[str, Any]) -> list[Problem]:
    """``REPLY_TO`` and ``LOGO_URL``, checked as the email composer checks them."""
    extras = {k.lower(): raw[k] for k in ("REPLY_TO", "LOGO_URL") if raw.get(k)}
    if not extras:
        return []
    try:
        EmailComposer(sender="approvals@firm.example", firm_name="Firm", **extras)
    except (ApprovalFlowError, TypeError, ValueError) as exc:
        return [
            Problem(
                "approvalflow.E012",
                f"APPROVALFLOW's REPLY_TO or LOGO_URL is not usable: {exc}",
                "REPLY_TO is an address ('office@firm.example'); LOGO_URL an "
                "absolute https URL of an image.",
            )
        ]
    return []


def _url_problems(raw: Mapping[str, Any]) -> list[Problem]:
    found = []
    for key, what in (
        ("PORTAL_URL", "portal's"),
        ("FIRM_URL", "firm's pages'"),
        ("PREFERENCES_URL", "email preferences page's"),
    ):
        url = raw.get(key)
        if (key != "PORTAL_URL" and url is not None and not isinstance(url, str)) or (
            isinstance(url, str) and not url.startswith(("https://", "http://"))
        ):
            found.append(
                Problem(
                    "approvalflow.E005",
                    f"APPROVALFLOW[{key!r}] is {url!r}, not a web address.",
                    f"Give the {what} base URL, starting with https://.",
                )
            )
    return found


def _directory_problems(raw: Mapping[str, Any]) -> list[Problem]:
    directory, models = raw.get("DIRECTORY"), raw.get("MODELS")
    if (directory is None) == (models is None):
        return [
            Problem(
                "approvalflow.E004",
                "APPROVALFLOW needs exactly one of 'DIRECTORY' and 'MODELS'"
                + (", got both." if directory is not None else ", got neither."),
                "'MODELS' maps approvalflow's directory onto your models "
                "(approvalflow_django.directory.ModelDirectory); 'DIRECTORY' is a "
                "dotted path to a Directory of your own.",
            )
        ]
    if directory is not None:
        return _import_problem("DIRECTORY", directory, "approvalflow.E004")
    from approvalflow_django.directory import mapping_problems  # noqa: PLC0415

    return [
        Problem("approvalflow.E004", message, hint)
        for message, hint in mapping_problems(models)
    ]


def _import_problem(key: str, path: object, code: str) -> list[Problem]:
    if not isinstance(path, str):
        return [
            Problem(
                code,
                f"APPROVALFLOW[{key!r}] must be a dotted path, "
                f"got {type(path).__name__}.",
                "e.g. 'myhost.approvals.HostDirectory'.",
            )
        ]
    try:
        import_string(path)
    except ImportError as exc:
        return [
            Problem(
                code,
                f"APPROVALFLOW[{key!r}] is {path!r}, which cannot be imported: {exc}.",
                "Give 'package.module.Name' of a class or object that exists.",
            )
        ]
    return []


def load() -> ApprovalflowSettings:
    """The checked settings; raises ConfigurationError listing every problem."""
    found = problems()
    if found:
        msg = "settings.APPROVALFLOW is not usable: " + " ".join(
            f"[{p.id}] {p.message} {p.hint}" for p in found
        )
        raise ConfigurationError(msg)
    raw = _raw()
    return ApprovalflowSettings(
        database=str(raw.get("DATABASE", "default")),
        directory=raw.get("DIRECTORY"),
        models=raw.get("MODELS"),
        from_email=raw["FROM_EMAIL"],
        firm_name=raw["FIRM_NAME"],
        portal_url=raw.get("PORTAL_URL", ""),
        language=raw.get("LANGUAGE", "en"),
        clock=raw.get("CLOCK"),
        firm_url=raw.get("FIRM_URL"),
        portal=raw.get("PORTAL"),
        reminder_schedule=raw.get("REMINDER_SCHEDULE"),
        preferences_url=raw.get("PREFERENCES_URL"),
        links=raw.get("LINKS"),
        reply_to=raw.get("REPLY_TO"),
        logo_url=raw.get("LOGO_URL"),
        webhook=raw.get("WEBHOOK"),
    )


def load_object(path: str) -> Any:
    """The object at a dotted path; a class is instantiated without arguments."""
    target = import_string(path)
    return target() if isinstance(target, type) else target
