"""The ``approvalflow`` command line."""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import math
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from approvalflow.application import Approvals
from approvalflow.bootstrap import connect
from approvalflow.domain.errors import ApprovalFlowError

__all__ = ["main"]

_DB_HELP = (
    "SQLite file or store URL; default: approvalflow.sqlite3 in the working "
    "directory, or eventsourcing's environment variables."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="approvalflow")
def main() -> None:
    """Approvals of documents by clients: demo and audit tools."""


@contextmanager
def _store(db: str | None, **options: Any) -> Iterator[Approvals]:
    """The store ``--db`` names; approvalflow's errors become clean CLI errors.

    Commands that only read pass ``read_only=True``: they never create a
    store, write to one or take its write lock, and open read-only copies.
    The others pass ``create=False``: a mistyped path is an error, not a new
    store. Only ``demo`` and ``worker`` create one.
    """
    try:
        with connect(store_url(db), **options) as app:
            yield app
    except ApprovalFlowError as exc:
        raise click.ClickException(str(exc)) from exc


def store_url(db: str | None) -> str | None:
    """A ``--db`` value as a store URL: a plain path means an SQLite file."""
    if db is None or "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


@main.command()
@click.option(
    "--db",
    default="approvalflow-demo.sqlite3",
    show_default=True,
    help="SQLite file (or store URL) to record the story in, or replay it from.",
)
def demo(db: str) -> None:
    """Run the help-centre story end to end; run again to replay it."""
    from approvalflow.demo import run_demo  # noqa: PLC0415 - only this command needs it

    url = store_url(db)
    assert url is not None
    try:
        run_demo(url, click.echo)
    except ApprovalFlowError as exc:
        raise click.ClickException(str(exc)) from exc


# Terminal control: C0/C1 controls (ESC starts colour, cursor and title
# sequences), and bidi controls that reorder what a reader sees.
_TERMINAL_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def say(text: str) -> None:
    """Print a line meant for people, with terminal controls made visible.

    Stored names and texts were checked when recorded, but a store from an
    older release or edited by hand may hold anything: a name must never
    move the cursor, recolour the screen or retitle the window.
    """
    click.echo(_TERMINAL_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


@main.command()
@click.argument("document_id")
@click.option("--db", default=None, help=_DB_HELP)
def history(document_id: str, db: str | None) -> None:
    """Print a document's status and full history, from the store alone."""
    with _store(db, read_only=True) as app:
        status = app.status(document_id)
        entries = app.history(document_id)
    if not entries:
        raise click.ClickException(f"no history recorded for document {document_id!r}")
    say(f"{document_id}: {status.state.value}")
    for entry in entries:
        say(f"{entry.version:>4}  {entry.at.isoformat()}  {entry.describe()}")


class _AuditGroup(click.Group):
    """``audit DOCUMENT_ID`` still exports a trail; ``audit verify|export`` too."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "trail", self.commands["trail"], args
        return super().resolve_command(ctx, args)


@main.group(cls=_AuditGroup)
def audit() -> None:
    """A document's audit trail, and the tamper-evident chain of every event.

    `audit DOCUMENT_ID` (or `audit trail DOCUMENT_ID`) exports one
    document's trail; `audit verify` checks every stored event against the
    hashes recorded with it; `audit export` writes a bundle anyone can check
    without the database.
    """


@audit.command("trail")
@click.argument("document_id")
@click.option("--db", default=None, help=_DB_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="JSON Lines (one event per line) or CSV.",
)
def audit_trail(document_id: str, db: str | None, fmt: str) -> None:
    """Export a document's audit trail (every event: when, who, what)."""
    with _store(db, read_only=True) as app:
        written = app.export_audit(document_id, sys.stdout, fmt=fmt)
    if not written:
        raise click.ClickException(f"no history recorded for document {document_id!r}")


@audit.command("verify")
@click.option("--db", default=None, help=_DB_HELP)
@click.option(
    "--bundle",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Check an exported bundle instead of a store (no database needed).",
)
@click.option(
    "--head",
    default=None,
    help="The chain's head kept elsewhere (from an earlier verify or export).",
)
def audit_verify_command(db: str | None, bundle: str | None, head: str | None) -> None:
    """Check every event against the hashes recorded with it.

    Exits 0 when the history verifies, 1 when something was modified,
    deleted, inserted, reordered or given another topic (each is listed).
    """
    from approvalflow.audit_verify import verify_bundle  # noqa: PLC0415

    if bundle is not None:
        try:
            with Path(bundle).open(encoding="utf-8") as handle:
                report = verify_bundle(json.load(handle), head)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            msg = f"cannot read {bundle!r} as an audit bundle: {exc}"
            raise click.ClickException(msg) from exc
        documents: dict[str, str | None] = {}
    else:
        with _store(db, read_only=True, refresh_views_on_read=False) as app:
            report = app.verify_audit(head)
            documents = {
                f.originator_id: app.document_of(f.originator_id)
                for f in report.findings
            }
    for line in report.lines(documents):
        say(line)
    if not report.ok:
        sys.exit(1)


@audit.command("export")
@click.option("--db", default=None, help=_DB_HELP)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="The bundle file to write (JSON).",
)
def audit_export(db: str | None, out: str) -> None:
    """Write every event and its hashes to a bundle anyone can verify offline.

    Check it with `approvalflow audit verify --bundle FILE`, or with the
    standard-library module approvalflow/audit_verify.py alone.
    """
    with (
        _store(db, read_only=True, refresh_views_on_read=False) as app,
        Path(out).open("w", encoding="utf-8") as handle,
    ):
        count = app.export_audit_bundle(handle)
    click.echo(f"{count} event(s) written to {out}")


@main.group()
def projections() -> None:
    """Inspect and rebuild the read models (lists, pending counts, reasons)."""


@projections.command("status")
@click.option("--db", default=None, help=_DB_HELP)
def projections_status(db: str | None) -> None:
    """Show each read model's position against the head of the event log."""
    with _store(db, read_only=True, refresh_views_on_read=False) as app:
        positions = app.views_status()
    click.echo(f"{'view':<12} {'position':>10} {'head':>10} {'behind':>8}")
    for p in positions:
        click.echo(f"{p.view:<12} {p.position:>10} {p.head:>10} {p.behind:>8}")


@projections.command("rebuild")
@click.option("--db", default=None, help=_DB_HELP)
def projections_rebuild(db: str | None) -> None:
    """Replay every event into fresh read models, then switch to them.

    Readers keep using the old read models until the switch.
    """
    with _store(db, create=False, refresh_views_on_read=False) as app:
        head = app.recorder.max_notification_id() or 0
        started = time.perf_counter()
        with click.progressbar(
            length=head, label="Replaying events", show_pos=True
        ) as bar:
            done = 0

            def progress(count: int) -> None:
                nonlocal done
                bar.update(count - done)
                done = count

            total = app.rebuild_views(progress)
        elapsed = time.perf_counter() - started
    rate = total / elapsed if elapsed > 0 else float(total)
    click.echo(
        f"Rebuilt the read models from {total} events in {elapsed:.2f} s "
        f"({rate:,.0f} events/s)."
    )


def _seconds(name: str, value: float, *, low: float, high: float) -> float:
    """A duration option: a finite number of seconds within its bounds."""
    # click's FloatRange lets "nan" through (it is neither below nor above).
    if not math.isfinite(value) or not low <= value <= high:
        msg = f"{name} must be a number of seconds from {low} to {high}, got {value}"
        raise click.BadParameter(msg)
    return value


def load_object(spec: str) -> Any:
    """The object named ``module:attribute``; a callable is called with no arguments."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        msg = f"{spec!r} is not of the form package.module:attribute"
        raise click.BadParameter(msg)
    try:
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        msg = f"cannot load {spec!r}: {exc}"
        raise click.BadParameter(msg) from exc
    # A class or a function makes the object; anything else is the object
    # (a class has its methods as attributes, so "has document()" cannot
    # tell a Directory class from a Directory).
    if not (inspect.isclass(found) or inspect.isroutine(found)):
        return found
    try:
        return found()
    except Exception as exc:
        msg = (
            f"calling {spec!r} to make the object failed ({type(exc).__name__}: "
            f"{exc}); name an object, or a class or function taking no arguments"
        )
        raise click.BadParameter(msg) from exc


@main.group()
def reminders() -> None:
    """Automatic reminders (F6)."""


@reminders.command("run")
@click.option("--db", default=None, help=_DB_HELP)
def reminders_run(db: str | None) -> None:
    """Record every reminder due now, once (for cron)."""
    with _store(db, create=False) as app:
        sent = app.send_due_reminders()
    click.echo(
        f"{len(sent)} reminder(s) recorded" + (": " + ", ".join(sent) if sent else ".")
    )


@main.group()
def deliveries() -> None:
    """Emails, portal tasks and Inbox+ notes sent from the event log."""


@deliveries.command("status")
@click.option("--db", default=None, help=_DB_HELP)
def deliveries_status(db: str | None) -> None:
    """Show the delivery backlog: position, waiting and refused messages."""
    with _store(db, read_only=True, refresh_views_on_read=False) as app:
        backlog = app.delivery_backlog()
    say(f"position {backlog.position} of {backlog.head} events")
    holder = backlog.lease_holder or "nobody"
    until = (
        f" until {backlog.lease_until:%Y-%m-%d %H:%M:%S} UTC"
        if backlog.lease_until
        else ""
    )
    say(f"lease held by {holder}{until}")
    say(f"waiting: {len(backlog.waiting)}")
    for d in backlog.waiting:
        where = f"#{d.notification_id}.{d.seq} {d.channel} {d.kind} to {d.address}"
        retry = (
            f", next try {d.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
            if d.next_attempt_at
            else ""
        )
        error = f" - {d.last_error}" if d.last_error else ""
        say(f"  {where}: {d.attempts} attempt(s){retry}{error}")
    say(f"refused for good: {len(backlog.refused)}")
    for d in backlog.refused:
        where = f"#{d.notification_id}.{d.seq} {d.channel} {d.kind} to {d.address}"
        say(f"  {where}: {d.last_error}")


_F = TypeVar("_F", bound=Callable[..., Any])


@deliveries.command("retry")
@click.option("--db", default=None, help=_DB_HELP)
@click.option(
    "--event",
    "notification_id",
    type=click.IntRange(min=1),
    default=None,
    help="Only this event's deliveries (the #N in deliveries status).",
)
def deliveries_retry(db: str | None, notification_id: int | None) -> None:
    """Try deliveries refused for good again, once their cause is fixed.

    The worker sends each to the recipient's current address on its next
    pass, without holding other mail.
    """
    with _store(db, create=False, refresh_views_on_read=False) as app:
        count = app.retry_deliveries(notification_id)
    click.echo(f"{count} refused deliveries will be tried again by the worker.")


@deliveries.command("skip-to-head")
@click.option("--db", default=None, help=_DB_HELP)
def deliveries_skip(db: str | None) -> None:
    """Treat every event recorded so far as delivered (switching deliveries on).

    Use it once on a store that existed before deliveries were switched on,
    so the first worker does not send its whole history.
    """
    with _store(db, create=False, refresh_views_on_read=False) as app:
        skipped = app.skip_deliveries()
    click.echo(f"{skipped} event(s) marked as delivered; new events will be delivered.")


def _option(*names: str, env: str, **kwargs: Any) -> Callable[[_F], _F]:
    """A click option that can also be set by ``APPROVALFLOW_<env>``."""
    return click.option(
        *names, envvar=f"APPROVALFLOW_{env}", show_envvar=True, **kwargs
    )


@main.command()
@click.option("--db", default=None, help=_DB_HELP)
@_option(
    "--directory",
    "directory_spec",
    env="DIRECTORY",
    required=True,
    help="The host's Directory as package.module:attribute (an object, or a "
    "callable making one).",
)
@_option(
    "--links",
    "links_spec",
    env="LINKS",
    help="The host's Links as package.module:attribute; default: links under "
    "--portal-url.",
)
@_option(
    "--portal",
    "portal_spec",
    env="PORTAL",
    help="The host's PortalNotifications as package.module:attribute (without "
    "one, portal tasks and Inbox+ notes are not sent).",
)
@_option("--portal-url", env="PORTAL_URL", default="https://portal.example.com")
@_option("--smtp-host", env="SMTP_HOST", help="SMTP server; or use --mail-dir.")
@_option("--smtp-port", env="SMTP_PORT", type=int, default=587, show_default=True)
@_option(
    "--smtp-security",
    env="SMTP_SECURITY",
    type=click.Choice(["starttls", "tls", "none"]),
    default="starttls",
    show_default=True,
)
@_option("--smtp-user", env="SMTP_USER")
@_option("--smtp-password", env="SMTP_PASSWORD", help="Best given in the variable.")
@_option(
    "--smtp-timeout",
    env="SMTP_TIMEOUT",
    type=float,
    default=30.0,
    callback=lambda _c, _p, v: _seconds("--smtp-timeout", v, low=0.1, high=600),
)
@_option(
    "--mail-dir",
    env="MAIL_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write .eml files here instead of using SMTP.",
)
@_option("--sender", env="SENDER", required=True, help="The From address.")
@_option("--firm-name", env="FIRM_NAME", required=True, help="How emails sign.")
@_option(
    "--language",
    env="LANGUAGE",
    type=click.Choice(["en", "fr"]),
    default="en",
    show_default=True,
    help="For recipients without a language of their own.",
)
@click.option(
    "--interval",
    type=float,
    default=5.0,
    show_default=True,
    callback=lambda _c, _p, v: _seconds("--interval", v, low=0.01, high=3600),
    help="Seconds between passes when idle (0.01 to 3600).",
)
@click.option("--once", is_flag=True, help="One pass, then exit.")
def worker(**options: Any) -> None:
    """Send due reminders and deliver notifications until stopped.

    SIGTERM or Ctrl-C stops it after the message in hand; nothing is lost:
    the next start carries on from the recorded position.
    """
    from approvalflow.worker import Worker  # noqa: PLC0415 - only this command needs it

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        ports = _worker_ports(options)
        with connect(store_url(options["db"]), **ports) as app:
            runner = Worker(app, app.notifier(), interval=options["interval"])
            if options["once"]:
                done = runner.run_once()
                runner.stop()
                d = done.deliveries
                waiting = ", waiting to retry" if d.blocked else ""
                if d.leased_elsewhere:
                    waiting = "; another worker holds the delivery lease"
                reminded = len(done.reminders)
                click.echo(
                    f"{reminded} reminder(s); {d.events} event(s) delivered, "
                    f"{d.sent} sent, {d.refused} refused{waiting}"
                )
                return
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: runner.stop())
            click.echo("worker started", err=True)
            runner.run()
            click.echo("worker stopped", err=True)
    except ApprovalFlowError as exc:
        raise click.ClickException(str(exc)) from exc


def _worker_ports(options: dict[str, Any]) -> dict[str, Any]:
    from approvalflow.bootstrap import SMTPSettings, delivery_ports  # noqa: PLC0415

    if (options["smtp_host"] is None) == (options["mail_dir"] is None):
        raise click.UsageError("give exactly one of --smtp-host and --mail-dir")
    smtp = (
        None
        if options["smtp_host"] is None
        else SMTPSettings(
            options["smtp_host"],
            options["smtp_port"],
            security=options["smtp_security"],
            username=options["smtp_user"],
            password=options["smtp_password"],
            timeout=options["smtp_timeout"],
        )
    )
    return {
        **delivery_ports(
            smtp=smtp,
            mail_dir=options["mail_dir"],
            sender=options["sender"],
            firm_name=options["firm_name"],
            language=options["language"],
            portal_url=options["portal_url"],
            links=load_object(options["links_spec"]) if options["links_spec"] else None,
        ),
        "directory": load_object(options["directory_spec"]),
        "portal": load_object(options["portal_spec"])
        if options["portal_spec"]
        else None,
    }


if __name__ == "__main__":
    main()
