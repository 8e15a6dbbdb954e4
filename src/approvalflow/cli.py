"""The ``approvalflow`` command line (also ``python -m approvalflow``).

Every option can also be set by an environment variable: ``APPROVALFLOW_``
and the option's long name in capitals, dashes as underscores (``--db`` is
``APPROVALFLOW_DB``, ``--smtp-host`` is ``APPROVALFLOW_SMTP_HOST``); a test
checks every option follows that one scheme. The one exception is the
demo's ``--db``, ``APPROVALFLOW_DEMO_DB``, so that the demo never writes its
story into the store ``APPROVALFLOW_DB`` names.

Exit codes: 0 done (or healthy); 1 an error approvalflow explains (a store
that cannot be opened, bad input), or, for ``health`` and the status
commands, something that needs someone; 2 a usage error (a missing or bad
option).
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import pkgutil
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import click
from babel import numbers as babel_numbers

from approvalflow import i18n
from approvalflow._health import HealthReport, backlog_record
from approvalflow._observe import JsonFormatter, TextFormatter
from approvalflow._outputs import open_output, store_files
from approvalflow.application import Approvals
from approvalflow.bootstrap import DEFAULT_SQLITE_FILE, connect
from approvalflow.domain.errors import ApprovalFlowError, StoreNotFoundError
from approvalflow.i18n import N_
from approvalflow.notifications.outbox import DeliveriesToSkip

__all__ = ["DEMO_DB_VARIABLE", "ENV_PREFIX", "StoreOpener", "main"]

#: Every option's environment variable is this and its long name.
ENV_PREFIX = "APPROVALFLOW_"
#: The one exception: the demo's store, kept apart from APPROVALFLOW_DB.
DEMO_DB_VARIABLE = "APPROVALFLOW_DEMO_DB"

_F = TypeVar("_F", bound=Callable[..., Any])


def _option(*names: str, **kwargs: Any) -> Callable[[_F], _F]:
    """A click option also set by ``APPROVALFLOW_<LONG_NAME>``."""
    long = next(n for n in names if n.startswith("--")).split("/")[0]
    env = ENV_PREFIX + long[2:].upper().replace("-", "_")
    return click.option(*names, envvar=env, show_envvar=True, **kwargs)


_db_option = _option(
    "--db",
    default=None,
    help=f"SQLite file or store URL (postgresql://...); default: "
    f"{DEFAULT_SQLITE_FILE} in the working directory.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="approvalflow")
def main() -> None:
    """approvalflow: the worker, health checks, audit tools and a demo.

    Every option can also be set by APPROVALFLOW_<OPTION>, e.g.
    APPROVALFLOW_DB for --db; every variable is listed at
    https://approvalflow.readthedocs.io/en/latest/reference/settings.html
    """


@contextmanager
def _store(db: str | None, **options: Any) -> Iterator[Approvals]:
    """The store ``--db`` names; approvalflow's errors become clean CLI errors.

    Commands that only read pass ``read_only=True``: they never create a
    store, write to one or take its write lock, and open read-only copies.
    The others pass ``create=False``: a mistyped path is an error, not a new
    store. Only ``demo``, and ``worker`` given ``--create``, create one.
    """
    ctx = click.get_current_context(silent=True)
    opener = ctx.find_object(StoreOpener) if ctx is not None else None
    url = store_url(db) if opener is None else None
    try:
        with (
            connect(url, **options) if opener is None else opener.open(**options)
        ) as app:
            yield app
    except ApprovalFlowError as exc:
        raise click.ClickException(str(exc)) from exc


class StoreOpener:
    """Opens the commands' store where a host, not ``--db``, says it is.

    Given as click's ``obj`` (``main.main(obj=opener)``), every command that
    opens a store calls :meth:`open` instead of reading ``--db``: the Django
    adapter's ``manage.py approvalflow`` runs these very commands on the
    store its settings describe.
    """

    def open(self, **options: Any) -> AbstractContextManager[Approvals]:
        """The store, opened with ``connect()``'s keyword ``options``."""
        # A base for adapters (the Django adapter's opener overrides it);
        # the command line itself never makes one.
        raise NotImplementedError


def store_url(db: str | None) -> str:
    """A ``--db`` value as a store URL: a plain path means an SQLite file.

    Without one, the SQLite file in the working directory. The command line
    reads its settings from ``APPROVALFLOW_*`` variables only: one left in
    eventsourcing's own scheme is refused rather than silently ignored (a
    worker would otherwise start a new, empty store).
    """
    if db is None:
        if os.environ.get("PERSISTENCE_MODULE"):
            msg = (
                "PERSISTENCE_MODULE is set, but the command line takes its store "
                "from --db or APPROVALFLOW_DB only: set APPROVALFLOW_DB to the "
                "store's URL (e.g. postgresql://user:password@host:5432/db) or "
                "file, and unset eventsourcing's variables"
            )
            raise click.UsageError(msg)
        db = DEFAULT_SQLITE_FILE
    if "://" in db:
        return db
    # Quoted: a file name with '#', '?' or '%' is a path, not a URL's parts.
    return f"sqlite:///{quote(str(Path(db).expanduser().resolve()))}"


@main.command()
@click.option(
    "--db",
    default="approvalflow-demo.sqlite3",
    show_default=True,
    # Not APPROVALFLOW_DB: that names the real store, which must never
    # receive the demo's story.
    envvar=DEMO_DB_VARIABLE,
    show_envvar=True,
    help="SQLite file (or store URL) to record the story in, or replay it from.",
)
def demo(db: str) -> None:
    """Run the help-centre story end to end; run again to replay it."""
    from approvalflow.demo import run_demo  # noqa: PLC0415 - only this command needs it

    url = store_url(db)
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


#: The one meaning of --language / APPROVALFLOW_LANGUAGE everywhere.
_language_option = _option(
    "--language",
    type=click.Choice(i18n.languages()),
    default=i18n.DEFAULT_LANGUAGE,
    show_default=True,
    help="The language of text meant for people whose own language is not "
    "known: this command's report, and emails to recipients without one.",
)


def _check_zone(
    _ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    if value is None:
        return None
    try:
        i18n.time_zone(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from exc
    return value


_time_zone_option = _option(
    "--time-zone",
    default=None,
    callback=_check_zone,
    help="The IANA time zone times meant for people are shown in (e.g. "
    "Europe/Paris), with its offset; default UTC (audit exports: the at "
    "column stays ISO 8601 UTC).",
)

#: A document's states as people read them (the msgids are the states).
_STATES = {
    "not_requested": N_("approval not requested"),
    "cancelled": N_("request cancelled"),
    "pending_approval": N_("pending_approval"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
}


@main.command()
@click.argument("document_id")
@_db_option
@_language_option
@_time_zone_option
def history(
    document_id: str, db: str | None, language: str, time_zone: str | None
) -> None:
    """Print a document's status and full history, from the store alone."""
    w = i18n.words(language, time_zone)
    with _store(db, read_only=True) as app:
        status = app.status(document_id)
        entries = app.history(document_id)
    if not entries:
        raise click.ClickException(
            w.gettext(
                "no history recorded for document %(document)s",
                document=repr(document_id),
            )
        )
    state = status.state.value
    if state == "none":
        # No request open: say why, as a person would (never "none").
        state = "cancelled" if status.closed_at is not None else "not_requested"
    say(f"{document_id}: {w.gettext(_STATES[state]) if state in _STATES else state}")
    local = status.next_reminder_local
    if local is not None:
        # In the schedule's own zone: reminders fall due in its hours.
        zone = str(status.reminder_time_zone or "UTC")
        when = i18n.words(language, zone).time(local)
        say(w.gettext("next reminder: %(when)s (%(zone)s)", when=when, zone=zone))
    for entry in entries:
        say(f"{w.time(entry.at)}  {entry.describe(language, time_zone)}")


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
    document's trail; `audit log` the firm's, or an account's, by dates;
    `audit verify` checks every stored event against the
    hashes recorded with it; `audit export` writes a bundle anyone can check
    without the database.
    """


_format_option = _option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="JSON Lines (one event per line) or CSV.",
)
_bom_option = _option(
    "--bom",
    is_flag=True,
    help="CSV: start with a byte-order mark, so Excel reads accents right.",
)
_delimiter_option = _option(
    "--delimiter",
    type=click.Choice([",", ";"]),
    default=",",
    show_default=True,
    help="CSV: ';' for spreadsheets whose decimal mark is a comma (French Excel).",
)


@audit.command("trail")
@click.argument("document_id")
@_db_option
@_format_option
@_bom_option
@_delimiter_option
@_language_option
@_time_zone_option
def audit_trail(  # noqa: PLR0917 - click passes each option by name
    document_id: str,
    db: str | None,
    fmt: str,
    bom: bool,
    delimiter: str,
    language: str,
    time_zone: str | None,
) -> None:
    """Export a document's audit trail (every event: when, who, what).

    The summary column is in --language, with its times in --time-zone; the
    at column stays ISO 8601 UTC, for machines.
    """
    w = i18n.words(language, time_zone)
    with _store(db, read_only=True) as app:
        try:
            written = app.export_audit(
                document_id,
                sys.stdout,
                fmt=fmt,
                bom=bom,
                delimiter=delimiter,
                language=language,
                time_zone=time_zone,
            )
        except ApprovalFlowError as exc:
            raise click.UsageError(str(exc)) from exc
    if not written:
        raise click.ClickException(
            w.gettext(
                "no history recorded for document %(document)s",
                document=repr(document_id),
            )
        )


def _moment(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """An ISO date or date-time; without a zone, UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        # In UTC now: a moment at the calendar's very edge in another zone
        # (0001-01-01T00:00+14:00) has no UTC time to compare with.
        moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        msg = (
            f"{value!r} is not an ISO date or date-time between the years 1 and "
            "9999 in UTC, e.g. 2026-11-01 or 2026-11-01T09:30+01:00"
        )
        raise click.BadParameter(msg, param=param) from exc
    return moment


@audit.command("log")
@_db_option
@_option("--account", help="Only this client account's documents.")
@_option(
    "--since",
    callback=_moment,
    help="Events recorded at or after this ISO date or date-time (UTC unless "
    "a zone is given).",
)
@_option("--until", callback=_moment, help="Events recorded before this moment.")
@_format_option
@_bom_option
@_delimiter_option
@_option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    show_default=True,
    help="The file to write ('-': standard output).",
)
@_language_option
@_time_zone_option
def audit_log(  # noqa: PLR0917 - click passes each option by name
    db: str | None,
    account: str | None,
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    bom: bool,
    delimiter: str,
    out: str,
    language: str,
    time_zone: str | None,
) -> None:
    """Export the firm's audit log: every document, or one account's, by dates.

    Events in the order they were recorded, streamed (memory stays flat
    however long the log), with each event's position in the log and its
    client account.
    """
    options: dict[str, Any] = {
        "fmt": fmt,
        "account_id": account,
        "since": since,
        "until": until,
        "bom": bom,
        "delimiter": delimiter,
        "language": language,
        "time_zone": time_zone,
    }
    url = store_url(db)
    with _store(db, read_only=True, refresh_views_on_read=False) as app:
        try:
            if out == "-":
                app.export_audit_log(sys.stdout, **options)
                return
            with open_output(out, protected=store_files(url)) as handle:
                count = app.export_audit_log(handle, **options)
        except ApprovalFlowError as exc:
            raise click.UsageError(str(exc)) from exc
    w = i18n.words(language)
    click.echo(
        w.ngettext(
            "%(count)s event written to %(file)s",
            "%(count)s events written to %(file)s",
            count,
            count=w.number(count),
            file=out,
        ),
        err=True,
    )


@audit.command("verify")
@_db_option
@_option(
    "--bundle",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Check an exported bundle instead of a store (no database needed).",
)
@_option(
    "--head",
    default=None,
    callback=lambda _c, p, v: _head(p, v),
    help="The chain's head kept elsewhere: the line an earlier verify printed "
    "('head: #12 3f2a...'), or its hash alone.",
)
def audit_verify_command(db: str | None, bundle: str | None, head: str | None) -> None:
    """Check every event against the hashes recorded with it.

    Exits 0 when the history verifies, 1 when something was modified,
    deleted, inserted, reordered or given another topic (each is listed).
    """
    from approvalflow.audit_verify import load_bundle, verify_bundle  # noqa: PLC0415

    if bundle is not None:
        try:
            report = verify_bundle(load_bundle(bundle), head)
        except (OSError, ValueError) as exc:
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


def _head(param: click.Parameter, value: str | None) -> str | None:
    """``--head``: what verify prints, checked before the store is opened."""
    from approvalflow.audit_verify import parse_head  # noqa: PLC0415

    if value is None:
        return None
    try:
        parse_head(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from exc
    return value


@audit.command("export")
@_db_option
@_option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="The bundle file to write (JSON).",
)
@_language_option
def audit_export(db: str | None, out: str, language: str) -> None:
    """Write every event and its hashes to a bundle anyone can verify offline.

    Check it with `approvalflow audit verify --bundle FILE`, or with the
    standard-library module approvalflow/audit_verify.py alone.
    """
    url = store_url(db)
    with _store(db, read_only=True, refresh_views_on_read=False) as app:
        try:
            with open_output(out, protected=store_files(url)) as handle:
                count = app.export_audit_bundle(handle)
        except ApprovalFlowError as exc:
            raise click.UsageError(str(exc)) from exc
    w = i18n.words(language)
    click.echo(
        w.ngettext(
            "%(count)s event written to %(file)s",
            "%(count)s events written to %(file)s",
            count,
            count=w.number(count),
            file=out,
        )
    )


@main.group()
def projections() -> None:
    """Inspect and rebuild the read models (lists, pending counts, reasons)."""


_json_option = _option(
    "--json", "as_json", is_flag=True, help="Print one JSON object (for monitoring)."
)
_max_lag_option = _option(
    "--max-lag",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Events a read model may be behind the log before it needs someone.",
)
_max_delay_option = _option(
    "--max-delay",
    type=float,
    default=600.0,
    show_default=True,
    callback=lambda _c, _p, v: _seconds("--max-delay", v, low=1, high=7 * 86_400),
    help="Seconds the oldest undelivered event may wait before deliveries "
    "count as stuck (1 to 604800).",
)


def _health(
    db: str | None,
    *,
    max_delay: float = 600,
    max_lag: int = 100,
    deliveries: bool = True,
    views: bool = True,
    language: str | None = None,
) -> HealthReport:
    with _store(db, read_only=True, refresh_views_on_read=False) as app:
        return app.health(
            max_delay=timedelta(seconds=max_delay),
            max_lag=max_lag,
            deliveries=deliveries,
            views=views,
            language=language,
        )


def _problems(problems: tuple[str, ...] | list[str], w: i18n.Words) -> None:
    """Say what needs someone, and exit 1 if anything does."""
    for problem in problems:
        say(w.gettext("PROBLEM: %(problem)s", problem=problem))
    if problems:
        sys.exit(1)


@projections.command("status")
@_db_option
@_json_option
@_max_lag_option
@_language_option
def projections_status(
    db: str | None, as_json: bool, max_lag: int, language: str
) -> None:
    """Show each read model's position against the head of the event log.

    Exits 1 when a read model is more than --max-lag events behind.
    """
    w = i18n.words(language)
    report = _health(db, max_lag=max_lag, deliveries=False, language=language)
    if as_json:
        record = report.as_record()
        click.echo(json.dumps({k: record[k] for k in ("ok", "problems", "views")}))
        sys.exit(0 if report.ok else 1)
    view, position, head, behind = (
        w.gettext("view"),
        w.gettext("position"),
        w.gettext("head"),
        w.gettext("behind"),
    )
    click.echo(f"{view:<12} {position:>10} {head:>10} {behind:>8}")
    for p in report.views:
        click.echo(
            f"{p.view:<12} {w.number(p.position):>10} {w.number(p.head):>10} "
            f"{w.number(p.behind):>8}"
        )
    _problems(report.problems, w)


@main.command()
@_db_option
@_json_option
@_max_delay_option
@_max_lag_option
@_option(
    "--deliveries/--no-deliveries",
    default=True,
    show_default=True,
    help="Check deliveries (leave out for a store whose host sends nothing).",
)
@_language_option
def health(  # noqa: PLR0917 - click passes each option by name
    db: str | None,
    as_json: bool,
    max_delay: float,
    max_lag: int,
    deliveries: bool,
    language: str,
) -> None:
    """Check whether anything needs someone; exit 0 if not, 1 if so.

    Deliveries are stuck when the oldest event not yet delivered waited more
    than --max-delay seconds (no worker, a mail server down, a failing
    pass); deliveries refused for good wait for an operator; a read model
    lags when more than --max-lag events behind. Reads only: safe to run
    every minute from a monitoring system or a container's health check.
    """
    w = i18n.words(language)
    report = _health(
        db,
        max_delay=max_delay,
        max_lag=max_lag,
        deliveries=deliveries,
        language=language,
    )
    if as_json:
        click.echo(json.dumps(report.as_record()))
        sys.exit(0 if report.ok else 1)
    if report.ok:
        click.echo(w.gettext("healthy"))
        return
    _problems(report.problems, w)


@projections.command("rebuild")
@_db_option
@_language_option
def projections_rebuild(db: str | None, language: str) -> None:
    """Replay every event into fresh read models, then switch to them.

    Readers keep using the old read models until the switch.
    """
    w = i18n.words(language)
    with _store(db, create=False, refresh_views_on_read=False) as app:
        head = app.recorder.max_notification_id() or 0
        started = time.perf_counter()
        with click.progressbar(
            length=head, label=w.gettext("Replaying events"), show_pos=True
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
        w.gettext(
            "Rebuilt the read models from %(count)s events in %(seconds)s s "
            "(%(rate)s events/s).",
            count=w.number(total),
            seconds=babel_numbers.format_decimal(elapsed, "0.00", locale=w.locale),
            rate=babel_numbers.format_decimal(round(rate), locale=w.locale),
        )
    )


@main.command()
@_db_option
@_option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="The file to write the copy to (not the store, nor one of its files).",
)
@_option("--force", is_flag=True, help="Replace --out if it is an existing file.")
@_language_option
def backup(db: str | None, out: Path, force: bool, language: str) -> None:
    """Copy an SQLite store consistently, also while workers write to it.

    SQLite's online backup API: the copy is the store as of one moment,
    written beside --out and renamed when complete. A plain cp of a store in
    use can lose its latest writes. For PostgreSQL, prints how to use
    pg_dump instead.
    """
    from approvalflow._backup import backup_sqlite  # noqa: PLC0415
    from approvalflow.bootstrap import store_env  # noqa: PLC0415
    from approvalflow.domain.errors import InvalidInputError  # noqa: PLC0415

    url = store_url(db)
    if url.split("://", 1)[0] in ("postgresql", "postgres"):
        raise click.ClickException(_pg_dump_guidance(url))
    try:
        env = store_env(url, create=False)
        source = env.get("SQLITE_DBNAME", "")
        if env.get("PERSISTENCE_MODULE") != "eventsourcing.sqlite" or source in (
            "",
            ":memory:",
        ):
            msg = f"{url!r} is not an SQLite file: nothing to back up"
            raise click.UsageError(msg)
        head = backup_sqlite(Path(source), out, force=force)
    except InvalidInputError as exc:
        raise click.UsageError(str(exc)) from exc
    except ApprovalFlowError as exc:
        raise click.ClickException(str(exc)) from exc
    w = i18n.words(language)
    click.echo(
        w.gettext(
            "Store copied to %(file)s, with every event up to #%(head)s.",
            file=str(out),
            head=w.number(head),
        )
    )


def _pg_dump_guidance(url: str) -> str:
    """How to back a PostgreSQL store up and restore it (no password shown)."""
    from urllib.parse import parse_qs, urlsplit  # noqa: PLC0415

    parts = urlsplit(url)
    database = parts.path.lstrip("/") or "DATABASE"
    where = (
        f"--host={parts.hostname or 'HOST'} --port={parts.port or 5432} "
        f"--username={parts.username or 'USER'}"
    )
    schema = parse_qs(parts.query).get("schema", [""])[-1]
    only = f" --schema={schema}" if schema else ""
    return (
        "approvalflow backup copies SQLite stores. Back a PostgreSQL store up "
        "with pg_dump, which also takes a consistent snapshot while "
        "approvalflow writes:\n"
        f"  pg_dump --format=custom --file=approvals.dump {where}{only} {database}\n"
        "Restore it with the workers and web processes stopped, into an empty "
        "database, then check it:\n"
        f"  pg_restore --exit-on-error --no-owner {where} --dbname={database} "
        "approvals.dump\n"
        "  approvalflow audit verify --db 'postgresql://...'\n"
        "(the password comes from PGPASSWORD or ~/.pgpass; see the how-to "
        "'Back up and restore a store')"
    )


def _seconds(name: str, value: float, *, low: float, high: float) -> float:
    """A duration option: a finite number of seconds within its bounds."""
    # click's FloatRange lets "nan" through (it is neither below nor above).
    if not math.isfinite(value) or not low <= value <= high:
        msg = f"{name} must be a number of seconds from {low} to {high}, got {value}"
        raise click.BadParameter(msg)
    return value


#: The entry point group of each port a worker loads by name.
ENTRY_POINT_GROUPS = {
    "directory": "approvalflow.directory",
    "links": "approvalflow.links",
    "portal": "approvalflow.portal",
}


def load_object(spec: str, port: str | None = None) -> Any:
    """The object ``spec`` names; a class or function is called with no arguments.

    ``package.module:attribute`` imports it; a plain name (no colon) is an
    entry point of ``port``'s group (see :data:`ENTRY_POINT_GROUPS`), which
    an installed host package declares in its ``pyproject.toml``.
    """
    if ":" not in spec and port is not None:
        found = _entry_point(spec, ENTRY_POINT_GROUPS[port])
    else:
        module_name, _, attribute = spec.partition(":")
        if not module_name or not attribute:
            msg = f"{spec!r} is not of the form package.module:attribute"
            raise click.BadParameter(msg)
        try:
            found = pkgutil.resolve_name(spec)
        except ValueError as exc:
            # Not Python names (a dash, a space, a leading digit...).
            msg = (
                f"{spec!r} is not of the form package.module:attribute "
                "(Python names separated by dots)"
            )
            raise click.BadParameter(msg) from exc
        except (ImportError, AttributeError) as exc:
            msg = (
                f"cannot load {spec!r}: {exc} (the working directory, or "
                "--app-dir, is searched first)"
            )
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


def _entry_point(name: str, group: str) -> Any:
    points = entry_points(group=group)
    matching = [p for p in points if p.name == name]
    if not matching:
        known = ", ".join(sorted(p.name for p in points)) or "none installed"
        msg = (
            f"{name!r} is neither package.module:attribute nor an entry point in "
            f"the group {group!r} (entry points there: {known})"
        )
        raise click.BadParameter(msg)
    try:
        return matching[0].load()
    except Exception as exc:
        msg = f"cannot load entry point {name!r} of {group!r}: {exc}"
        raise click.BadParameter(msg) from exc


#: Weekday names for --reminder-weekend, Monday first (Python's numbering).
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The option that sets each ReminderSchedule field, for error messages.
_SCHEDULE_OPTIONS = {
    "time_zone": "--reminder-time-zone",
    "window_start": "--reminder-hours",
    "window_end": "--reminder-hours",
    "holidays": "--reminder-holidays",
    "holiday_region": "--reminder-holiday-region",
    "weekend": "--reminder-weekend",
    "count_working_days": "--reminder-working-days",
}


def _reminder_schedule_options(command: _F) -> _F:
    """The firm's reminder schedule, as options (each also a variable).

    .. versionadded:: Unreleased
    """
    options = [
        _option(
            "--reminder-time-zone",
            help="The firm's reminder schedule: its IANA time zone (e.g. "
            "Europe/Paris). Any --reminder-* option sets a schedule (default "
            "UTC, 09:00-18:00, working days); without one, reminders go out "
            "exactly the policy's days after the last contact, at any hour.",
        ),
        _option(
            "--reminder-hours",
            help="Opening hours for reminders, HH:MM-HH:MM local (default "
            "09:00-18:00), or 'any' for the whole day.",
        ),
        _option(
            "--reminder-holidays",
            help="A country code of the python holidays package (FR, GB, ...): "
            "its public holidays are closed, and its weekend is the weekend.",
        ),
        _option(
            "--reminder-holiday-region",
            help="A region of --reminder-holidays (e.g. GB's SCT).",
        ),
        _option(
            "--reminder-weekend",
            help="The closed weekdays, comma-separated (e.g. fri,sat); default: "
            "the --reminder-holidays country's weekend, else sat,sun; 'none' "
            "for every day open.",
        ),
        _option(
            "--reminder-working-days",
            is_flag=True,
            default=None,
            help="Count the policy's days as working days, not calendar days.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _reminder_schedule(options: dict[str, Any]) -> Any:
    """The ReminderSchedule the --reminder-* options describe (``None``: none)."""
    from approvalflow.domain.errors import InvalidInputError  # noqa: PLC0415
    from approvalflow.domain.values import ReminderSchedule  # noqa: PLC0415

    names = [
        "reminder_time_zone",
        "reminder_hours",
        "reminder_holidays",
        "reminder_holiday_region",
        "reminder_weekend",
    ]
    # The flag's variable set to 0 asks for no schedule either.
    if all(options[n] is None for n in names) and not options["reminder_working_days"]:
        return None
    settings: dict[str, Any] = {
        "holidays": options["reminder_holidays"],
        "holiday_region": options["reminder_holiday_region"],
        "count_working_days": bool(options["reminder_working_days"]),
    }
    if options["reminder_time_zone"] is not None:
        settings["time_zone"] = options["reminder_time_zone"]
    if options["reminder_hours"] is not None:
        settings["window_start"], settings["window_end"] = _hours(
            options["reminder_hours"]
        )
    weekend = options["reminder_weekend"]
    if weekend is not None:
        days = _weekend_days(weekend)
        if days == ():
            settings["business_days"] = False
        else:
            settings["weekend"] = days
    try:
        return ReminderSchedule(**settings)
    except InvalidInputError as exc:
        option = _SCHEDULE_OPTIONS.get(exc.field, exc.field)
        env = ENV_PREFIX + option[2:].upper().replace("-", "_")
        msg = f"{option} ({env}): {exc.problem}; allowed: {exc.allowed}"
        raise click.UsageError(msg) from exc


def _hours(value: str) -> tuple[Any, Any]:
    """``HH:MM-HH:MM`` as two times; ``any``: no hours (the whole day)."""
    from datetime import time as wall_time  # noqa: PLC0415 - `time` is the module

    if value.strip().lower() == "any":
        return None, None
    found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    try:
        if found is None:
            raise ValueError(value)
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        return wall_time(h1, m1), wall_time(h2, m2)
    except ValueError as exc:
        msg = (
            f"--reminder-hours (APPROVALFLOW_REMINDER_HOURS): got {value!r}; "
            "allowed: HH:MM-HH:MM on one day, e.g. 09:00-18:00, or 'any'"
        )
        raise click.UsageError(msg) from exc


def _weekend_days(value: str) -> tuple[int, ...]:
    """``fri,sat`` as weekday numbers; ``none``: no weekend."""
    words = [w.strip().lower()[:3] for w in value.split(",") if w.strip()]
    if words == ["non"]:
        return ()
    unknown = [w for w in words if w not in _WEEKDAYS]
    if unknown or not words:
        msg = (
            f"--reminder-weekend (APPROVALFLOW_REMINDER_WEEKEND): got {value!r}; "
            f"allowed: weekdays among {','.join(_WEEKDAYS)}, comma-separated, "
            "or 'none'"
        )
        raise click.UsageError(msg)
    return tuple(sorted({_WEEKDAYS.index(w) for w in words}))


@main.group()
def reminders() -> None:
    """Automatic reminders."""


@reminders.command("run")
@_db_option
@_language_option
@_reminder_schedule_options
def reminders_run(db: str | None, language: str, **schedule: Any) -> None:
    """Record every reminder due now, once (for cron).

    With a --reminder-* schedule, only those the schedule lets out now.
    """
    w = i18n.words(language)
    firm = _reminder_schedule(schedule)
    with _store(db, create=False, reminder_schedule=firm) as app:
        sent = app.send_due_reminders()
    if sent:
        click.echo(
            w.ngettext(
                "%(count)s reminder recorded: %(documents)s",
                "%(count)s reminders recorded: %(documents)s",
                len(sent),
                count=w.number(len(sent)),
                documents=", ".join(sent),
            )
        )
    else:
        click.echo(w.gettext("No reminder was due: none recorded."))


@main.group()
def deliveries() -> None:
    """Emails, portal tasks and Inbox+ notes sent from the event log."""


@deliveries.command("status")
@_db_option
@_json_option
@_max_delay_option
@_language_option
@_time_zone_option
def deliveries_status(
    db: str | None,
    as_json: bool,
    max_delay: float,
    language: str,
    time_zone: str | None,
) -> None:
    """Show the delivery backlog: position, waiting and refused messages.

    Exits 1 when deliveries are stuck (the oldest undelivered event waited
    more than --max-delay seconds) or refused ones wait for an operator.
    """
    w = i18n.words(language, time_zone)
    # Only the delivery checks: a lagging read model is projections status's.
    report = _health(db, max_delay=max_delay, views=False, language=language)
    backlog = report.deliveries
    assert backlog is not None
    if as_json:
        record = backlog_record(backlog, report.oldest_undelivered_at)
        click.echo(json.dumps({"ok": report.ok, "problems": report.problems, **record}))
        sys.exit(0 if report.ok else 1)
    say(
        w.ngettext(
            "position %(position)s of %(head)s event",
            "position %(position)s of %(head)s events",
            backlog.head,
            position=w.number(backlog.position),
            head=w.number(backlog.head),
        )
    )
    if report.oldest_undelivered_at is not None:
        say(
            w.gettext(
                "oldest undelivered event recorded %(when)s",
                when=w.time(report.oldest_undelivered_at),
            )
        )
    holder = backlog.lease_holder or w.gettext("nobody")
    if backlog.lease_until:
        say(
            w.gettext(
                "lease held by %(holder)s until %(when)s",
                holder=holder,
                when=w.time(backlog.lease_until),
            )
        )
    else:
        say(w.gettext("lease held by %(holder)s", holder=holder))
    say(w.gettext("waiting: %(count)s", count=w.number(len(backlog.waiting))))
    for d in backlog.waiting:
        line = w.ngettext(
            "%(delivery)s to %(address)s: %(attempts)s attempt",
            "%(delivery)s to %(address)s: %(attempts)s attempts",
            d.attempts,
            delivery=_delivery_name(w, d),
            address=d.address,
            attempts=w.number(d.attempts),
        )
        if d.next_attempt_at:
            line += w.gettext(", next try %(when)s", when=w.time(d.next_attempt_at))
        if d.last_error:
            line += f" - {d.last_error}"
        say(f"  {line}")
    say(w.gettext("refused for good: %(count)s", count=w.number(len(backlog.refused))))
    for d in backlog.refused:
        line = w.gettext(
            "%(delivery)s to %(address)s: %(error)s",
            delivery=_delivery_name(w, d),
            address=d.address,
            error=d.last_error,
        )
        say(f"  {line}")
    _problems(report.problems, w)


def _delivery_name(w: i18n.Words, delivery: Any) -> str:
    """``email request (event 12)``: what it is, and the event to retry by."""
    return w.gettext(
        "%(channel)s %(kind)s (event %(event)s)",
        channel=delivery.channel,
        kind=delivery.kind,
        event=delivery.notification_id,
    )


@deliveries.command("retry")
@_db_option
@_option(
    "--event",
    "notification_id",
    type=click.IntRange(min=1),
    default=None,
    help="Only this event's deliveries (the event N in deliveries status).",
)
@_language_option
def deliveries_retry(
    db: str | None, notification_id: int | None, language: str
) -> None:
    """Try deliveries refused for good again, once their cause is fixed.

    The worker sends each to the recipient's current address on its next
    pass, without holding other mail.
    """
    with _store(db, create=False, refresh_views_on_read=False) as app:
        count = app.retry_deliveries(notification_id)
    w = i18n.words(language)
    click.echo(
        w.ngettext(
            "%(count)s refused delivery will be tried again by the worker.",
            "%(count)s refused deliveries will be tried again by the worker.",
            count,
            count=w.number(count),
        )
    )


def _confirm_skip(
    preview: DeliveriesToSkip, *, dry_run: bool, yes: bool, language: str
) -> bool:
    """Say what skip-to-head would skip; ``True`` once it may go ahead."""
    w = i18n.words(language)
    if not preview.events:
        click.echo(w.gettext("Nothing to skip: every recorded event is delivered."))
        return False
    click.echo(
        w.gettext(
            "Not yet delivered: events #%(first)s to #%(last)s "
            "(%(count)s in all); by the messages they lead to:",
            first=w.number(preview.position + 1),
            last=w.number(preview.head),
            count=w.number(preview.events),
        )
    )
    channel, kind, events = (
        w.gettext("channel"),
        w.gettext("kind"),
        w.gettext("events"),
    )
    click.echo(f"  {channel:<8} {kind:<28} {events:>8}")
    for c, k, n in preview.messages:
        click.echo(f"  {c:<8} {k:<28} {w.number(n):>8}")
    if dry_run:
        click.echo(w.gettext("Dry run: nothing was changed."))
        return False
    if yes:
        return True
    if not sys.stdin.isatty():
        # Under cron or a pipe no one can answer: refuse rather than wait
        # forever, or drop messages nobody agreed to drop.
        raise click.UsageError(
            w.gettext(
                "skip-to-head asks for confirmation and there is no terminal "
                "to ask on: look with --dry-run, then run it with --yes"
            )
        )
    if click.confirm(
        w.gettext("Mark these events as delivered? Their messages will never be sent."),
        default=False,
    ):
        return True
    click.echo(w.gettext("Nothing was changed."))
    sys.exit(1)


@deliveries.command("skip-to-head")
@_db_option
@_option(
    "--dry-run",
    is_flag=True,
    help="Say what would be marked as delivered, by channel and kind of "
    "message, and change nothing.",
)
@_option(
    "--yes",
    is_flag=True,
    help="Do not ask for confirmation (for scripts); without it the command "
    "asks, and refuses when there is no terminal to ask on.",
)
@_language_option
def deliveries_skip(db: str | None, dry_run: bool, yes: bool, language: str) -> None:
    """Treat every event recorded so far as delivered (switching deliveries on).

    Use it once on a store that existed before deliveries were switched on,
    so the first worker does not send its whole history. It says what it
    would skip and asks first; events recorded meanwhile are still delivered.
    """
    with _store(db, create=False, refresh_views_on_read=False) as app:
        preview = app.deliveries_to_skip()
        if not _confirm_skip(preview, dry_run=dry_run, yes=yes, language=language):
            return
        skipped = app.skip_deliveries(preview.head)
    w = i18n.words(language)
    click.echo(
        w.ngettext(
            "%(count)s event marked as delivered; new events will be delivered.",
            "%(count)s events marked as delivered; new events will be delivered.",
            skipped,
            count=w.number(skipped),
        )
    )


@main.command()
@_db_option
@_option(
    "--create",
    is_flag=True,
    help="Start a new, empty store if --db names none (without it, a missing "
    "store is refused: a mistyped path must not deliver nothing, quietly).",
)
@_option(
    "--app-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=".",
    show_default=True,
    help="Where the host's modules are: put first on the import path (as "
    "uvicorn's --app-dir).",
)
@_option(
    "--directory",
    "directory_spec",
    required=True,
    help="The host's Directory: package.module:attribute (an object, or a class "
    "or function making one), or the name of an entry point in the group "
    "'approvalflow.directory'.",
)
@_option(
    "--links",
    "links_spec",
    help="The host's Links (as --directory; group 'approvalflow.links'); "
    "default: links under --portal-url.",
)
@_option(
    "--portal",
    "portal_spec",
    help="The host's PortalNotifications (as --directory; group "
    "'approvalflow.portal'); without one, portal tasks and Inbox+ notes are "
    "not sent.",
)
@_option(
    "--portal-url",
    help="The portal's base URL, for the emails' Review documents link "
    "(required unless --links is given).",
)
@_option("--smtp-host", help="SMTP server; or use --mail-dir.")
@_option("--smtp-port", type=click.IntRange(1, 65535), default=587, show_default=True)
@_option(
    "--smtp-security",
    type=click.Choice(["starttls", "tls", "none"]),
    default="starttls",
    show_default=True,
)
@_option("--smtp-user")
@_option("--smtp-password", help="Best given in the variable.")
@_option(
    "--smtp-timeout",
    type=float,
    default=30.0,
    show_default=True,
    callback=lambda _c, _p, v: _seconds("--smtp-timeout", v, low=0.1, high=600),
    help="Seconds to wait for the SMTP server (0.1 to 600).",
)
@_option(
    "--mail-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write .eml files here instead of using SMTP.",
)
@_option(
    "--firm-url",
    help="The firm's document pages' base URL, for the decision email's View "
    "document button (with --portal-url; none without).",
)
@_option(
    "--preferences-url",
    help="The clients' email preferences page (with --portal-url): linked in "
    "the footer and as List-Unsubscribe.",
)
@_option("--sender", required=True, help="The From address.")
@_option("--firm-name", required=True, help="How emails sign.")
@_option("--reply-to", help="Where replies go (default: the From address).")
@_option("--logo-url", help="The firm's logo (https URL) at the top of emails.")
@_language_option
@_option(
    "--interval",
    type=float,
    default=5.0,
    show_default=True,
    callback=lambda _c, _p, v: _seconds("--interval", v, low=0.01, high=3600),
    help="Seconds between passes when idle (0.01 to 3600).",
)
@_option(
    "--lease",
    type=float,
    default=30.0,
    show_default=True,
    callback=lambda _c, _p, v: _seconds("--lease", v, low=3, high=3600),
    help="Seconds a worker killed outright keeps others from delivering "
    "(3 to 3600); renewed every third of it while the worker runs.",
)
@_option(
    "--once",
    is_flag=True,
    help="Deliver what waits and send due reminders, then exit (for cron).",
)
@_option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
)
@_option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per line with each message's context as fields.",
)
@_reminder_schedule_options
def worker(**options: Any) -> None:
    """Send due reminders and deliver notifications until stopped.

    SIGTERM or Ctrl-C stops it after the message in hand and gives the
    delivery lease up; nothing is lost: the next start carries on from the
    recorded position.
    """
    from approvalflow.worker import Worker  # noqa: PLC0415 - only this command needs it

    _configure_logging(options["log_level"], options["log_format"])
    # The host's modules, as uvicorn's --app-dir: the console script does
    # not put the working directory on the import path by itself.
    sys.path.insert(0, str(options["app_dir"].resolve()))
    try:
        ports = _worker_ports(options)
        schedule = _reminder_schedule(options)
        with connect(
            store_url(options["db"]),
            create=options["create"],
            reminder_schedule=schedule,
            **ports,
        ) as app:
            notifier = app.notifier(lease=timedelta(seconds=options["lease"]))
            runner = Worker(app, notifier, interval=options["interval"])
            if options["once"]:
                _once(runner, i18n.words(options["language"]))
                return
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: runner.stop())
            runner.run()
    except StoreNotFoundError as exc:
        # Under cron a worker on a mistyped path would otherwise report
        # "0 delivered" and exit 0 every few minutes, with nothing sent.
        msg = (
            f"{exc}. The worker opens an existing store only: check --db "
            "(APPROVALFLOW_DB), or give --create to start a new one there"
        )
        raise click.ClickException(msg) from exc
    except ApprovalFlowError as exc:
        raise click.ClickException(str(exc)) from exc


def _once(runner: Any, w: i18n.Words) -> None:
    """Passes until nothing waits (for cron), then the lease is given up.

    A pass records who was told about each event it delivered; the next
    pass consumes those records, so the store ends with nothing waiting.
    """
    from approvalflow.worker import pass_summary  # noqa: PLC0415 - as Worker above

    reminded = events = sent = refused = 0
    try:
        for _ in range(10_000):
            done = runner.run_once()
            d = done.deliveries
            reminded += len(done.reminders)
            events, sent, refused = (
                events + d.events,
                sent + d.sent,
                refused + d.refused,
            )
            if not d.events or d.blocked or d.leased_elsewhere:
                break
    finally:
        runner.stop()  # gives the lease up, also after a failure
    summary = pass_summary(
        w,
        reminded=reminded,
        events=events,
        sent=sent,
        refused=refused,
        blocked=d.blocked,
        leased_elsewhere=d.leased_elsewhere,
    )
    click.echo(summary)


def _configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def _worker_ports(options: dict[str, Any]) -> dict[str, Any]:
    from approvalflow.bootstrap import SMTPSettings, delivery_ports  # noqa: PLC0415

    if (options["smtp_host"] is None) == (options["mail_dir"] is None):
        raise click.UsageError(
            "give exactly one of --smtp-host (APPROVALFLOW_SMTP_HOST) and "
            "--mail-dir (APPROVALFLOW_MAIL_DIR)"
        )
    if not options["links_spec"] and not options["portal_url"]:
        raise click.UsageError(
            "emails link to the portal: give --portal-url (APPROVALFLOW_PORTAL_URL), "
            "e.g. https://portal.yourfirm.com, or --links (APPROVALFLOW_LINKS) "
            "naming the host's Links"
        )
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
    links = (
        load_object(options["links_spec"], "links") if options["links_spec"] else None
    )
    return {
        **delivery_ports(
            smtp=smtp,
            mail_dir=options["mail_dir"],
            sender=options["sender"],
            firm_name=options["firm_name"],
            language=options["language"],
            portal_url=None if links is not None else options["portal_url"],
            links=links,
            reply_to=options["reply_to"],
            logo_url=options["logo_url"],
            firm_url=options["firm_url"],
            preferences_url=options["preferences_url"],
        ),
        "directory": load_object(options["directory_spec"], "directory"),
        "portal": load_object(options["portal_spec"], "portal")
        if options["portal_spec"]
        else None,
    }


if __name__ == "__main__":
    main()
