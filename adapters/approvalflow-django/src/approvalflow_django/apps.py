"""The Django app: its label, migration and system checks."""

from __future__ import annotations

from django.apps import AppConfig


class ApprovalflowConfig(AppConfig):
    """approvalflow's Django app.

    Its label is ``approvalflow``: the tables it creates (``approvalflow_*``)
    sit in that app's namespace of the host's database.
    """

    name = "approvalflow_django"
    label = "approvalflow"
    verbose_name = "approvalflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks of the ``APPROVALFLOW`` setting."""
        from approvalflow_django import checks  # noqa: PLC0415 - needs ready apps

        checks.register()
