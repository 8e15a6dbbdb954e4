"""The process's ``Approvals`` application, built from Django's settings.

:func:`get_approvals` builds it on first use (never at import time), once
per process however many threads ask, and closes it when the process exits.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from typing import Any

import approvalflow
from approvalflow import Approvals, ConfigurationError, ReminderSchedule
from approvalflow.links import PortalLinks
from approvalflow.notifications.emails import EmailComposer
from approvalflow_django import conf
from approvalflow_django.directory import ModelDirectory
from approvalflow_django.mail import DjangoMailer

__all__ = ["build_approvals", "close_approvals", "get_approvals"]

_lock = threading.Lock()
_approvals: Approvals | None = None
_exit_hook = False


def build_approvals(**ports: Any) -> Approvals:
    """A new ``Approvals`` on the ``APPROVALFLOW`` settings; the caller closes it.

    ``ports`` (``directory=``, ``mailer=``, ``clock=``, ``links=``,
    ``portal=``, ``composer=``, ...) replace the ones the settings make.
    Raises :class:`~approvalflow.ConfigurationError` when the settings are
    wrong or ``manage.py migrate`` has not created approvalflow's tables.
    """
    settings = conf.load()
    wired: dict[str, Any] = {
        "directory": (
            conf.load_object(settings.directory)
            if settings.directory is not None
            else ModelDirectory(settings.models or {})
        ),
        "mailer": DjangoMailer(),
        "links": (
            conf.load_object(settings.links)
            if settings.links is not None
            else PortalLinks(
                settings.portal_url,
                firm_url=settings.firm_url,
                preferences_url=settings.preferences_url,
            )
        ),
        "composer": EmailComposer(
            sender=settings.from_email,
            firm_name=settings.firm_name,
            default_language=settings.language,
            reply_to=settings.reply_to,
            logo_url=settings.logo_url,
        ),
    }
    if settings.clock is not None:
        wired["clock"] = conf.load_object(settings.clock)
    if settings.portal is not None:
        wired["portal"] = conf.load_object(settings.portal)
    if settings.webhook is not None and "event_sink" not in ports:
        wired["event_sink"] = conf.webhook_sink(settings.webhook)
    if isinstance(settings.reminder_schedule, Mapping):
        wired["reminder_schedule"] = conf.reminder_schedule(settings.reminder_schedule)
    elif settings.reminder_schedule is not None:
        schedule = conf.load_object(settings.reminder_schedule)
        if not isinstance(schedule, ReminderSchedule):
            msg = (
                f"APPROVALFLOW['REMINDER_SCHEDULE'] is {settings.reminder_schedule!r}, "
                f"a {type(schedule).__name__}: give the dotted path of an "
                "approvalflow.ReminderSchedule, e.g. "
                "'myhost.approvals.SCHEDULE' for SCHEDULE = "
                "ReminderSchedule(time_zone='Europe/Paris', holidays='FR')"
            )
            raise ConfigurationError(msg)
        wired["reminder_schedule"] = schedule
    wired.update(ports)
    return approvalflow.connect(
        settings={
            "PERSISTENCE_MODULE": "approvalflow_django.persistence",
            "DJANGO_DATABASE": settings.database,
        },
        **wired,
    )


def get_approvals() -> Approvals:
    """The process's ``Approvals``, built from settings on first use.

    Thread-safe; the same object for every caller until
    :func:`close_approvals`. Closed when the process exits.
    """
    global _approvals, _exit_hook  # noqa: PLW0603 - the one per-process application
    found = _approvals
    if found is not None:
        return found
    with _lock:
        if _approvals is None:
            _approvals = build_approvals()
            if not _exit_hook:
                atexit.register(close_approvals)
                _exit_hook = True
        return _approvals


def close_approvals() -> None:
    """Close the process's ``Approvals``; the next :func:`get_approvals` builds anew.

    For tests that change settings, and for process exit.
    """
    global _approvals
    with _lock:
        found, _approvals = _approvals, None
    if found is not None:
        found.close()
