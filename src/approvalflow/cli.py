"""The ``approvalflow`` command line."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from approvalflow.bootstrap import connect
from approvalflow.domain.errors import ApprovalFlowError

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="approvalflow")
def main() -> None:
    """Approvals of documents by clients: demo and audit tools."""


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


@main.command()
@click.argument("document_id")
@click.option(
    "--db",
    default=None,
    help="SQLite file or store URL; default: approvalflow.sqlite3 in the "
    "working directory, or eventsourcing's environment variables.",
)
def history(document_id: str, db: str | None) -> None:
    """Print a document's status and full history, from the store alone."""
    try:
        with connect(store_url(db)) as app:
            status = app.status(document_id)
            entries = app.history(document_id)
    except ApprovalFlowError as exc:
        raise click.ClickException(str(exc)) from exc
    if not entries:
        raise click.ClickException(f"no history recorded for document {document_id!r}")
    click.echo(f"{document_id}: {status.state.value}")
    for entry in entries:
        click.echo(f"{entry.version:>4}  {entry.at.isoformat()}  {entry.describe()}")


_DB_HELP = (
    "SQLite file or store URL; default: approvalflow.sqlite3 in the working "
    "directory, or eventsourcing's environment variables."
)


@main.command()
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
def audit(document_id: str, db: str | None, fmt: str) -> None:
    """Export a document's audit trail (every event: when, who, what)."""
    try:
        with connect(store_url(db)) as app:
            written = app.export_audit(document_id, sys.stdout, fmt=fmt)
    except ApprovalFlowError as exc:
        raise click.ClickException(str(exc)) from exc
    if not written:
        raise click.ClickException(f"no history recorded for document {document_id!r}")


@main.group()
def projections() -> None:
    """Inspect and rebuild the read models (lists, reasons, audit trail)."""


@projections.command("status")
@click.option("--db", default=None, help=_DB_HELP)
def projections_status(db: str | None) -> None:
    """Show each read model's position against the head of the event log."""
    try:
        with connect(store_url(db), refresh_views_on_read=False) as app:
            positions = app.views_status()
    except ApprovalFlowError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{'view':<12} {'position':>10} {'head':>10} {'behind':>8}")
    for p in positions:
        click.echo(f"{p.view:<12} {p.position:>10} {p.head:>10} {p.behind:>8}")


@projections.command("rebuild")
@click.option("--db", default=None, help=_DB_HELP)
def projections_rebuild(db: str | None) -> None:
    """Replay every event into fresh read models, then switch to them.

    Readers keep using the old read models until the switch.
    """
    try:
        with connect(store_url(db), refresh_views_on_read=False) as app:
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
    except ApprovalFlowError as exc:
        raise click.ClickException(str(exc)) from exc
    rate = total / elapsed if elapsed > 0 else float(total)
    click.echo(
        f"Rebuilt the read models from {total} events in {elapsed:.2f} s "
        f"({rate:,.0f} events/s)."
    )
