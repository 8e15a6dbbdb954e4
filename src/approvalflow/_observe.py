"""Logs and metrics: what approvalflow tells a host's monitoring.

Logs go to named standard-library loggers, each line with its context in
``extra`` (``document_id``, ``recipient``, ``event``, ``message_id``,
``attempt``, ...), so a JSON formatter (the worker's ``--log-format json``,
or the host's own, e.g. structlog's ``ProcessorFormatter``) renders it as
fields:

- ``approvalflow.commands``: each command recorded or refused;
- ``approvalflow.reminders``: each reminder recorded;
- ``approvalflow.delivery``: each email, portal task, Inbox+ note or
  published event sent, deferred or refused;
- ``approvalflow.worker``: start, stop, failed passes.

Metrics go through the OpenTelemetry API, a no-op until the host installs an
SDK (``opentelemetry.metrics.set_meter_provider``); see
``docs/how-to/monitoring.md`` for the instruments.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from opentelemetry import metrics

from approvalflow.domain.errors import ApprovalFlowError

__all__ = [
    "COMMANDS",
    "DELIVERY",
    "REMINDERS",
    "WORKER",
    "JsonFormatter",
    "TextFormatter",
    "delivery_done",
    "escape_controls",
    "observed_command",
    "record_lag",
    "reminder_recorded",
]

COMMANDS = logging.getLogger("approvalflow.commands")
REMINDERS = logging.getLogger("approvalflow.reminders")
DELIVERY = logging.getLogger("approvalflow.delivery")
WORKER = logging.getLogger("approvalflow.worker")

# The API's meter is a proxy: instruments made now record into whatever SDK
# the host installs later, and into nothing until then.
_meter = metrics.get_meter("approvalflow")
_commands = _meter.create_counter(
    "approvalflow.commands",
    unit="{command}",
    description="Commands run, by command and outcome (recorded, refused, failed).",
)
_command_time = _meter.create_histogram(
    "approvalflow.command.duration",
    unit="s",
    description="Time to run a command, by command and outcome.",
)
_deliveries = _meter.create_counter(
    "approvalflow.deliveries",
    unit="{message}",
    description="Emails, portal changes, Inbox+ notes and published events, "
    "by channel, kind and outcome (sent, deferred, refused).",
)
_reminders = _meter.create_counter(
    "approvalflow.reminders",
    unit="{reminder}",
    description="Automatic reminders recorded.",
)
_lag = _meter.create_histogram(
    "approvalflow.delivery.lag",
    unit="{event}",
    description="Events recorded but not yet delivered, at each worker pass.",
)

_F = TypeVar("_F", bound=Callable[..., Any])


def observed_command(name: str) -> Callable[[_F], _F]:
    """Log, count and time a command (``name``) of the write side."""

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            # Commands take the document first (after self), and the actor as by=.
            document = args[1] if len(args) > 1 and isinstance(args[1], str) else None
            context = {
                "command": name,
                "document_id": document,
                "actor": kwargs.get("by"),
            }
            started = time.perf_counter()
            outcome = "recorded"
            try:
                return function(*args, **kwargs)
            except ApprovalFlowError as exc:
                outcome = "refused"
                COMMANDS.info(
                    "%s of %s refused: %s",
                    name,
                    document or "documents",
                    exc,
                    extra={**context, "outcome": outcome, "error": type(exc).__name__},
                )
                raise
            except Exception as exc:
                outcome = "failed"
                COMMANDS.warning(
                    "%s of %s failed: %s: %s",
                    name,
                    document or "documents",
                    type(exc).__name__,
                    exc,
                    extra={**context, "outcome": outcome, "error": type(exc).__name__},
                )
                raise
            finally:
                elapsed = time.perf_counter() - started
                attributes = {"command": name, "outcome": outcome}
                _commands.add(1, attributes)
                _command_time.record(elapsed, attributes)
                if outcome == "recorded":
                    # Said once the events are durable: a store inside a
                    # host's transaction (Django) defers it to its commit,
                    # and a rollback means nothing was recorded.
                    _after_commit(args[0] if args else None)(
                        functools.partial(
                            COMMANDS.info,
                            "%s of %s recorded",
                            name,
                            document or "documents",
                            extra={**context, "outcome": outcome, "seconds": elapsed},
                        )
                    )

        return cast("_F", run)

    return decorate


def _after_commit(commands: object) -> Callable[[Callable[[], object]], object]:
    """How to run something once the command's transaction has committed.

    The recorder's ``after_commit(callback)`` when it has one (a recorder
    writing inside a host's transactions); otherwise at once: approvalflow's
    own stores have committed when the command returns.
    """
    recorder = getattr(getattr(commands, "log", None), "recorder", None)
    hook = getattr(recorder, "after_commit", None)
    if callable(hook):
        return cast("Callable[[Callable[[], object]], object]", hook)
    return lambda callback: callback()


def reminder_recorded(document_id: str) -> None:
    """Log and count one automatic reminder."""
    _reminders.add(1)
    REMINDERS.info(
        "reminder recorded for %s", document_id, extra={"document_id": document_id}
    )


def delivery_done(
    outcome: str,
    *,
    channel: str,
    kind: str,
    event: int,
    document_id: str | None,
    recipient: str,
    address: str,
    attempt: int,
    message_id: str | None = None,
    error: str | None = None,
) -> None:
    """Log and count one delivery ``sent``, ``deferred`` or ``refused``."""
    _deliveries.add(1, {"channel": channel, "kind": kind, "outcome": outcome})
    what = f"{channel} {kind}"
    where = f"#{event} ({document_id}) to {address}, attempt {attempt}"
    detail = f" <{message_id.strip('<>')}>" if message_id else ""
    reason = f": {error}" if error else ""
    level = {"sent": logging.INFO, "deferred": logging.WARNING}.get(
        outcome, logging.ERROR
    )
    DELIVERY.log(
        level,
        "%s %s %s%s%s",
        what,
        outcome,
        where,
        detail,
        reason,
        extra={
            "outcome": outcome,
            "channel": channel,
            "kind": kind,
            "event": event,
            "document_id": document_id,
            "recipient": recipient,
            "address": address,
            "attempt": attempt,
            "message_id": message_id,
            "error": error,
        },
    )


def record_lag(events: int) -> None:
    """Record how many events wait for delivery (at a worker pass)."""
    _lag.record(events)


# The attributes every LogRecord has; anything else came in through extra=.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the context.

    For log collectors that read fields (the worker's ``--log-format json``).
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    r"""``text`` with every control character written as an escape.

    A line break in a name or address must not start a forged log line, and
    an ESC sequence must not reach the reader's terminal: each becomes
    ``\n``, ``\r``, ``\t`` or ``\xNN`` / ``\uNNNN``.
    """
    out = []
    for char in text:
        if char == "\n" and keep_newlines:
            out.append(char)
        elif unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}:
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``, one line per record, controls escaped.

    The worker's ``--log-format text``. Messages carry directory data
    (names, addresses): whatever they hold, a record stays one line.
    Tracebacks keep their own line breaks and nothing else.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        escaped = logging.makeLogRecord(record.__dict__)
        escaped.message = escape_controls(record.message)
        return super().formatMessage(escaped)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return escape_controls(super().formatException(ei), keep_newlines=True)
