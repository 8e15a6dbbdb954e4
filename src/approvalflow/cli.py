"""The ``approvalflow`` command line."""

from __future__ import annotations

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
