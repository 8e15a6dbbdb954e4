"""``manage.py approvalflow ...``: the operator commands on the Django-hosted store.

The very commands of the ``approvalflow`` command line (``health``, ``audit
verify``, ``projections status``, ``deliveries status``, ...), with the same
options, output and exit codes, on the store the ``APPROVALFLOW`` setting
describes, opened through :func:`approvalflow_django.build_approvals` (the
host's database and transaction settings, its directory, its email
backend). Only ``--db`` is gone: the settings say where the store is.

Not offered: ``demo`` (it records a story of its own), ``worker``
(``manage.py approvalflow_worker`` is the worker on Django) and ``backup``
(a Django-hosted store is backed up with the host's database, by the
database's own tools). A command the command line gains later is offered
only once it is added to :data:`OFFERED`, after checking it opens its store
through ``--db`` alone: a test fails until each is in one list or the other.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from argparse import REMAINDER, ArgumentParser
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO, cast

import click
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from approvalflow import Approvals
from approvalflow.cli import StoreOpener, main
from approvalflow_django.runtime import build_approvals

__all__ = [
    "NOT_OFFERED",
    "OFFERED",
    "Command",
    "DjangoStoreOpener",
    "django_commands",
]

#: The command line's commands offered here, on the Django-hosted store.
OFFERED = ("audit", "deliveries", "health", "history", "projections", "reminders")
#: The command line's commands that make no sense on a Django-hosted store.
NOT_OFFERED = ("backup", "demo", "worker")


class DjangoStoreOpener(StoreOpener):
    """Opens the store ``settings.APPROVALFLOW`` describes, for the CLI's commands."""

    @contextlib.contextmanager
    def open(self, **options: Any) -> Iterator[Approvals]:
        """``build_approvals()`` with the command's options (read-only, ...)."""
        # Reading and repairing the store publishes nothing: no webhook sink.
        with build_approvals(event_sink=None, **options) as app:
            yield app


def _without_db(command: click.Command) -> click.Command:
    """A copy of ``command`` (and its subcommands) without ``--db``.

    The callbacks are the command line's own, given ``db=None``; the
    :class:`DjangoStoreOpener` then decides where the store is.
    """
    found = copy.copy(command)
    if isinstance(command, click.Group):
        assert isinstance(found, click.Group)
        found.commands = {
            name: _without_db(sub) for name, sub in command.commands.items()
        }
    kept = [p for p in command.params if p.name != "db"]
    if len(kept) != len(command.params) and command.callback is not None:
        found.params = [*kept, _refused_db()]
        found.callback = functools.partial(command.callback, db=None)
    return found


def _refuse_db(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    del ctx, param
    if value is not None:
        msg = (
            "--db does not apply here: the store is the one settings.APPROVALFLOW "
            "names (its DATABASE); the plain approvalflow command line takes --db "
            "for a store of its own"
        )
        raise click.UsageError(msg)


def _refused_db() -> click.Option:
    """A hidden ``--db`` that says why it is not taken (no variable is read)."""
    return click.Option(["--db"], hidden=True, expose_value=False, callback=_refuse_db)


@functools.cache
def django_commands() -> click.Group:
    """The command line's group as ``manage.py approvalflow`` offers it."""
    return click.Group(
        name="approvalflow",
        commands={
            name: _without_db(command)
            for name, command in main.commands.items()
            if name in OFFERED
        },
        context_settings={"help_option_names": ["-h", "--help"]},
        help="approvalflow's operator commands on this project's store "
        "(settings.APPROVALFLOW): health, audit, projections, deliveries, "
        "reminders, history. The worker is manage.py approvalflow_worker.",
    )


def _stream(wrapper: OutputWrapper) -> TextIO:
    """The stream under Django's wrapper, which would end each write with a newline."""
    return cast("TextIO", getattr(wrapper, "_out", wrapper))


class Command(BaseCommand):
    """Run one of approvalflow's operator commands on the Django-hosted store."""

    help = (
        "approvalflow's operator commands (health, audit verify, projections, "
        "deliveries, ...) on the store settings.APPROVALFLOW describes; "
        "'manage.py approvalflow --help' lists them."
    )
    # The commands read the store only after conf.load() has checked the
    # settings; Django's checks of unrelated apps must not stop an operator.
    requires_system_checks: list[str] = []  # noqa: RUF012 - Django's own attribute

    def run_from_argv(self, argv: list[str]) -> None:
        """Hand everything after ``approvalflow`` to the command line's group.

        click parses the options and sets the exit code (0, 1 for what needs
        someone or an error it explains, 2 for a usage error).
        """
        prog = f"{Path(argv[0]).name} {argv[1]}"
        django_commands().main(args=argv[2:], prog_name=prog, obj=DjangoStoreOpener())

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Everything is the command line's: a command and its options."""
        parser.add_argument("args", nargs=REMAINDER, help="e.g. health --json")

    def handle(self, *args: Any, **options: Any) -> None:
        """For ``call_command("approvalflow", "health", ...)``.

        The output goes to the command's ``stdout``; an error approvalflow
        explains, a usage error and something that needs someone are a
        :class:`CommandError` with the command line's exit code (1, 2, 1).
        """
        del options
        with (
            contextlib.redirect_stdout(_stream(self.stdout)),
            contextlib.redirect_stderr(_stream(self.stderr)),
        ):
            try:
                django_commands().main(
                    args=list(args),
                    prog_name="manage.py approvalflow",
                    obj=DjangoStoreOpener(),
                    standalone_mode=False,
                )
            except click.ClickException as exc:
                raise CommandError(
                    exc.format_message(), returncode=exc.exit_code
                ) from exc
            except SystemExit as exc:
                # The commands exit 1 when something needs someone (health,
                # the status commands); 0 means done.
                if exc.code not in (0, None):
                    code = exc.code if isinstance(exc.code, int) else 1
                    msg = "something needs someone: see the lines above"
                    raise CommandError(msg, returncode=code) from exc
