"""The adapter's README says what the code does: checks, tables, MODELS, commands.

A check id, table or ``MODELS`` field added to the code and not to the
README (or the other way round) fails here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from approvalflow_django import conf
from approvalflow_django.directory import FIELDS
from approvalflow_django.management.commands.approvalflow import django_commands
from approvalflow_django.persistence import EVENTS_TABLE
from approvalflow_django.storage import CHAIN_TABLES, DELIVERY_TABLES, READ_MODEL_TABLES
from django.db import connection

README = Path(__file__).resolve().parents[1] / "README.md"
HOW_TO = Path(__file__).resolve().parents[3] / "docs" / "how-to" / "django.md"
CONF = Path(conf.__file__)


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_checks_table_lists_every_id_the_settings_can_raise() -> None:
    rows = re.findall(
        r"^\| `(approvalflow\.E\d{3})` \| (.+) \|$", _section("Checks"), re.M
    )
    assert [code for code, _ in rows] == sorted(conf.CHECK_IDS)
    # The ids the checking code raises are those of the table: no more, no fewer.
    raised = set(re.findall(r'"(approvalflow\.E\d{3})"', CONF.read_text()))
    assert raised == set(conf.CHECK_IDS)


@pytest.mark.usefixtures("database")
def test_the_tables_listed_are_the_tables_migrate_creates() -> None:
    listed = set(
        re.findall(r"`(approvalflow_[a-z_]+)`", _section("How it fits Django"))
    )
    code = {EVENTS_TABLE, *READ_MODEL_TABLES, *CHAIN_TABLES, *DELIVERY_TABLES}
    assert listed == code
    made = {
        name
        for name in connection.introspection.table_names()
        if name.startswith("approvalflow_")
    }
    assert made == code


def test_the_models_table_lists_every_entry_and_its_fields() -> None:
    rows = re.findall(
        r"^\| `([a-z_]+)` \|([^|]*)\|([^|]*)\|$", _section("Install"), re.M
    )
    listed = {
        entry: (
            tuple(re.findall(r"`([a-z_]+)`", required)),
            tuple(re.findall(r"`([a-z_]+)`", optional)),
        )
        for entry, required, optional in rows
    }
    assert listed == FIELDS


def _manage_lines() -> list[str]:
    lines = []
    for page in (README, HOW_TO):
        for text in page.read_text(encoding="utf-8").splitlines():
            line = text.split(" #", 1)[0].strip()
            if line.startswith("python manage.py approvalflow "):
                lines.append(line)
    return lines


def test_every_documented_manage_py_approvalflow_line_runs_a_real_command() -> None:
    lines = _manage_lines()
    assert len(lines) >= 5
    for line in lines:
        words = shlex.split(line)[3:]
        command: click.Command = django_commands()
        while (
            words and isinstance(command, click.Group) and not words[0].startswith("-")
        ):
            with click.Context(command) as ctx:
                _, found, _ = command.resolve_command(ctx, words)
            assert found is not None, line
            command = found
            words.pop(0)
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        for word in words:
            if word.startswith("-"):
                assert word.split("=")[0] in options | {"--help", "-h"}, line
