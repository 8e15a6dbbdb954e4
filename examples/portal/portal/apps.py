"""The portal's Django app."""

from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The firm's and its clients' pages."""

    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"
