"""The ``firm`` app."""

from django.apps import AppConfig


class FirmConfig(AppConfig):
    """Staff, client accounts and users, documents."""

    name = "firm"
    default_auto_field = "django.db.models.BigAutoField"
