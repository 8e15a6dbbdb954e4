"""approvalflow's tables: events, read models, delivery records.

They are not Django models (approvalflow reads and writes them with its own
SQL), so the migration builds approvalflow's storage on the database being
migrated and lets it create its tables. It runs wherever Django's routers
allow the ``approvalflow`` app to migrate.

Reversing it drops the tables, and with them every recorded approval: the
audit trail is the event history.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def _storage(schema_editor: BaseDatabaseSchemaEditor) -> Any:
    from approvalflow_django.db import DjangoDatabase  # noqa: PLC0415
    from approvalflow_django.storage import DjangoStorage  # noqa: PLC0415

    return DjangoStorage(DjangoDatabase(schema_editor.connection.alias))


def create_tables(_apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Create approvalflow's tables on the database being migrated."""
    _storage(schema_editor).create_tables()


def drop_tables(_apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Drop approvalflow's tables, events included."""
    _storage(schema_editor).drop_tables()


class Migration(migrations.Migration):
    """Create approvalflow's tables."""

    initial = True
    # Django reads these class attributes as they are (its own convention).
    dependencies = []  # noqa: RUF012
    operations = [  # noqa: RUF012
        migrations.RunPython(create_tables, drop_tables, elidable=False)
    ]
