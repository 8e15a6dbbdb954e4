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
        "LANGUAGE": "en",  # for recipients without a language of their own
        "CLOCK": None,  # a dotted path to a Clock (class or object); default: UTC now
        "PORTAL": None,  # a dotted path to a PortalNotifications (tasks, Inbox+)
        "REMINDER_SCHEDULE": None,  # a dotted path to the firm's ReminderSchedule
    }

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

from approvalflow import ConfigurationError
from approvalflow.notifications.emails import LANGUAGES

__all__ = ["KNOWN_KEYS", "ApprovalflowSettings", "Problem", "load", "problems"]

#: Every key ``APPROVALFLOW`` may have.
KNOWN_KEYS = (
    "DATABASE",
    "DIRECTORY",
    "MODELS",
    "FROM_EMAIL",
    "FIRM_NAME",
    "PORTAL_URL",
    "FIRM_URL",
    "LANGUAGE",
    "CLOCK",
    "PORTAL",
    "REMINDER_SCHEDULE",
)
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
    reminder_schedule: str | None = None


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
        ("REMINDER_SCHEDULE", "approvalflow.E009"),
    ):
        if raw.get(key) is not None:
            found += _import_problem(key, raw[key], code)
    return found


def _url_problems(raw: Mapping[str, Any]) -> list[Problem]:
    found = []
    for key, what in (("PORTAL_URL", "portal's"), ("FIRM_URL", "firm's pages'")):
        url = raw.get(key)
        if (key == "FIRM_URL" and url is not None and not isinstance(url, str)) or (
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
        portal_url=raw["PORTAL_URL"],
        language=raw.get("LANGUAGE", "en"),
        clock=raw.get("CLOCK"),
        firm_url=raw.get("FIRM_URL"),
        portal=raw.get("PORTAL"),
        reminder_schedule=raw.get("REMINDER_SCHEDULE"),
    )


def load_object(path: str) -> Any:
    """The object at a dotted path; a class is instantiated without arguments."""
    target = import_string(path)
    return target() if isinstance(target, type) else target
