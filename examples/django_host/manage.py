#!/usr/bin/env python
"""Django's command-line utility for the example host."""

import os
import sys

from django.core.management import execute_from_command_line


def main() -> None:
    """Run a management command (runserver, migrate, approvalflow_worker, ...)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostsite.settings")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
