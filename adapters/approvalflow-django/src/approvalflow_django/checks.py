"""System checks of the ``APPROVALFLOW`` setting (``manage.py check``).

Each problem :func:`approvalflow_django.conf.problems` finds becomes an
error with its id and a hint saying what is allowed; the ids and what each
is about are :data:`approvalflow_django.conf.CHECK_IDS` (``E001`` to
``E012``, the adapter's README has the table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks

from approvalflow_django import conf

__all__ = ["check_settings", "register"]


def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **_kwargs: Any
) -> list[checks.CheckMessage]:
    """Errors for everything wrong with ``settings.APPROVALFLOW``."""
    del app_configs  # the setting is project-wide, whichever apps are checked
    return [
        checks.Error(problem.message, hint=problem.hint, id=problem.id)
        for problem in conf.problems()
    ]


def register() -> None:
    """Register :func:`check_settings` with Django (once)."""
    checks.register(check_settings, "approvalflow")
