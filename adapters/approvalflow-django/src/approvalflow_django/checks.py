"""System checks of the ``APPROVALFLOW`` setting (``manage.py check``).

Each problem :func:`approvalflow_django.conf.problems` finds becomes an
error with its id (``approvalflow.E001``: the setting is missing, ``E002``:
unknown keys, ``E003``: the database alias, ``E004``: the directory,
``E005``: sender, firm name, portal or firm URL, ``E006``: the language,
``E007``: the clock, ``E008``: the portal port, ``E009``: the reminder
schedule) and a hint saying what is allowed.
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
