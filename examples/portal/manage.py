#!/usr/bin/env python
"""The example portal's ``manage.py``: ``python manage.py portal`` starts it all."""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run a Django management command on the portal's settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portalsite.settings")
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
